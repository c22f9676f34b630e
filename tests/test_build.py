"""`statusgen build`: the multilingual site, times in local time and UTC, and builds that fail safely."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from click.testing import CliRunner

from conftest import SAMPLE_NOW, tree_digest
from generator.build import BuildFailed, build_site
from generator.cli import main

INCIDENT = "incidents/2025-10-02-kr-ingest-latency/index.html"


def test_pages_exist_in_every_language(built_sample):
    for prefix in ("", "ja/", "en/"):
        for page in ("index.html", "history/index.html", INCIDENT,
                     "incidents/2025-10-15-jp-search-false-positive/index.html",
                     "maintenance/2025-10-25-jp-search-upgrade/index.html",
                     "rca/2025-10-02-kr-ingest-latency/index.html"):
            assert (built_sample / prefix / page).is_file(), prefix + page


@pytest.mark.parametrize("prefix,lang,word", [("", "ko", "해결됨"), ("ja/", "ja", "解決済み"), ("en/", "en", "Resolved")])
def test_incident_page_shows_local_time_and_utc_in_its_language(built_sample, prefix, lang, word):
    html = (built_sample / prefix / INCIDENT).read_text(encoding="utf-8")
    assert f'<html lang="{lang}"' in html
    assert "10:14 KST (01:14 UTC)" in html
    assert "11:26 KST (02:26 UTC)" in html
    assert word in html


def test_times_are_localized_with_babel(built_sample):
    assert "2025년 10월 2일 (목) 10:14 KST (01:14 UTC)" in (built_sample / INCIDENT).read_text(encoding="utf-8")
    assert "2025年10月2日(木) 10:14 KST (01:14 UTC)" in (built_sample / "ja" / INCIDENT).read_text(encoding="utf-8")
    assert "Thu, Oct 2, 2025 10:14 KST (01:14 UTC)" in (built_sample / "en" / INCIDENT).read_text(encoding="utf-8")


def test_pages_link_their_other_languages_with_hreflang(built_sample):
    html = (built_sample / "ja" / INCIDENT).read_text(encoding="utf-8")
    alternates = dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)"', html))
    # fully qualified, as search engines want them; the same page in each language
    assert alternates == {
        "ko": "https://status.example.com/incidents/2025-10-02-kr-ingest-latency/",
        "ja": "https://status.example.com/ja/incidents/2025-10-02-kr-ingest-latency/",
        "en": "https://status.example.com/en/incidents/2025-10-02-kr-ingest-latency/",
    }


def test_home_page_has_the_component_board_grouped_by_region(built_sample):
    html = (built_sample / "en" / "index.html").read_text(encoding="utf-8")
    for region in ("KR", "JP"):
        assert f'data-region="{region}"' in html
        for service in ("console", "api", "ingest", "search", "notifications"):
            assert f'data-component="{region.lower()}-{service}"' in html
    assert "All systems operational" in html


def test_internal_links_all_resolve(built_sample):
    broken = []
    for page in built_sample.rglob("*.html"):
        url = "http://site/" + page.relative_to(built_sample).as_posix()
        for href in _links(page.read_text(encoding="utf-8")):
            target = urlparse(urljoin(url, href))
            if target.netloc != "site" or target.scheme != "http":
                continue
            path = built_sample / target.path.lstrip("/")
            if not (path.is_file() or (path / "index.html").is_file()):
                broken.append(f"{page.relative_to(built_sample)} -> {href}")
    assert broken == []


def _links(html: str) -> list[str]:
    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "a" and attrs.get("href") and not attrs["href"].startswith("#"):
                found.append(attrs["href"].split("#")[0])

    Parser().feed(html)
    return [h for h in found if h]


def test_private_fields_are_not_published(built_sample):
    html = "".join(p.read_text(encoding="utf-8") for p in built_sample.rglob("*.html"))
    # tenants and the on-call owner are internal: they live in the file, never on the public page
    for private in ("acme-kr", "hanbit-logistics", "sre-oncall-kr", "cs-jp-queue", "sakura-retail"):
        assert private not in html


def test_a_draft_is_skipped_and_listed(sample_repo, tmp_path):
    file = sample_repo / "incidents/2025/2025-10-15-jp-search-false-positive.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("impact: minor", "impact: minor\ndraft: true"),
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--root", str(sample_repo), "--out", str(tmp_path / "out"),
                                       "--now", SAMPLE_NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "skipped draft: incident 2025-10-15-jp-search-false-positive" in result.output
    assert not (tmp_path / "out/incidents/2025-10-15-jp-search-false-positive").exists()
    assert "2025-10-15-jp-search-false-positive" not in (tmp_path / "out/history/index.html").read_text()


def test_bad_input_fails_the_build_and_leaves_the_previous_site_untouched(sample_repo, tmp_path):
    out = tmp_path / "out"
    build_site(sample_repo, out, SAMPLE_NOW)
    before = tree_digest(out)
    file = sample_repo / "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("severity: S2", "severity: S7"), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--root", str(sample_repo), "--out", str(out),
                                       "--now", SAMPLE_NOW.isoformat()])
    assert result.exit_code == 1
    assert "2025-10-02-kr-ingest-latency.yaml:" in result.output and "severity:" in result.output
    assert tree_digest(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_broken_theme_template_fails_the_build_and_leaves_the_previous_site_untouched(sample_repo, tmp_path):
    out = tmp_path / "out"
    build_site(sample_repo, out, SAMPLE_NOW)
    before = tree_digest(out)
    (sample_repo / "site/overrides").mkdir(parents=True, exist_ok=True)
    (sample_repo / "site/overrides/main.html").write_text('{% extends "base.html" %}{% block content %}{{ x(}}'
                                                          "{% endblock %}", encoding="utf-8")
    with pytest.raises(BuildFailed):
        build_site(sample_repo, out, SAMPLE_NOW)
    assert tree_digest(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_second_build_replaces_the_site(sample_repo, tmp_path):
    out = tmp_path / "out"
    build_site(sample_repo, out, SAMPLE_NOW)
    (out / "stale.html").write_text("from an older build")
    build_site(sample_repo, out, SAMPLE_NOW)
    assert not (out / "stale.html").exists()
    assert (out / "index.html").is_file()


def test_a_build_in_the_middle_of_an_incident_shows_the_page_as_it_was_then(sample_repo, tmp_path):
    out = tmp_path / "out"
    build_site(sample_repo, out, __import__("datetime").datetime.fromisoformat("2025-10-02T10:40:00+09:00"))
    home = (out / "en" / "index.html").read_text(encoding="utf-8")
    active = home.split('id="active_incidents"')[1].split('id="components"')[0]
    assert "[KR] Incident: Ingest→Incident latency ↑" in active
    assert "Identified" in active and "Resolved" not in active
    assert '<dt>Next update</dt><dd><time datetime="2025-10-02T10:57:00+09:00">Thu, Oct 2, 2025 10:57 KST ' \
        '(01:57 UTC)</time>' in active
    assert 'data-component="kr-ingest"' in home and "sg-status-degraded_performance" in home
    page = (out / "en" / INCIDENT).read_text(encoding="utf-8")
    assert "10:27 KST" in page and "10:55 KST" not in page and "11:26 KST" not in page
    assert "will be linked here once published" in page  # the RCA came a day later
    # the JP incident of 2025-10-15 and the maintenance announced on 2025-10-17 had not happened yet
    assert not (out / "incidents/2025-10-15-jp-search-false-positive").exists()
    assert not (out / "maintenance/2025-10-25-jp-search-upgrade").exists()


def test_a_subscribe_form_partial_appears_in_every_pages_subscribe_block(sample_repo, tmp_path):
    """The self-service subscription form ships as its own partial; the frame includes it when present."""
    (sample_repo / "site/overrides/partials").mkdir(parents=True)
    (sample_repo / "site/overrides/partials/subscribe-form.html").write_text(
        '<form class="subscribe-form-marker"></form>', encoding="utf-8")
    out = build_site(sample_repo, tmp_path / "out", SAMPLE_NOW).out
    for page in ("index.html", "ja/history/index.html", f"en/{INCIDENT}", "404.html", "ja/404.html"):
        html = (out / page).read_text(encoding="utf-8")
        block = html.split('class="sg-subscribe"')[1].split("</section>")[0]
        assert 'class="subscribe-form-marker"' in block, page
