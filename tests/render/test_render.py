"""Rendering of engineers' texts and of the status roll-up, on real sample content."""
from __future__ import annotations

from datetime import datetime

from generator.content.load import load_repository
from generator.content.model import ComponentStatus
from generator.render.pages import relative_url, render_text
from generator.render.status import component_states, overall_indicator


def test_plain_text_is_escaped_not_interpreted():
    assert render_text("p95 18 s < 20 s & rising") == "<p>p95 18 s &lt; 20 s &amp; rising</p>"


def test_markdown_is_rendered_and_scripts_are_removed():
    html = render_text("**Mitigated**. <script>alert(1)</script> [dashboard](https://grafana.example.com/d/x)")
    assert "<strong>Mitigated</strong>" in html
    assert "<script" not in html and "alert(1)" not in html
    assert '<a href="https://grafana.example.com/d/x" rel="noopener nofollow">dashboard</a>' in html


def test_javascript_links_are_dropped():
    assert "javascript:" not in render_text("[click](javascript:alert(1))")


def test_relative_urls_between_pages():
    assert relative_url("index.md", "incidents/a.md") == "incidents/a/"
    assert relative_url("incidents/a.md", "index.md") == "../../"
    assert relative_url("incidents/a.md", "rca/a.md") == "../../rca/a/"
    assert relative_url("history.md", "history.md") == "./"


def test_components_follow_their_active_incidents(sample_repo):
    repository = load_repository(sample_repo)
    during = datetime.fromisoformat("2025-10-02T10:30:00+09:00")
    states = {s.id: s for s in component_states(repository, during)}
    assert states["kr-ingest"].status is ComponentStatus.degraded_performance
    assert states["kr-ingest"].incident_ids == ("2025-10-02-kr-ingest-latency",)
    assert states["kr-api"].status is ComponentStatus.operational
    assert overall_indicator(repository, during) == "major"
    after = datetime.fromisoformat("2025-10-02T11:26:00+09:00")
    assert {s.status for s in component_states(repository, after)} == {ComponentStatus.operational}
    assert overall_indicator(repository, after) == "none"


def test_a_maintenance_window_puts_its_components_under_maintenance(sample_repo):
    repository = load_repository(sample_repo)
    during = datetime.fromisoformat("2025-10-25T02:30:00+09:00")
    states = {s.id: s for s in component_states(repository, during)}
    assert states["jp-search"].status is ComponentStatus.under_maintenance
    assert overall_indicator(repository, during) == "maintenance"
