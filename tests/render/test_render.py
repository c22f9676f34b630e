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


# ---------------------------------------------------------------- the banner, the card's texts, the theme

from generator.content.model import Impact  # noqa: E402
from generator.render.pages import STRINGS, theme_context, without_next_update  # noqa: E402
from generator.render.status import is_active, page_banner, published_incidents  # noqa: E402


def _banner(repository, now):
    active = [i for i in published_incidents(repository) if is_active(i, now)]
    return page_banner(component_states(repository, now), active)


def test_one_degraded_component_makes_a_degraded_banner_not_an_outage(sample_repo):
    """The sample incident's impact is `major`, but its only component is degraded: the banner must not
    say "Partial system outage" (the defect seen in Chromium)."""
    repository = load_repository(sample_repo)
    during = datetime.fromisoformat("2025-10-02T10:30:00+09:00")
    banner = _banner(repository, during)
    assert (banner.indicator, banner.status) == ("minor", "degraded_performance")
    assert STRINGS[f"banner_{banner.status}"]["en"] == "Degraded performance"
    assert _banner(repository, datetime.fromisoformat("2025-10-25T02:30:00+09:00")).status == "under_maintenance"
    assert _banner(repository, datetime.fromisoformat("2025-10-26T12:00:00+09:00")).status == "operational"


def test_partial_and_major_outages_raise_the_banner(sample_repo):
    path = sample_repo / "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
    during = datetime.fromisoformat("2025-10-02T10:30:00+09:00")
    original = path.read_text(encoding="utf-8")
    for status, indicator in (("partial_outage", "major"), ("major_outage", "critical")):
        path.write_text(original.replace("status: degraded_performance", f"status: {status}"), encoding="utf-8")
        banner = _banner(load_repository(sample_repo), during)
        assert (banner.indicator, banner.status) == (indicator, status)


def test_an_incident_leaving_every_component_operational_still_shows(sample_repo):
    repository = load_repository(sample_repo)
    quiet = component_states(repository, datetime.fromisoformat("2025-10-26T12:00:00+09:00"))
    incident = published_incidents(repository)[0]
    assert page_banner(quiet, [incident]) == page_banner(quiet, [incident])  # pure
    assert (page_banner(quiet, [incident]).indicator, page_banner(quiet, [incident]).status) == ("minor", "incident")
    none = incident.model_copy(update={"impact": Impact.none})
    assert page_banner(quiet, [none]).status == "operational"
    assert page_banner([], []).status == "operational"


def test_the_overall_badge_says_what_the_banner_says(sample_repo):
    from generator.render.badges import badges

    repository = load_repository(sample_repo)
    during = datetime.fromisoformat("2025-10-02T10:30:00+09:00")
    overall = next(b for b in badges(repository, during, "ja") if b.name == "overall")
    assert overall.message == STRINGS["banner_degraded_performance"]["ja"]


def test_the_next_update_sentence_is_left_out_of_the_prose_in_each_language():
    assert without_next_update("Latency rose to 18 s. Next update at 10:45 KST. Ticket ID: CS-1.", "en") == \
        "Latency rose to 18 s. Ticket ID: CS-1."
    assert without_next_update("We have detected latency.\nNext update: 10:45 KST", "en") == \
        "We have detected latency."
    assert without_next_update("원인 조사 중입니다. 다음 업데이트는 10:45에 제공하겠습니다. 티켓 ID: CS-1.", "ko") == \
        "원인 조사 중입니다. 티켓 ID: CS-1."
    assert without_next_update("原因を調査中です。次回の更新は10:45にお知らせします。チケットID：CS-1。", "ja") == \
        "原因を調査中です。チケットID：CS-1。"
    assert without_next_update("No next-update sentence here.", "en") == "No next-update sentence here."


def test_bare_urls_in_prose_become_named_links():
    dashboard = "https://grafana.example.com/d/kr-ingest?from=1&to=2"
    html = render_text(f"impact: {dashboard}. Portal (https://support.example.com).",
                       {dashboard: "KR ingest dashboard"})
    assert f'<a href="{dashboard.replace("&", "&amp;")}" rel="noopener nofollow">KR ingest dashboard</a>.' in html
    assert '(<a href="https://support.example.com" rel="noopener nofollow">support.example.com</a>)' in html
    assert ">https://" not in html  # no URL shown as text
    cjk = render_text("サポートポータル（https://support.example.com）まで")
    assert "（<a href=\"https://support.example.com\"" in cjk and "</a>）" in cjk


def test_japanese_impact_levels_do_not_reuse_the_severity_names(sample_repo):
    repository = load_repository(sample_repo)
    severity_names = {p.name.ja for p in repository.config.sla.policies.values()}
    impacts = {STRINGS[f"impact_{level.value}"]["ja"] for level in Impact}
    assert not impacts & severity_names
    assert not [impact for impact in impacts if "重大" in impact]  # 重大 is the S2 severity's word


def test_the_theme_gets_the_sites_own_name_logo_colour_and_strings(sample_repo):
    context = theme_context(load_repository(sample_repo))
    assert context["brand_color"] == "#1f3a5f" and context["logo"] == "assets/logo.svg"
    assert context["site_url"] == "https://status.example.com/"
    assert [(lang, v["prefix"]) for lang, v in context["languages"].items()] == [("ko", ""), ("ja", "ja/"), ("en", "en/")]
    assert context["languages"]["ja"]["t"]["subscribe_title"] == "更新情報の購読"
    assert '<a href="https://support.example.com"' in context["languages"]["en"]["support_html"]
