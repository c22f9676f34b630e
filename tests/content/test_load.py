"""The loader: every kind of bad input is reported as path:line: field: expected ..., got ..."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.content.load import LoadFailed, load_repository

SAMPLE = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"


def problems_after_edit(repo: Path, path: str, old: str, new: str, count: int = 1) -> list[str]:
    file = repo / path
    text = file.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {path}"
    file.write_text(text.replace(old, new, count), encoding="utf-8")
    with pytest.raises(LoadFailed) as failed:
        load_repository(repo)
    return [str(p) for p in failed.value.problems]


def line_of(repo: Path, path: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, text in enumerate((repo / path).read_text(encoding="utf-8").splitlines(), start=1):
        if needle in text:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_the_shipped_sample_loads(sample_repo):
    repository = load_repository(sample_repo)
    assert {i.id for i in repository.incidents} == {
        "2025-10-02-kr-ingest-latency", "2025-10-15-jp-search-false-positive"}
    assert len(repository.maintenance) == 1
    assert {(r.id, r.lang) for r in repository.rcas} == {
        ("2025-10-02-kr-ingest-latency", lang) for lang in ("ko", "ja", "en")}


def test_yaml_syntax_error_names_the_line(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "severity: S2\n", "severity: [S2\n")
    assert len(problems) == 1
    assert problems[0].startswith(f"{SAMPLE}:")
    assert "YAML syntax error" in problems[0]
    line = int(problems[0].split(":")[1])
    assert line >= line_of(sample_repo, SAMPLE, "severity: [S2")


def test_unknown_field_is_named_with_a_suggestion(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "impact: major\n", "impact: major\nimpcat: major\n")
    line = line_of(sample_repo, SAMPLE, "impcat:")
    assert problems == [f"{SAMPLE}:{line}: impcat: unknown field (did you mean 'impact'?); expected one of: "
                        "$schema, id, region, severity, impact, title, summary, components, started_at, detected_at, "
                        "resolved_at, owner, secondary_verdict_at, metrics, evidence, tickets, tenants, rca, draft, "
                        "updates"]


def test_missing_field(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "severity: S2\n", "")
    # A missing field has no line of its own: the problem points at the mapping that lacks it.
    line = line_of(sample_repo, SAMPLE, "id: 2025-10-02-kr-ingest-latency")
    assert problems == [f"{SAMPLE}:{line}: severity: required field is missing"]


def test_missing_field_in_a_nested_update(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "    status: identified\n", "")
    line = line_of(sample_repo, SAMPLE, "- at: 2025-10-02T10:27:00+09:00")
    assert problems == [f"{SAMPLE}:{line}: updates[1].status: required field is missing"]


def test_bad_enum_value_lists_what_is_allowed(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "severity: S2", "severity: S5")
    line = line_of(sample_repo, SAMPLE, "severity: S5")
    assert problems == [f"{SAMPLE}:{line}: severity: expected one of S1, S2, S3 or S4, got 'S5'"]


def test_bad_component_status(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "status: degraded_performance", "status: degraded")
    line = line_of(sample_repo, SAMPLE, "status: degraded")
    assert len(problems) == 1
    assert problems[0].startswith(f"{SAMPLE}:{line}: components[0].status: expected one of operational, ")
    assert problems[0].endswith("got 'degraded'")


def test_naive_time_is_refused(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "resolved_at: 2025-10-02T11:26:00+09:00",
                                   "resolved_at: 2025-10-02T11:26:00")
    line = line_of(sample_repo, SAMPLE, "resolved_at:")
    assert problems == [f"{SAMPLE}:{line}: resolved_at: expected an ISO 8601 time with an explicit UTC offset "
                        "(e.g. +09:00 or Z), got naive '2025-10-02T11:26:00'"]


def test_malformed_time_is_refused(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "next_update_at: 2025-10-02T10:57:00+09:00",
                                   "next_update_at: 10:57")
    line = line_of(sample_repo, SAMPLE, "next_update_at: 10:57")
    assert problems == [f"{SAMPLE}:{line}: updates[1].next_update_at: expected an ISO 8601 time with offset "
                        "(e.g. 2025-10-02T10:14:00+09:00), got '10:57'"]


def test_unknown_component(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "- id: kr-ingest", "- id: kr-ingset")
    line = line_of(sample_repo, SAMPLE, "- id: kr-ingset")
    assert problems == [f"{SAMPLE}:{line}: components[0].id: expected a known component (did you mean "
                        "'kr-ingest'?), got 'kr-ingset'"]


def test_unknown_region(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "region: KR", "region: US")
    line = line_of(sample_repo, SAMPLE, "region: US")
    assert problems == [f"{SAMPLE}:{line}: region: expected one of KR, JP, got 'US'"]


def test_updates_out_of_order(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "- at: 2025-10-02T10:55:00+09:00",
                                   "- at: 2025-10-02T10:25:00+09:00")
    line = line_of(sample_repo, SAMPLE, "- at: 2025-10-02T10:25:00+09:00")
    assert problems == [f"{SAMPLE}:{line}: updates[2].at: expected updates in time order (after "
                        "2025-10-02T10:27:00+09:00), got 2025-10-02T10:25:00+09:00"]


def test_resolution_before_start(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "resolved_at: 2025-10-02T11:26:00+09:00",
                                   "resolved_at: 2025-10-02T09:26:00+09:00")
    line = line_of(sample_repo, SAMPLE, "resolved_at:")
    assert problems == [f"{SAMPLE}:{line}: resolved_at: expected a time after the start "
                        "(2025-10-02T10:14:00+09:00), got 2025-10-02T09:26:00+09:00"]


def test_language_missing_from_a_published_text(sample_repo):
    problems = problems_after_edit(
        sample_repo, SAMPLE,
        "      ja: 一部のシャードへの負荷集中を確認しました。サンプリングの緩和とコンシューマーの増設による緩和策を適用しました。30 分ごとに進捗をお知らせします。\n",
        "")
    line = line_of(sample_repo, SAMPLE, "text:", occurrence=2)
    assert problems == [f"{SAMPLE}:{line}: updates[1].text: expected a text in every language (ko, ja, en), "
                        "missing: ja"]


def test_a_draft_may_lack_languages(sample_repo):
    file = sample_repo / SAMPLE
    text = file.read_text(encoding="utf-8")
    text = text.replace("  ja: \"[KR] 障害: 取り込み→インシデント遅延 ↑\"\n", "").replace("rca: 2025", "draft: true\nrca: 2025")
    file.write_text(text, encoding="utf-8")
    repository = load_repository(sample_repo)
    assert [i.draft for i in repository.incidents if i.id == "2025-10-02-kr-ingest-latency"] == [True]


def test_duplicate_ids_name_both_files(sample_repo):
    copy = "incidents/2026/2025-10-02-kr-ingest-latency.yaml"
    (sample_repo / copy).parent.mkdir()
    (sample_repo / copy).write_text((sample_repo / SAMPLE).read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(LoadFailed) as failed:
        load_repository(sample_repo)
    problems = [str(p) for p in failed.value.problems]
    line = line_of(sample_repo, copy, "id: 2025-10-02-kr-ingest-latency")
    assert problems == [f"{copy}:{line}: id: expected a unique id, got '2025-10-02-kr-ingest-latency' "
                        f"which {SAMPLE} already uses"]


def test_rca_missing_a_language(sample_repo):
    (sample_repo / "rca/2025-10-02-kr-ingest-latency.ja.md").unlink()
    with pytest.raises(LoadFailed) as failed:
        load_repository(sample_repo)
    assert [str(p) for p in failed.value.problems] == [
        "rca/2025-10-02-kr-ingest-latency.en.md:1: lang: expected the RCA '2025-10-02-kr-ingest-latency' in every "
        "language, missing: rca/2025-10-02-kr-ingest-latency.ja.md"]


def test_maintenance_window_end_before_start(sample_repo):
    path = "maintenance/2025/2025-10-25-jp-search-upgrade.yaml"
    problems = problems_after_edit(sample_repo, path, "scheduled_until: 2025-10-25T04:00:00+09:00",
                                   "scheduled_until: 2025-10-25T01:00:00+09:00")
    line = line_of(sample_repo, path, "scheduled_until:")
    assert problems == [f"{path}:{line}: scheduled_until: expected the end of the window after its start "
                        "(2025-10-25T02:00:00+09:00), got 2025-10-25T01:00:00+09:00"]


def test_all_problems_of_all_files_come_in_one_run(sample_repo):
    file = sample_repo / SAMPLE
    file.write_text(file.read_text(encoding="utf-8").replace("severity: S2", "severity: S9")
                    .replace("region: KR", "region: XX"), encoding="utf-8")
    other = sample_repo / "incidents/2025/2025-10-15-jp-search-false-positive.yaml"
    other.write_text(other.read_text(encoding="utf-8").replace("impact: minor", "impact: tiny"), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--root", str(sample_repo)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("incidents/")]
    assert len(lines) == 2  # pydantic stops a file at its schema errors; both files are reported
    assert any("severity: expected one of S1, S2, S3 or S4, got 'S9'" in line for line in lines)
    assert any("2025-10-15-jp-search-false-positive.yaml" in line and "impact:" in line for line in lines)


def test_check_passes_on_the_sample(sample_repo):
    result = CliRunner().invoke(main, ["check", "--root", str(sample_repo), "--now", "2025-10-26T12:00:00+09:00"])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_an_unquoted_title_starting_with_a_bracket_says_to_quote_it(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, 'en: "[KR] Incident: Ingest→Incident latency ↑"',
                                   "en: [KR] Incident: Ingest→Incident latency ↑")
    line = line_of(sample_repo, SAMPLE, "en: [KR] Incident")
    assert len(problems) == 1
    assert problems[0].startswith(f"{SAMPLE}:{line}: YAML syntax error: ")
    assert 'put the text in quotes, e.g. title: "[KR] Incident: ..."' in problems[0]


def test_a_tab_in_the_indentation_says_to_use_spaces(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "  - id: kr-ingest", "\t- id: kr-ingest")
    assert len(problems) == 1 and problems[0].endswith("indent with spaces, not tab characters")


def test_a_duplicate_key_names_both_lines(sample_repo):
    problems = problems_after_edit(sample_repo, SAMPLE, "impact: major\n", "impact: major\nimpact: minor\n")
    first = line_of(sample_repo, SAMPLE, "impact: major")
    assert problems == [f"{SAMPLE}:{first + 1}: impact: expected each field once, got a second 'impact' "
                        f"(the first is on line {first}); delete one of them"]


def test_a_brand_colour_too_light_for_white_text_is_refused_with_its_line(sample_repo):
    problems = problems_after_edit(sample_repo, "status.yaml", "  url: https://status.example.com/\n",
                                   "  url: https://status.example.com/\n  brand_color: '#ffcc00'\n")
    line = line_of(sample_repo, "status.yaml", "brand_color:")
    assert len(problems) == 1
    assert problems[0].startswith(f"status.yaml:{line}: page.brand_color: ")
    assert "4.5:1 contrast against white" in problems[0] and "'#ffcc00'" in problems[0]


def test_logo_and_brand_colour_are_optional_with_defaults(sample_repo):
    page = load_repository(sample_repo).config.page
    assert page.logo is None and page.brand_color == "#1f3a5f"
    problems = problems_after_edit(sample_repo, "status.yaml", "  url: https://status.example.com/\n",
                                   "  url: https://status.example.com/\n  logo: javascript:alert(1)\n")
    assert len(problems) == 1 and ": page.logo: " in problems[0]


def test_a_control_character_in_an_update_text_is_a_field_error_at_its_line(sample_repo):
    # YAML's "\v" escape is how U+000B gets into a file; it used to pass check and break Atom/RSS.
    problems = problems_after_edit(sample_repo, SAMPLE, "en: Since 2025-10-02 10:14 KST the KR ingest→incident p95 "
                                   "latency has risen to 18 s.", 'en: "Since\\v 2025-10-02"\n      #')
    line = line_of(sample_repo, SAMPLE, 'en: "Since\\v')
    assert problems == [f"{SAMPLE}:{line}: updates[0].text.en: expected text without control "
                                  "characters (tab and newline are allowed), got U+000B at character 6"]


def test_check_refuses_a_control_character_in_any_text(sample_repo):
    file = sample_repo / "maintenance/2025/2025-10-25-jp-search-upgrade.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace(
        'ko: "[JP] 정기 점검', 'ko: "[JP]\\x1b 정기 점검'), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--root", str(sample_repo)])
    assert result.exit_code == 1
    assert "2025-10-25-jp-search-upgrade.yaml:5: title.ko: expected text without control characters" in result.output
    assert "got U+001B" in result.output


def test_an_unknown_holiday_country_is_a_path_line_field_error(sample_repo):
    problems = problems_after_edit(sample_repo, "status.yaml", "holidays: {country: KR,", "holidays: {country: XX,")
    line = line_of(sample_repo, "status.yaml", "country: XX")
    assert len(problems) == 1
    assert problems[0].startswith(f"status.yaml:{line}: regions[0].holidays.country: expected an ISO 3166 country "
                                  "code the `holidays` package knows"), problems
    assert "got 'XX'" in problems[0]


def test_an_unknown_holiday_subdivision_is_a_path_line_field_error(sample_repo):
    problems = problems_after_edit(sample_repo, "status.yaml", "holidays: {country: KR,",
                                   "holidays: {country: KR, subdiv: ENG,")
    line = line_of(sample_repo, "status.yaml", "subdiv: ENG")
    assert len(problems) == 1
    assert problems[0].startswith(f"status.yaml:{line}: regions[0].holidays.subdiv: expected a subdivision of KR")
    assert "got 'ENG'" in problems[0]
