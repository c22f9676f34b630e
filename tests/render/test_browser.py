"""A real headless Chromium reads the built sites over HTTP from 127.0.0.1, as a customer would.

The matrix: every page type (home, home during an incident, incident, maintenance, RCA, history, component,
Verify, search, 404) in ko, ja and en, at 1280 px (light and dark) and 390 px: no console error, no failed
request, no axe-core violation, no horizontal scroll on the phone. Each fixture site is built once per
module and one browser serves every test. Screenshots of the home pages during the incident are written to
test-artifacts/screenshots/ (git-ignored) for a reviewer to look at.
"""
from __future__ import annotations

import http.server
import re
from datetime import datetime
from pathlib import Path

import pytest

from conftest import PROJECT, copy_sample, init_git
from generator.render.pages import STRINGS

PREFIXES = {"ko": "", "ja": "ja/", "en": "en/"}
EXAMPLE = "2025-10-02-kr-ingest-latency"
DURING_EXAMPLE = datetime.fromisoformat("2025-10-02T10:30:00+09:00")  # one active S2, kr-ingest degraded
DURING_MAINTENANCE = datetime.fromisoformat("2025-10-25T03:00:00+09:00")  # jp-search under maintenance
SCREENSHOTS = PROJECT / "test-artifacts" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 390, "height": 844}}
CONFIGS = {"desktop-light": ("desktop", "light"), "desktop-dark": ("desktop", "dark"), "mobile": ("mobile", "light")}
PAGE_TYPES = {
    "home": ("sample", ""),
    "home-during-incident": ("active", ""),
    "incident": ("sample", f"incidents/{EXAMPLE}/"),
    "maintenance": ("sample", "maintenance/2025-10-25-jp-search-upgrade/"),
    "rca": ("sample", f"rca/{EXAMPLE}/"),
    "history": ("sample", "history/"),
    "component": ("sample", "components/kr-ingest/"),
    "verify": ("sample", "verify/"),
    "search": ("sample", "search/"),
    "404": ("sample", "no-such-page/"),
}


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static hosting as a web server is set up for the site: a missing path gets its language's 404 page."""

    def log_message(self, format, *args):  # noqa: A002 - the standard library's name
        pass

    def send_error(self, code, message=None, explain=None):
        if code != 404:
            return super().send_error(code, message, explain)
        first = self.path.lstrip("/").split("/", 1)[0]
        page = Path(self.directory) / (f"{first}/404.html" if first in ("ja", "en") else "404.html")
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture(scope="module")
def serve_site(serve):
    """`serve` with the handler that answers missing paths with the language's 404 page, as a host would."""
    return lambda directory: serve(directory, _SiteHandler)


def _build(tmp_path_factory, name: str, now: datetime, component_status: str | None = None) -> Path:
    """The sample content built as of `now`; `component_status` replaces the worked example's component state."""
    from generator.build import build_site

    repo = copy_sample(tmp_path_factory.mktemp(name) / "status")
    if component_status:
        path = repo / "incidents/2025" / f"{EXAMPLE}.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace(
            "status: degraded_performance", f"status: {component_status}"), encoding="utf-8")
    init_git(repo)
    return build_site(repo, repo / "public", now).out


@pytest.fixture(scope="module")
def sites(tmp_path_factory, built_sample, serve_site) -> dict[str, str]:
    """Base URLs of the fixture sites, each built once: the sample as of SAMPLE_NOW (all operational) and
    the sample during the worked example (degraded), made partial / major, and during the maintenance."""
    return {
        "sample": serve_site(built_sample),
        "active": serve_site(_build(tmp_path_factory, "active", DURING_EXAMPLE)),
        "partial": serve_site(_build(tmp_path_factory, "partial", DURING_EXAMPLE, "partial_outage")),
        "major": serve_site(_build(tmp_path_factory, "major", DURING_EXAMPLE, "major_outage")),
        "maintenance": serve_site(_build(tmp_path_factory, "maintenance", DURING_MAINTENANCE)),
    }


@pytest.fixture(scope="module")
def contexts(browser):
    """One browser context per configuration, shared by the whole matrix."""
    made = {}
    for name, (viewport, scheme) in CONFIGS.items():
        made[name] = browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme)
    made["no-js"] = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["desktop"])
    yield made
    for context in made.values():
        context.close()


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


class Visit:
    """A page opened in Chromium with everything that went wrong on the way recorded."""

    def __init__(self, context, url: str, expect_status: int = 200):
        self.page = context.new_page()
        self.url = url
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}")
                     if r.status >= 400 and not (r.url == url and r.status == expect_status) else None)
        # our pages load nothing after `load` (no theme JavaScript): waiting for network idle would only
        # add half a second to each of the hundred visits
        response = self.page.goto(url, wait_until="load")
        assert response.status == expect_status, url
        if expect_status == 404:
            # Chromium reports the document's own 404 status on the console; that one is expected
            self.errors = [e for e in self.errors if "status of 404" not in e]

    def close(self):
        self.page.close()


# Every page type in every language at both sizes; the dark palette on the page types that carry colour.
DARK_PAGE_TYPES = ("home-during-incident", "incident", "history", "component", "search")
MATRIX = [(page_type, lang, config) for page_type in PAGE_TYPES for lang in PREFIXES
          for config in CONFIGS if config != "desktop-dark" or page_type in DARK_PAGE_TYPES]


@pytest.mark.parametrize("page_type,lang,config", MATRIX)
def test_every_page_type_is_clean_in_chromium(sites, contexts, axe, page_type, lang, config):
    site, path = PAGE_TYPES[page_type]
    url = sites[site] + PREFIXES[lang] + path
    visit = Visit(contexts[config], url, expect_status=404 if page_type == "404" else 200)
    try:
        page = visit.page
        assert page.locator("html").get_attribute("lang") == lang
        assert visit.errors == [], visit.errors
        assert visit.failed == [], visit.failed
        # the search index is downloaded by a search, never with a page
        assert not [r for r in visit.requests if "search_index" in r], visit.requests
        violations = axe.run(page).response["violations"]
        assert [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations] == []
        if config == "mobile":
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # one column: the content is centred, no empty side column
        box = page.locator("main").bounding_box()
        width = VIEWPORTS[CONFIGS[config][0]]["width"]
        assert abs(box["x"] - (width - box["x"] - box["width"])) <= 2
        # the frame is the site's own: its name once, a Subscribe block, no theme credit
        assert page.locator(".sg-subscribe h2").inner_text() == STRINGS["subscribe_title"][lang]
        assert "Material for MkDocs" not in page.content()
        assert page.locator(".sg-brand").inner_text().strip() == page.title().split(" · ")[-1]
    finally:
        visit.close()


BANNERS = {
    "sample": "operational",
    "active": "degraded_performance",
    "partial": "partial_outage",
    "major": "major_outage",
    "maintenance": "under_maintenance",
}
RANK = ["operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"]


@pytest.mark.parametrize("lang", list(PREFIXES))
@pytest.mark.parametrize("site", list(BANNERS))
def test_the_banner_says_what_the_component_board_shows(sites, contexts, site, lang):
    visit = Visit(contexts["desktop-light"], sites[site] + PREFIXES[lang])
    try:
        page = visit.page
        chips = page.locator(".sg-component-head .sg-chip")
        states = [re.search(r"sg-status-(\w+)", chips.nth(i).get_attribute("class")).group(1)
                  for i in range(chips.count())]
        assert len(states) == 10
        worst = max(states, key=RANK.index)
        assert worst == BANNERS[site]
        banner = page.locator(".sg-banner")
        assert banner.get_attribute("data-status") == worst
        assert banner.locator(".sg-banner-text").inner_text() == STRINGS[f"banner_{worst}"][lang]
        assert visit.errors == [] and visit.failed == []
    finally:
        visit.close()


@pytest.mark.parametrize("config", ["desktop-light", "mobile"])
@pytest.mark.parametrize("lang", list(PREFIXES))
def test_the_home_page_during_an_incident_reads_like_a_status_page(sites, contexts, lang, config):
    """Banner first, then the incident card: its latest update's time on its own line, the next update once,
    evidence as named links; chips at the end of their bar, names and chips never broken mid-word."""
    visit = Visit(contexts[config], sites["active"] + PREFIXES[lang])
    try:
        page = visit.page
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"home-during-incident-{lang}-{config}.png"), full_page=True)
        banner, card = page.locator(".sg-banner"), page.locator(".sg-card")
        assert card.count() == 1
        assert banner.bounding_box()["y"] < card.bounding_box()["y"]
        if config == "mobile":  # on a phone, the banner and the incident's title are above the fold
            assert card.locator("h3").bounding_box()["y"] + 30 < 844
        text = card.inner_text()
        next_time = card.locator(".sg-next-update time").inner_text()
        assert "10:57" in next_time and "UTC" in next_time
        assert text.count("10:57") == 1  # the next update once, in its own field
        assert "http" not in text  # no bare URL in the card
        links = card.locator(".sg-evidence a")
        assert links.count() == 2 and links.first.get_attribute("href").startswith("https://grafana.example.com/")
        latest = card.locator(".sg-update-time")
        assert latest.locator("time").get_attribute("datetime") == "2025-10-02T10:27:00+09:00"
        assert "):" not in latest.inner_text()
        # the board: every chip ends where its bar ends; names, chips and links stay on one line
        heads = page.locator(".sg-component")
        for index in range(heads.count()):
            row = heads.nth(index)
            chip, bar = row.locator(".sg-chip").bounding_box(), row.locator(".sg-bar").bounding_box()
            assert abs((chip["x"] + chip["width"]) - (bar["x"] + bar["width"])) <= 1
        single_line = page.evaluate("""() => [...document.querySelectorAll(
                '.sg-component-name, .sg-component .sg-chip, .sg-card .sg-chip')]
            .filter(e => { const r = document.createRange(); r.selectNodeContents(e);
                           return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1; })
            .map(e => e.textContent)""")
        assert single_line == []
    finally:
        visit.close()


def test_an_uptime_day_tells_its_incidents_and_their_duration_on_hover_and_keyboard_focus(sites, contexts):
    visit = Visit(contexts["desktop-light"], sites["sample"] + "en/")
    try:
        page = visit.page
        day = page.locator(f'[data-uptime="kr-ingest"] [data-day="2025-10-02"]')
        tip = day.locator(".sg-tip")
        assert tip.bounding_box()["width"] <= 1  # hidden until asked for
        page.keyboard.press("Tab")  # the skip link
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.dataset.day") == "2025-10-02":
                break
        else:
            pytest.fail("the incident day of the kr-ingest bar cannot be reached with the keyboard")
        assert tip.is_visible() and tip.bounding_box()["width"] > 200
        assert "[KR] Incident: Ingest→Incident latency ↑ · 1 h 12 min" in tip.inner_text()
        assert "Thu, Oct 2, 2025" in tip.inner_text() and "Degraded performance" in tip.inner_text()
        page.evaluate("document.activeElement.blur()")
        page.mouse.move(0, 0)
        assert tip.bounding_box()["width"] <= 1
        day.hover()
        assert tip.bounding_box()["width"] > 200
        day.click()
        assert page.url.endswith(f"/en/incidents/{EXAMPLE}/")
    finally:
        visit.close()


def test_the_uptime_bars_and_their_days_work_without_javascript(sites, contexts):
    visit = Visit(contexts["no-js"], sites["sample"] + "ja/")
    try:
        page = visit.page
        bars = page.locator("section[data-region] .sg-uptime .sg-bar")
        assert bars.count() == 10
        for index in range(bars.count()):
            box = bars.nth(index).bounding_box()
            assert box["width"] > 300 and box["height"] >= 20
        day = page.locator(f'[data-uptime="kr-ingest"] [data-day="2025-10-02"]')
        assert day.is_visible()
        quiet = bars.first.evaluate("e => getComputedStyle(e).backgroundImage")
        assert day.evaluate("e => getComputedStyle(e).backgroundColor") not in quiet  # it stands out
        # the day's accessible name is its tooltip text: what a screen reader announces
        name = day.evaluate("e => e.textContent")
        assert "取り込み" in name and "1 時間 12 分" in name
        # the component page lists the same days with their durations, as text
        page.goto(sites["sample"] + "ja/components/kr-ingest/")
        assert "1 時間 12 分" in page.locator("main").inner_text()
    finally:
        visit.close()


@pytest.mark.parametrize("lang", list(PREFIXES))
def test_the_history_page_filters_by_month_region_and_component_without_javascript(sites, contexts, lang):
    visit = Visit(contexts["no-js"], sites["sample"] + PREFIXES[lang] + "history/")
    try:
        page = visit.page
        items = page.locator(".sg-month li")
        kr = page.locator('.sg-month li[data-regions="KR"]')
        jp = page.locator('.sg-month li[data-regions="JP"]')
        assert kr.count() >= 1 and jp.count() >= 2
        assert all(items.nth(i).is_visible() for i in range(items.count()))
        page.locator("#fr-JP").check()
        assert not kr.first.is_visible() and jp.first.is_visible()
        page.locator("#fc-jp-search").check()
        visible = [items.nth(i).inner_text() for i in range(items.count()) if items.nth(i).is_visible()]
        assert visible and all(
            "jp-search" in items.nth(i).get_attribute("data-components")
            for i in range(items.count()) if items.nth(i).is_visible())
        page.locator('input[name="region"][value=""]').check()
        page.locator('input[name="component"][value=""]').check()
        page.locator("#fm-2025-10").check()
        months = page.locator("section.sg-month")
        assert [months.nth(i).get_attribute("data-month") for i in range(months.count())
                if months.nth(i).is_visible()] == ["2025-10"]
    finally:
        visit.close()


@pytest.mark.parametrize("lang,query,expected", [
    ("en", "latency", f"en/incidents/{EXAMPLE}/"),
    ("ko", "수집", f"incidents/{EXAMPLE}/"),
    ("ja", "取り込み", f"ja/incidents/{EXAMPLE}/"),
])
def test_search_downloads_its_index_only_when_used_and_finds_the_readers_language(
        sites, contexts, lang, query, expected):
    base = sites["sample"]
    visit = Visit(contexts["desktop-light"], base + PREFIXES[lang])
    try:
        page = visit.page
        link = page.locator(".sg-search-link")
        assert link.bounding_box()["height"] < 40  # a link in the header, not a dominant search box
        page.wait_for_load_state("networkidle")  # leaving earlier would abort the logo or a sitemap: not the site's fault
        link.click()
        page.wait_for_load_state("load")
        assert not [r for r in visit.requests if "search_index" in r]
        page.locator("#sg-q").fill(query)
        page.locator("form.sg-search button").click()
        results = page.locator("#sg-search-results li a")
        results.first.wait_for()
        assert [r for r in visit.requests if r.endswith("search/search_index.json")]
        hrefs = [results.nth(i).evaluate("a => a.href") for i in range(results.count())]
        assert base + expected in hrefs
        others = [p for code, p in PREFIXES.items() if code != lang and p]
        assert not [h for h in hrefs if any(h.startswith(base + p) for p in others)]
        assert visit.errors == [] and visit.failed == []
    finally:
        visit.close()


@pytest.mark.parametrize("lang", list(PREFIXES))
def test_the_language_links_lead_to_the_same_page_in_the_other_language(sites, contexts, lang):
    path = f"incidents/{EXAMPLE}/"
    visit = Visit(contexts["mobile"], sites["sample"] + PREFIXES[lang] + path)
    try:
        page = visit.page
        for other, prefix in PREFIXES.items():
            if other == lang:
                continue
            # a click while the logo is still loading would abort that request: read the page first
            page.wait_for_load_state("networkidle")
            page.locator(f'.sg-languages a[hreflang="{other}"]').click()
            page.wait_for_load_state("load")
            assert page.url == sites["sample"] + prefix + path
            assert page.locator("html").get_attribute("lang") == other
            # material fetches the alternates' sitemaps after each load: going back before they arrive aborts
            # them (a failed request of the test's making, not the site's)
            page.wait_for_load_state("networkidle")
            page.go_back()
        assert visit.errors == [] and visit.failed == []
    finally:
        visit.close()


def test_the_incident_page_reads_without_javascript(sites, contexts):
    visit = Visit(contexts["no-js"], sites["sample"] + f"en/incidents/{EXAMPLE}/")
    try:
        text = visit.page.locator("main").inner_text()
        assert "10:14 KST (01:14 UTC)" in text
        assert "Degraded performance" in text
        assert visit.page.locator("ol.sg-timeline > li").count() == 5
        # the affected component's chip sits beside its name
        row = visit.page.locator(".sg-affected-list li").first
        name, chip = row.locator("a").bounding_box(), row.locator(".sg-chip").bounding_box()
        assert 0 <= chip["x"] - (name["x"] + name["width"]) < 20
    finally:
        visit.close()


def test_screenshots_are_kept_out_of_git():
    ignored = (PROJECT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/test-artifacts/" in ignored
