"""Content is text, never code: hostile titles, names, RCA Markdown and URLs built into a real site.

A site is built whose incident, maintenance and RCA titles (ko/ja/en) and status.yaml page, region and
service names carry script payloads, and whose RCA body tries every way Markdown and raw HTML offer to run
script. Every output is parsed (HTML pages, search index, feeds, calendar, JSON, badges) and a real headless
Chromium opens the pages and searches the site: no payload may become markup, and no dialog may open.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import SAMPLE_NOW, copy_sample, init_git
from generator.build import build_site
from generator.cli import main
from generator.content.load import LoadFailed, load_repository

PAYLOADS = ('<script>alert("t1")</script>', '</title><script>alert("t2")</script>',
            '"><img src=x onerror=alert("t3")>')
RCA_ID = "2025-10-02-kr-ingest-latency"
# Every way an RCA body could carry script: links, attr_list attributes, raw HTML, headings, toc labels.
HOSTILE_RCA = """
[js link](javascript:alert("r1")) [JS upper](JAVASCRIPT:alert("r2")) [data link](data:text/html,<script>alert("r3")</script>)
[vb link](vbscript:msgbox("r4")) [click me](https://example.com/){: onclick="alert('r5')" onmouseover="alert('r6')" }

<img src=x onerror=alert("r7")>

<script>alert("r8")</script>

<iframe src="javascript:alert('r9')"></iframe>

<object data="javascript:alert('r10')"></object>

<svg><script>alert("r11")</script><a xlink:href="javascript:alert('r12')"><text>x</text></a></svg>

<a href="javascript:alert('r13')" onclick="alert('r14')">raw link</a>

<details open ontoggle=alert("r15")><summary>s</summary></details>

## <img src=x onerror=alert("r16")> A heading

## Labelled {: data-toc-label="<img src=x onerror=alert('r17')>" }

> a quote stays a quote & **bold** stays bold

| left | right |
|:-----|------:|
| 1    | 2     |
"""


def hostile(text: str) -> str:
    return f"{text} {' '.join(PAYLOADS)}"


def _hostile_texts(texts: dict) -> dict:
    return {lang: hostile(value) for lang, value in texts.items()}


def make_hostile_site(root: Path) -> Path:
    copy_sample(root)
    for file in [*root.glob("incidents/**/*.yaml"), *root.glob("maintenance/**/*.yaml")]:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        data["title"] = _hostile_texts(data["title"])
        file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    config = yaml.safe_load((root / "status.yaml").read_text(encoding="utf-8"))
    config["page"]["name"] = _hostile_texts(config["page"]["name"])
    for item in [*config["regions"], *config["services"]]:
        item["name"] = _hostile_texts(item["name"])
    (root / "status.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for file in root.glob("rca/*.md"):
        text = file.read_text(encoding="utf-8")
        title = re.search(r'^title: "(.*)"$', text, re.M).group(1)
        text = text.replace(f'title: "{title}"', "title: " + json.dumps(hostile(title), ensure_ascii=False), 1)
        file.write_text(text + HOSTILE_RCA, encoding="utf-8")
    return init_git(root)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Path:
    repo = make_hostile_site(tmp_path_factory.mktemp("hostile") / "status")
    return build_site(repo, repo / "public", SAMPLE_NOW).out


class Markup(HTMLParser):
    """What an HTML document or fragment would make a browser do: its elements, attributes and texts."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.texts: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data):
        where = self._open[-1] if self._open else ""
        self.texts.setdefault(where, []).append(data)
        if where == "script":
            self.scripts.append(data)

    def executable(self) -> list[str]:
        """Anything a payload could run through: a script holding a payload, an event handler, an
        element only a payload makes, a script URL."""
        found = [f"<script>{s[:60]}" for s in self.scripts if "alert(" in s or "msgbox(" in s]
        for tag, attrs in self.elements:
            if tag in ("iframe", "object", "embed") or (tag == "img" and attrs.get("src") == "x"):
                found.append(f"<{tag} {attrs}>")
            for name, value in attrs.items():
                if name.startswith("on"):
                    found.append(f"<{tag} {name}={value!r}>")
                if name in ("href", "src", "data", "action", "xlink:href", "formaction") and value and \
                        re.match(r"\s*(javascript|data|vbscript):", value, re.I):
                    found.append(f"<{tag} {name}={value!r}>")
        return found


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_no_payload_becomes_markup_in_any_built_page(hostile_site):
    pages = html_pages(hostile_site)
    assert len(pages) > 40
    found = {}
    for page in pages:
        executable = Markup(page.read_text(encoding="utf-8")).executable()
        if executable:
            found[page.relative_to(hostile_site).as_posix()] = executable
    assert found == {}


@pytest.mark.parametrize("page,title", [
    ("incidents/2025-10-02-kr-ingest-latency/index.html", hostile("[KR] 장애: 수집→인시던트 지연 ↑")),
    ("en/incidents/2025-10-02-kr-ingest-latency/index.html", hostile("[KR] Incident: Ingest→Incident latency ↑")),
    ("ja/maintenance/2025-10-25-jp-search-upgrade/index.html",
     hostile("[JP] 定期メンテナンス: 検索クラスタのアップグレード")),
    ("en/rca/2025-10-02-kr-ingest-latency/index.html",
     hostile("RCA: KR ingest→incident latency increase (2025-10-02)")),
    ("index.html", hostile("DBV360 서비스 상태")),  # the home page: the page name from status.yaml
    ("en/components/kr-ingest/index.html", f"{hostile('Korea')} · {hostile('Ingest')}"),
])
def test_titles_reach_title_header_and_h1_as_the_text_that_was_written(hostile_site, page, title):
    markup = Markup((hostile_site / page).read_text(encoding="utf-8"))
    assert "".join(markup.texts["title"]).startswith(title)
    assert title in [t.strip() for t in markup.texts["h1"]]
    # the header holds the site's own name (once); the page's title is the <h1>
    site_names = {hostile(name) for name in ("DBV360 서비스 상태", "DBV360 サービスステータス", "DBV360 Service Status")}
    assert site_names & {t.strip() for t in markup.texts.get("span", [])}


def test_region_and_service_names_are_text_on_the_board(hostile_site):
    markup = Markup((hostile_site / "en" / "index.html").read_text(encoding="utf-8"))
    texts = [t.strip() for values in markup.texts.values() for t in values]
    assert hostile("Korea") in texts
    assert hostile("Ingest") in texts


def test_the_search_index_holds_titles_and_texts_as_escaped_html(hostile_site):
    index = json.loads((hostile_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    titles = [doc["title"] for doc in index["docs"]]
    assert any(hostile("DBV360 Service Status") == Markup(t).texts.get("", [""])[0] for t in titles)
    found = [(doc["location"], Markup(doc["title"]).executable() + Markup(doc["text"]).executable())
             for doc in index["docs"]]
    assert [f for f in found if f[1]] == []


def test_feeds_calendar_json_and_badges_carry_the_titles_as_text(hostile_site):
    atom = ET.parse(hostile_site / "en" / "atom.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry_titles = [e.findtext("a:title", namespaces=ns) for e in atom.findall("a:entry", ns)]
    assert any(t.endswith(hostile("[KR] Incident: Ingest→Incident latency ↑")) for t in entry_titles)
    for entry in atom.findall("a:entry", ns):
        assert Markup(entry.findtext("a:content", namespaces=ns) or "").executable() == []
    rss = ET.parse(hostile_site / "en" / "rss.xml").getroot()
    for item in rss.iter("item"):
        assert Markup(item.findtext("description") or "").executable() == []

    icalendar = pytest.importorskip("icalendar")
    calendars = sorted((hostile_site / "en" / "calendar").glob("*.ics"))
    assert calendars
    summaries = [str(event.get("summary")) for cal in calendars
                 for event in icalendar.Calendar.from_ical(cal.read_bytes()).walk("VEVENT")]
    assert any(s.endswith(hostile("[JP] Maintenance: search cluster upgrade")) for s in summaries)

    incidents = json.loads((hostile_site / "en" / "api" / "v2" / "incidents.json").read_text(encoding="utf-8"))
    names = [i["name"] for i in incidents["incidents"]]
    assert hostile("[KR] Incident: Ingest→Incident latency ↑") in names  # JSON carries the text itself

    for svg in sorted((hostile_site / "en" / "badge").glob("*.svg")):
        tree = ET.parse(svg).getroot()
        elements = [(el.tag.split("}")[-1], el.attrib) for el in tree.iter()]
        assert all(tag in ("svg", "title", "rect", "g", "text") for tag, _ in elements), svg
        assert not any(name.startswith("on") for _, attrs in elements for name in attrs), svg
    overall = ET.parse(hostile_site / "en" / "badge" / "overall.svg").getroot()
    assert overall.findtext("{http://www.w3.org/2000/svg}title").startswith(hostile("DBV360 Service Status"))
    assert json.loads((hostile_site / "en" / "badge" / "overall.json").read_text())["label"] == \
        hostile("DBV360 Service Status")


def test_an_rca_body_keeps_its_structure_and_loses_every_script(hostile_site):
    page = (hostile_site / "en" / "rca" / RCA_ID / "index.html").read_text(encoding="utf-8")
    markup = Markup(page)
    assert markup.executable() == []
    tags = [tag for tag, _ in markup.elements]
    assert "blockquote" in tags and "table" in tags
    assert any(tag == "h2" and attrs.get("id") == "overview" for tag, attrs in markup.elements)
    # the links survive as text; only the script address is gone
    assert "js link" in markup.texts["a"] and "raw link" in markup.texts["a"]
    assert any(tag == "a" and attrs.get("href") == "https://example.com/" for tag, attrs in markup.elements)
    assert "&amp;amp;" not in page  # escaped once, not twice
    assert "a quote stays a quote & " in "".join(markup.texts["p"])


# ---------------------------------------------------------------- the same in a real browser


BROWSED = ["", "ja/", "en/", "history/", "en/history/", "components/kr-ingest/", "ja/components/jp-search/",
           "incidents/2025-10-02-kr-ingest-latency/", "ja/incidents/2025-10-02-kr-ingest-latency/",
           "en/incidents/2025-10-15-jp-search-false-positive/", "maintenance/2025-10-25-jp-search-upgrade/",
           "en/maintenance/2025-10-25-jp-search-upgrade/", f"rca/{RCA_ID}/", f"ja/rca/{RCA_ID}/",
           f"en/rca/{RCA_ID}/"]


def test_no_dialog_opens_on_any_page_or_search_in_chromium(hostile_site, serve, browser):
    url = serve(hostile_site)
    context = browser.new_context()
    dialogs: list[str] = []
    context.on("page", lambda p: p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss())))
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in BROWSED:
        page.goto(url + path, wait_until="networkidle")
        # hover and click what a reader would: the uptime bar titles, the RCA links (never navigating away)
        page.locator("article a").evaluate_all("els => els.forEach(e => e.dispatchEvent(new MouseEvent('mouseover')))")
        assert page.locator("img[src=x], iframe, object, article svg").count() == 0, path
    # the search page shows titles and texts from the index (HTML): search for the payloads' words
    page.goto(url + "en/search/", wait_until="networkidle")
    search = page.locator("#sg-q")
    for query in ("alert", "onerror", "Ingest"):
        search.fill(query)
        page.locator("form.sg-search button").click()
        page.wait_for_selector("#sg-search-results li a", timeout=20_000)
        assert page.locator("#sg-search-results img, #sg-search-results script").count() == 0
        assert "<script>" in page.locator("#sg-search-results").inner_text()  # shown as the text it is
    page.wait_for_timeout(300)
    context.close()
    assert dialogs == []


def test_the_rca_page_title_is_the_text_in_chromium(hostile_site, serve, browser):
    url = serve(hostile_site)
    page = browser.new_page()
    page.goto(url + f"en/rca/{RCA_ID}/")
    assert page.title().startswith(hostile("RCA: KR ingest→incident latency increase (2025-10-02)"))
    assert page.locator("h1").first.inner_text() == hostile("RCA: KR ingest→incident latency increase (2025-10-02)")
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == \
        page.evaluate("[...document.querySelectorAll('script:not([src])')].filter(s => !s.textContent.includes('alert(')).length")
    page.close()


# ---------------------------------------------------------------- URL fields: one validation path

@pytest.mark.parametrize("bad", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>",
                                 "vbscript:msgbox(1)", "file:///etc/passwd", "//evil.example.com/x",
                                 'https://grafana.example.com/d/x"onmouseover="alert(1)'])
def test_an_evidence_url_that_is_not_http_is_a_field_error(content_copy, bad):
    path = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
    file = content_copy / path
    text = file.read_text(encoding="utf-8")
    old = "url: https://docs.example.com/releases/2025-10-01"
    file.write_text(text.replace(old, "url: " + json.dumps(bad)), encoding="utf-8")
    line = next(n for n, t in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if t.strip().startswith("url: \""))
    with pytest.raises(LoadFailed) as failed:
        load_repository(content_copy)
    problems = [str(p) for p in failed.value.problems]
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:{line}: evidence[1].url: expected an http(s) URL")
    assert json.dumps(bad) not in problems[0] or repr(bad) in problems[0]


def test_a_page_url_that_is_not_http_fails_check_build_and_the_schema(content_copy):
    config = content_copy / "status.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "url: https://status.example.com/", "url: javascript:alert(1)//"), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--root", str(content_copy), "--now", SAMPLE_NOW.isoformat()])
    assert result.exit_code == 1
    assert "status.yaml:" in result.output and "page.url: expected an http(s) URL" in result.output
    out = content_copy / "public"
    result = CliRunner().invoke(main, ["build", "--root", str(content_copy), "--now", SAMPLE_NOW.isoformat(),
                                       "--out", str(out)])
    assert result.exit_code == 1 and not out.exists()
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "config.schema.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.loads(json.dumps(document, default=str))))
    assert any(list(e.absolute_path) == ["page", "url"] for e in errors)


def test_the_api_refuses_an_evidence_url_that_is_not_http(sample_repo):
    from api_support import ServerThread, make_tokens
    from generator.service.api.app import create_app
    from generator.service.api.auth import parse_tokens
    from conftest import git

    writer, _, tokens = make_tokens()
    before = git(sample_repo, "rev-parse", "HEAD")
    with ServerThread(create_app(sample_repo, parse_tokens(tokens, "tokens.yaml"))) as url:
        import httpx
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {writer}"}, timeout=30) as client:
            response = client.patch("/v1/status/2025-10-02-kr-ingest-latency", json={"evidence": [
                {"title": {"ko": "증거", "ja": "証拠", "en": "Evidence"}, "url": "javascript:alert(1)"}]})
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith("evidence[0].url") and "http(s) URL" in e["message"]
               for e in response.json()["errors"]), response.json()
    assert git(sample_repo, "rev-parse", "HEAD") == before
