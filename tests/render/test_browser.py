"""A real headless Chromium reads the built site from 127.0.0.1, as a customer would."""
from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LANGUAGES = {"": "ko", "ja/": "ja", "en/": "en"}


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is required for the browser tests (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site_url(built_sample, serve):
    return serve(built_sample)


@pytest.mark.parametrize("prefix", list(LANGUAGES))
def test_home_page_shows_the_board_and_switches_language_without_console_errors(browser, site_url, prefix):
    lang = LANGUAGES[prefix]
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(site_url + prefix, wait_until="networkidle")
    assert page.locator("html").get_attribute("lang") == lang
    for region in ("KR", "JP"):
        rows = page.locator(f'section[data-region="{region}"] tr[data-component]')
        assert rows.count() == 5
        assert rows.first.is_visible()
    # the language switcher offers the two other languages and leads to their home pages
    others = [p for p in LANGUAGES if p != prefix]
    for other in others:
        switch = page.locator(f'.md-select a[hreflang="{LANGUAGES[other]}"]')
        assert switch.count() == 1
        target = browser.new_page()
        target.goto(site_url + prefix, wait_until="networkidle")
        target.locator(".md-header__option .md-header__button").first.hover()
        target.locator(f'.md-select a[hreflang="{LANGUAGES[other]}"]').click()
        target.wait_for_load_state("networkidle")
        assert target.locator("html").get_attribute("lang") == LANGUAGES[other]
        assert target.url.rstrip("/") == (site_url + other).rstrip("/")
        target.close()
    assert errors == []
    page.close()


def test_the_incident_page_reads_without_javascript(browser, site_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site_url + "en/incidents/2025-10-02-kr-ingest-latency/")
    text = page.locator("article").inner_text()
    assert "10:14 KST (01:14 UTC)" in text
    assert "Degraded performance" in text
    assert page.locator("ol.sg-timeline > li").count() == 5
    context.close()


def test_the_uptime_bars_render_without_javascript(browser, site_url):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(site_url + "en/")
    bars = page.locator("section[data-region] .sg-uptime .sg-bar")
    assert bars.count() == 10
    for index in range(bars.count()):
        days = bars.nth(index).locator(".sg-day")
        assert days.count() == 90
        box = days.last.bounding_box()
        assert box and box["width"] >= 1 and box["height"] >= 10
    example = page.locator('[data-uptime="kr-ingest"] [data-day="2025-10-02"]')
    assert example.is_visible()
    colour = example.evaluate("e => getComputedStyle(e).backgroundColor")
    plain = page.locator('[data-uptime="kr-ingest"] .sg-day').first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour != plain  # the degraded day stands out from the operational ones
    assert "Ingest→Incident latency" in example.get_attribute("title")
    example.click()
    assert page.url.endswith("/en/incidents/2025-10-02-kr-ingest-latency/")
    context.close()


@pytest.mark.parametrize("prefix,query,title", [
    ("", "지연", "[KR] 장애: 수집→인시던트 지연 ↑"),
    ("ja/", "遅延", "[KR] 障害: 取り込み→インシデント遅延 ↑"),
    ("en/", "latency", "[KR] Incident: Ingest→Incident latency ↑"),
])
def test_search_finds_an_incident_in_every_language(browser, site_url, prefix, query, title):
    """The index entries of incident pages come from the model, not from the search plugin: they must still
    be found by the browser's search, in each language, and lead to the page."""
    page = browser.new_page()
    page.goto(site_url + prefix, wait_until="networkidle")
    search = page.locator("input.md-search__input")
    search.click()
    search.fill(query)
    page.keyboard.press("End")  # material searches on key events; fill() alone sends none
    result = page.locator(".md-search-result__item a[href*='incidents/2025-10-02-kr-ingest-latency/']").first
    result.wait_for(timeout=15000)
    assert title in result.inner_text()
    result.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/{prefix}incidents/2025-10-02-kr-ingest-latency/")
    page.close()
