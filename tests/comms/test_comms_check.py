"""`statusgen check` on communication: the no-raw-logs guardrail, evidence links, placeholders, macros, the
glossary and RCA completeness, each reported with file:line."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from generator.cli import main
from tests.conftest import SAMPLE_NOW

INCIDENT = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
MAINTENANCE = "maintenance/2025/2025-10-25-jp-search-upgrade.yaml"
RCA_EN = "rca/2025-10-02-kr-ingest-latency.en.md"
RCA_JA = "rca/2025-10-02-kr-ingest-latency.ja.md"
RCA_KO = "rca/2025-10-02-kr-ingest-latency.ko.md"
UPDATE_EN = "      en: The p95 latency is down to 3 s and the backlog has been processed. We keep monitoring."


def check(repo: Path):
    result = CliRunner().invoke(main, ["check", "--root", str(repo), "--now", SAMPLE_NOW.isoformat()])
    return result.exit_code, result.output


def replace(repo: Path, name: str, old: str, new: str) -> None:
    path = repo / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(repo: Path, name: str, needle: str) -> int:
    lines = (repo / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_the_shipped_sample_passes_check_without_warnings(sample_repo):
    code, output = check(sample_repo)
    assert code == 0, output
    assert "warning" not in output


# --- guardrail ----------------------------------------------------------------------------------


def test_a_log_line_in_an_update_fails_check_at_its_line_with_the_line_masked(sample_repo):
    replace(sample_repo, INCIDENT, UPDATE_EN, (
        "      en: |\n"
        "        The p95 latency is down to 3 s.\n"
        "        2025-10-02T01:14:03Z ERROR consumer stalled on shard 7\n"
    ))
    code, output = check(sample_repo)
    line = line_of(sample_repo, INCIDENT, "ERROR consumer")
    assert code == 1
    assert f"{INCIDENT}:{line}: updates[3].text.en: guardrail: log line" in output
    assert "[masked:log_line]" in output
    assert "consumer stalled" not in output


def test_an_address_in_a_one_line_text_is_reported_at_the_field_line_and_masked(sample_repo):
    replace(sample_repo, INCIDENT, "backlog has been processed.", "backlog on 10.20.30.40 has been processed.")
    code, output = check(sample_repo)
    line = line_of(sample_repo, INCIDENT, "10.20.30.40")
    assert code == 1
    assert f"{INCIDENT}:{line}: updates[3].text.en: guardrail: ipv4" in output
    assert "backlog on [masked:ipv4] has been processed" in output
    assert "10.20.30.40" not in output


def test_an_internal_host_from_the_config_fails_check_in_a_maintenance_text(sample_repo):
    replace(sample_repo, MAINTENANCE, "The maintenance has started as scheduled.",
            "The maintenance of kafka-kr-3 has started as scheduled.")
    code, output = check(sample_repo)
    line = line_of(sample_repo, MAINTENANCE, "kafka-kr-3")
    assert code == 1
    assert f"{MAINTENANCE}:{line}: updates[0].text.en: guardrail: internal host" in output
    assert "The maintenance of [masked:internal_host] has started" in output


def test_a_secret_in_an_rca_body_is_reported_at_its_line_in_the_markdown_file(sample_repo):
    replace(sample_repo, RCA_EN, "No alert detected shard skew.",
            "No alert detected shard skew.\n  Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123ghiJKL")
    code, output = check(sample_repo)
    line = line_of(sample_repo, RCA_EN, "Bearer")
    assert code == 1
    assert f"{RCA_EN}:{line}: section 'Cause': guardrail:" in output
    assert "eyJhbGciOiJIUzI1NiJ9" not in output


def test_drafts_are_not_public_and_not_scanned(sample_repo):
    replace(sample_repo, INCIDENT, "rca: 2025-10-02-kr-ingest-latency\n", "draft: true\n")
    replace(sample_repo, INCIDENT, "backlog has been processed.", "backlog on 10.20.30.40 has been processed.")
    code, output = check(sample_repo)
    assert code == 0, output


def test_an_evidence_link_to_an_unknown_host_fails_check_at_its_url_line(sample_repo):
    replace(sample_repo, INCIDENT, "url: https://docs.example.com/releases/2025-10-01",
            "url: https://files.example.net/epkg/2025-10-02.zip")
    code, output = check(sample_repo)
    line = line_of(sample_repo, INCIDENT, "files.example.net")
    assert code == 1
    assert f"{INCIDENT}:{line}: evidence[1].url: expected an allow-listed dashboard link" in output
    assert "not an allow-listed dashboard host" in output


def test_a_signed_evidence_url_living_over_ten_minutes_fails_and_one_within_passes(sample_repo):
    base = "https://epkg.s3.amazonaws.com/2025-10-02.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab12"
    replace(sample_repo, INCIDENT, "url: https://docs.example.com/releases/2025-10-01",
            f"url: {base}&X-Amz-Expires=3600")
    code, output = check(sample_repo)
    assert code == 1
    assert "signed URL lives 3600 s (X-Amz-Expires), more than 600 s" in output
    replace(sample_repo, INCIDENT, "X-Amz-Expires=3600", "X-Amz-Expires=600")
    code, output = check(sample_repo)
    assert code == 0, output


def test_an_rca_evidence_link_is_held_to_the_same_policy(sample_repo):
    replace(sample_repo, RCA_JA, "(https://docs.example.com/releases/2025-10-01)",
            "(https://wiki.corp.example.com/releases/2025-10-01)")
    code, output = check(sample_repo)
    line = line_of(sample_repo, RCA_JA, "wiki.corp.example.com")
    assert code == 1
    assert f"{RCA_JA}:{line}: section 'エビデンス': expected an allow-listed dashboard link" in output


def test_a_configured_dashboard_host_may_be_linked(sample_repo):
    replace(sample_repo, INCIDENT, "url: https://docs.example.com/releases/2025-10-01",
            "url: https://kibana.example.org/app/dashboards")
    assert check(sample_repo)[0] == 1
    replace(sample_repo, "status.yaml", "    - docs.example.com\n", "    - docs.example.com\n    - kibana.example.org\n")
    code, output = check(sample_repo)
    assert code == 0, output


# --- placeholders and macros --------------------------------------------------------------------


def test_an_unfilled_placeholder_in_a_published_text_fails_check(sample_repo):
    replace(sample_repo, INCIDENT, "backlog has been processed.", "backlog has been processed. Next update at {next_update}.")
    code, output = check(sample_repo)
    line = line_of(sample_repo, INCIDENT, "{next_update}")
    assert code == 1
    assert f"{INCIDENT}:{line}: updates[3].text.en: expected a finished text, found the unfilled placeholder {{next_update}}" in output


def test_a_macro_whose_languages_disagree_on_placeholders_fails_check(sample_repo):
    path = sample_repo / "templates/macros/progress.ja.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("{metric_link}", "{dashboard}"), encoding="utf-8")
    code, output = check(sample_repo)
    assert code == 1
    assert "templates/macros/progress.ja.txt:1: placeholders: expected the same set as progress.ko.txt" in output


# --- glossary -----------------------------------------------------------------------------------


def test_a_forbidden_variant_is_a_warning_with_its_line_and_check_still_passes(sample_repo):
    replace(sample_repo, INCIDENT, "p95 遅延は 3 秒まで下がり", "p95 レイテンシは 3 秒まで下がり")
    code, output = check(sample_repo)
    line = line_of(sample_repo, INCIDENT, "レイテンシ")
    assert code == 0, output
    assert (f"{INCIDENT}:{line}: warning: updates[3].text.ja: glossary: 'レイテンシ' is not our word for "
            f"'latency' in ja; write '遅延'") in output
    # 레이턴시 also leaves the ja text without 遅延, which the ko and en texts use.
    assert (f"{INCIDENT}:{line}: warning: updates[3].text.ja: glossary: the ko text uses 'latency' (지연) but this "
            f"ja text has none of: 遅延") in output


def test_a_term_missing_from_another_language_of_the_same_field_is_a_warning(sample_repo):
    replace(sample_repo, MAINTENANCE, "en: The maintenance has started as scheduled.", "en: Work has started as scheduled.")
    code, output = check(sample_repo)
    line = line_of(sample_repo, MAINTENANCE, "Work has started")
    assert code == 0, output
    assert (f"{MAINTENANCE}:{line}: warning: updates[0].text.en: glossary: the ja text uses 'maintenance' "
            f"(メンテナンス) but this en text has none of: maintenance") in output


def test_a_longer_term_hides_the_shorter_one_inside_it(sample_repo):
    # 합성 점검 (synthetic check) contains 점검 (maintenance); it must not ask the others for "maintenance".
    code, output = check(sample_repo)
    assert "'maintenance'" not in output


# --- RCA completeness ---------------------------------------------------------------------------


def test_an_rca_missing_a_section_is_refused_where_it_belongs(sample_repo):
    replace(sample_repo, RCA_KO, "## 재발 방지\n", "## 기타\n")
    code, output = check(sample_repo)
    next_heading = line_of(sample_repo, RCA_KO, "## 증거")
    assert code == 1
    assert f"{RCA_KO}:{next_heading}: section '재발 방지': expected a '## 재발 방지' section, found none" in output


def test_an_rca_with_an_empty_section_is_refused_at_its_heading(sample_repo):
    path = sample_repo / RCA_JA
    text = path.read_text(encoding="utf-8")
    start = text.index("## お問い合わせ")
    path.write_text(text[:start] + "## お問い合わせ\n\n<!-- TODO -->\n", encoding="utf-8")
    code, output = check(sample_repo)
    line = line_of(sample_repo, RCA_JA, "## お問い合わせ")
    assert code == 1
    assert f"{RCA_JA}:{line}: section 'お問い合わせ': expected text in the section, found it empty" in output


def test_a_permanent_action_without_a_due_date_is_refused_at_its_line(sample_repo):
    replace(sample_repo, RCA_EN, "query-cache TTL tuning (due 2025-10-10, owner analytics platform team)",
            "query-cache TTL tuning (owner analytics platform team)")
    code, output = check(sample_repo)
    line = line_of(sample_repo, RCA_EN, "**Permanent actions**")
    assert code == 1
    assert (f"{RCA_EN}:{line}: section 'Mitigation and recovery': expected a due date ('due YYYY-MM-DD') for "
            f"the permanent action 'query-cache TTL tuning (owner analytics platform team)'") in output
    assert "new shard placement policy" not in output


def test_permanent_actions_as_sub_items_are_judged_one_by_one(sample_repo):
    replace(sample_repo, RCA_KO,
            "- **영구 조치**: 샤드 배치 정책 변경 (기한 2025-10-17, 담당 SRE), 쿼리 캐시 TTL 조정 (기한 2025-10-10, 담당 분석 플랫폼팀).",
            "- **영구 조치**:\n  - 샤드 배치 정책 변경 (기한 2025-10-17, 담당 SRE)\n  - 쿼리 캐시 TTL 조정 (담당 분석 플랫폼팀)")
    code, output = check(sample_repo)
    line = line_of(sample_repo, RCA_KO, "쿼리 캐시 TTL 조정")
    assert code == 1
    assert f"{RCA_KO}:{line}: section '완화 및 복구': expected a due date ('기한 YYYY-MM-DD')" in output
    assert "샤드 배치 정책 변경" not in output


def test_an_rca_without_permanent_actions_is_refused(sample_repo):
    replace(sample_repo, RCA_EN,
            "- **Permanent actions**: new shard placement policy (due 2025-10-17, owner SRE); query-cache TTL tuning "
            "(due 2025-10-10, owner analytics platform team).\n", "")
    code, output = check(sample_repo)
    line = line_of(sample_repo, RCA_EN, "## Mitigation and recovery")
    assert code == 1
    assert f"{RCA_EN}:{line}: section 'Mitigation and recovery': expected a 'Permanent actions' item" in output


def test_an_rca_linking_no_release_or_guardrail_issue_is_refused_at_the_prevention_heading(sample_repo):
    replace(sample_repo, RCA_EN, "(guardrail issue GR-318, due 2025-10-24)", "(due 2025-10-24)")
    replace(sample_repo, RCA_EN, "(https://docs.example.com/releases/2025-10-01)",
            "(https://docs.example.com/changes/2025-10-01)")
    code, output = check(sample_repo)
    line = line_of(sample_repo, RCA_EN, "## Prevention")
    assert code == 1
    assert (f"{RCA_EN}:{line}: links: expected a link to a release (a URL with /releases/ or /release-notes/) "
            f"or a guardrail issue (GR-<number>), found none") in output


def test_a_draft_rca_is_not_judged_for_completeness(sample_repo):
    for name in (RCA_KO, RCA_JA, RCA_EN):
        replace(sample_repo, name, "published_at:", "draft: true\npublished_at:")
        path = sample_repo / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: text.index("## ")] + "## Overview\n", encoding="utf-8")
    replace(sample_repo, INCIDENT, "rca: 2025-10-02-kr-ingest-latency\n", "")
    code, output = check(sample_repo)
    assert code == 0, output


def test_an_rca_period_in_local_time_only_is_refused_at_its_line(sample_repo):
    replace(sample_repo, RCA_JA, "（01:14 〜 02:26 UTC、72 分）", "（72 分）")
    code, output = check(sample_repo)
    line = line_of(sample_repo, RCA_JA, "**期間**")
    assert code == 1
    assert (f"{RCA_JA}:{line}: section '概要': expected the period in local time and UTC side by side, "
            "got '**期間**: 2025-10-02 10:14 KST 〜 11:26 KST（72 分）'") in output
