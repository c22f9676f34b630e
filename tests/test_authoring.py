"""Writing communication: `statusgen macro`, `mask`, `new incident`, `update` and `rca new`, and the round trip
through `build` (a draft is skipped, the same file without `draft: true` is published)."""
from __future__ import annotations

import re
from datetime import datetime

from pathlib import Path

import yaml
from click.testing import CliRunner

from generator.build import build_site
from generator.cli import main
from generator.content.load import load_content
from tests.conftest import SAMPLE_NOW

NEW_ID = "2025-10-26-kr-ingest-latency"
NEW_FILE = f"incidents/2025/{NEW_ID}.yaml"
SAMPLE_INCIDENT = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
DETECTED = "2025-10-26T11:40:00+09:00"
NOW = SAMPLE_NOW.isoformat()  # 2025-10-26T12:00:00+09:00


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def new_incident(repo: Path, *extra: str):
    return run(
        "new", "incident", "--root", str(repo), "--now", NOW,
        "--region", "KR", "--severity", "S2", "--component", "ingest", "--detected", DETECTED,
        "--ticket", "CS-20251026-0001", "--tenant", "acme-kr",
        "--evidence", "https://grafana.example.com/d/kr-ingest-latency",
        "--var", "metric.ko=수집→인시던트 p95 지연", "--var", "metric.ja=取り込み→インシデント p95 遅延",
        "--var", "metric.en=ingest→incident p95 latency", "--var", "value=14 s",
        "--slug", "ingest-latency", *extra,
    )


def test_macro_prints_the_s1_first_notice_in_japanese_with_local_and_utc_times(sample_repo):
    result = run("macro", "s1_first_notice", "--root", str(sample_repo), "--lang", "ja", "--region", "KR",
                 "--var", "id=CS-20251002-0042", "--var", "metric_link=https://grafana.example.com/d/kr",
                 "--var", "next_update=2025-10-02T10:45:00+09:00")
    assert result.exit_code == 0, result.output
    assert "KRリージョンでサービスの遅延を検知しました" in result.output
    assert "チケットID：CS-20251002-0042" in result.output
    assert "2025年10月2日(木) 10:45 KST (01:45 UTC)" in result.output


def test_macro_names_the_missing_variables(sample_repo):
    result = run("macro", "resolved", "--root", str(sample_repo), "--lang", "en")
    assert result.exit_code == 1
    assert "missing variable(s) for resolved.en: rca_link, resolved_at" in result.output


def test_mask_masks_a_file_with_the_configured_internal_hosts(sample_repo, tmp_path):
    text = "2025-10-02T01:14:03Z ERROR consumer lag\nReach kafka-kr-3 or ops@example.com\nAll good at 10:14 KST.\n"
    source = tmp_path / "reply.txt"
    source.write_text(text, encoding="utf-8")
    result = run("mask", "--root", str(sample_repo), str(source))
    assert result.exit_code == 0
    assert result.output == "[masked:log_line]\nReach [masked:internal_host] or [masked:email]\nAll good at 10:14 KST.\n"


def test_mask_reads_stdin(sample_repo):
    result = run("mask", "--root", str(sample_repo), "-", input="from 10.0.0.7\n")
    assert result.output == "from [masked:ipv4]\n"


def test_new_incident_writes_a_draft_in_three_languages_from_the_s2_first_notice(sample_repo):
    result = new_incident(sample_repo)
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((sample_repo / NEW_FILE).read_text(encoding="utf-8"))
    assert data["draft"] is True
    assert data["id"] == NEW_ID
    assert data["components"] == [{"id": "kr-ingest", "status": "degraded_performance"}]
    assert data["tickets"] == ["CS-20251026-0001"] and data["tenants"] == ["acme-kr"]
    text = data["updates"][0]["text"]
    assert text["ko"].startswith("2025년 10월 26일 (일) 11:40 KST (02:40 UTC)부터 KR 수집의 수집→인시던트 p95 지연이 14초까지")
    assert "取り込み→インシデント p95 遅延が14 秒まで上昇" in text["ja"]
    assert "risen to 14 s" in text["en"]
    assert "Next update at Sun, Oct 26, 2025 13:00 KST (04:00 UTC)" in text["en"]  # S2 cadence: 60 min
    assert data["updates"][0]["next_update_at"] == "2025-10-26T13:00+09:00"


def test_new_incident_outside_a_terminal_refuses_missing_options(sample_repo):
    result = run("new", "incident", "--root", str(sample_repo), "--now", NOW, "--region", "KR")
    assert result.exit_code == 2
    assert "missing --severity (not a terminal, so no prompt)" in result.output
    assert not (sample_repo / "incidents/2025" / f"{NEW_ID}.yaml").exists()


def test_new_incident_refuses_an_unknown_component(sample_repo):
    result = new_incident(sample_repo, "--component", "billing")
    assert result.exit_code == 1
    assert "unknown component 'billing'" in result.output


def test_new_update_build_round_trip_publishes_only_after_the_draft_flag_is_removed(sample_repo, tmp_path):
    assert new_incident(sample_repo).exit_code == 0
    result = run("update", NEW_ID, "--root", str(sample_repo), "--now", "2025-10-26T12:10:00+09:00",
                 "--status", "identified", "--macro", "progress", "--next", "30m", "--var", "value=9 s")
    assert result.exit_code == 0, result.output
    incident = next(i for i in load_content(sample_repo).repository.incidents if i.id == NEW_ID)
    assert [u.status.value for u in incident.updates] == ["investigating", "identified"]
    assert incident.updates[1].next_update_at.isoformat() == "2025-10-26T12:40:00+09:00"
    assert "현재 수집→인시던트 p95 지연: 9초" in incident.updates[1].text.ko

    draft = build_site(sample_repo, tmp_path / "draft", SAMPLE_NOW)
    assert f"incident {NEW_ID}" in draft.drafts_skipped
    assert not list(draft.out.rglob(f"*{NEW_ID}*"))

    path = sample_repo / NEW_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("draft: true\n", ""), encoding="utf-8")
    # built after the update was posted (a page shows only what was public at the build's `now`)
    after_update = datetime.fromisoformat("2025-10-26T12:15:00+09:00")
    published = build_site(sample_repo, tmp_path / "published", after_update)
    assert f"incident {NEW_ID}" not in published.drafts_skipped
    page = next(published.out.rglob(f"{NEW_ID}/index.html")).read_text(encoding="utf-8")
    assert "9 s" in page or "9초" in page


def test_build_prints_the_drafts_it_skipped(sample_repo):
    assert new_incident(sample_repo).exit_code == 0
    result = run("build", "--root", str(sample_repo), "--now", NOW, "--out", str(sample_repo / "public"))
    assert result.exit_code == 0, result.output
    assert f"skipped draft: incident {NEW_ID}" in result.output


def test_update_keeps_comments_and_layout_of_the_rest_of_the_file(sample_repo):
    path = sample_repo / SAMPLE_INCIDENT
    original = path.read_text(encoding="utf-8").replace("tickets: [CS-20251002-0042]",
                                                       "tickets: [CS-20251002-0042]   # synced from the portal")
    original = original.replace("rca: 2025-10-02-kr-ingest-latency\n", "")
    original = original.replace("resolved_at: 2025-10-02T11:26:00+09:00\n", "")
    original = original.rsplit("  - at: 2025-10-02T11:26:00+09:00", 1)[0]
    path.write_text(original, encoding="utf-8")
    result = run("update", "2025-10-02-kr-ingest-latency", "--root", str(sample_repo),
                 "--now", "2025-10-02T11:26:00+09:00", "--status", "resolved", "--macro", "resolved",
                 "--var", "rca_link=https://status.example.com/rca/2025-10-02-kr-ingest-latency/")
    assert result.exit_code == 0, result.output
    updated = path.read_text(encoding="utf-8")
    detected = "detected_at: 2025-10-02T10:14:00+09:00\n"
    expected_head = original.replace(detected, detected + "resolved_at: 2025-10-02T11:26+09:00\n")
    assert updated.startswith(expected_head)  # every byte before, comments included, as it was
    assert updated[len(expected_head):].startswith("  - at: 2025-10-02T11:26+09:00\n    status: resolved\n")
    incident = next(i for i in load_content(sample_repo).repository.incidents if i.id == "2025-10-02-kr-ingest-latency")
    assert incident.resolved_at.isoformat() == "2025-10-02T11:26:00+09:00"
    assert incident.updates[-1].text.en.startswith("Issue mitigated and verified via synthetic checks.")


def test_an_update_that_would_not_validate_leaves_the_file_byte_for_byte(sample_repo):
    path = sample_repo / SAMPLE_INCIDENT
    before = path.read_bytes()
    result = run("update", "2025-10-02-kr-ingest-latency", "--root", str(sample_repo),
                 "--now", "2025-10-02T11:30:00+09:00", "--status", "monitoring", "--macro", "progress",
                 "--next", "30m", "--var", "value=3 s")
    assert result.exit_code == 1
    assert "expected the last update of a resolved incident to be 'resolved'" in result.output
    assert path.read_bytes() == before


def test_an_update_of_a_published_incident_needs_every_variable(sample_repo):
    path = sample_repo / SAMPLE_INCIDENT
    before = path.read_bytes()
    result = run("update", "2025-10-02-kr-ingest-latency", "--root", str(sample_repo), "--now", NOW,
                 "--status", "monitoring", "--macro", "progress", "--next", "30m")
    assert result.exit_code == 1
    assert "templates/macros/progress.ko.txt needs value: pass --var value=..." in result.output
    assert path.read_bytes() == before


def test_rca_new_writes_three_drafts_with_the_incidents_facts(sample_repo):
    result = run("rca", "new", "2025-10-15-jp-search-false-positive", "--root", str(sample_repo), "--now", NOW)
    assert result.exit_code == 0, result.output
    rcas = {r.lang: r for r in load_content(sample_repo).repository.rcas
            if r.id == "2025-10-15-jp-search-false-positive"}
    assert set(rcas) == {"ko", "ja", "en"}
    assert all(r.draft for r in rcas.values())
    en = rcas["en"].body
    for heading in ("Overview", "Cause", "Mitigation and recovery", "Prevention", "Evidence", "Contact"):
        assert f"## {heading}\n" in en
    assert "Wed, Oct 15, 2025 14:05 JST (05:05 UTC) ~ Thu, Oct 16, 2025 16:40 JST (07:40 UTC) (1595 minutes)" in en
    assert "Share of search results flagged as false positives: 1.8 % (usual 0.1 %)" in en
    assert "Search (jp-search, degraded performance)" in en
    assert "[JP search quality dashboard](https://grafana.example.com/d/jp-search-quality)" in en
    assert "## 緩和と復旧" in rcas["ja"].body and "**恒久対応**" in rcas["ja"].body
    # The drafts do not fail check; published as they are, they would.
    assert run("check", "--root", str(sample_repo), "--now", NOW).exit_code == 0


def test_an_rca_draft_published_unfilled_is_refused_by_check(sample_repo):
    assert run("rca", "new", "2025-10-15-jp-search-false-positive", "--root", str(sample_repo), "--now", NOW).exit_code == 0
    path = sample_repo / "rca/2025-10-15-jp-search-false-positive.en.md"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("draft:")), encoding="utf-8")
    for lang in ("ko", "ja"):
        other = sample_repo / f"rca/2025-10-15-jp-search-false-positive.{lang}.md"
        other.write_text("".join(l for l in other.read_text(encoding="utf-8").splitlines(keepends=True)
                                 if not l.startswith("draft:")), encoding="utf-8")
    result = run("check", "--root", str(sample_repo), "--now", NOW)
    assert result.exit_code == 1
    assert "rca/2025-10-15-jp-search-false-positive.en.md:" in result.output
    assert "unfilled placeholder {direct_cause}" in result.output
    assert "expected a due date ('due YYYY-MM-DD') for the permanent action" in result.output


def test_rca_new_refuses_to_overwrite(sample_repo):
    result = run("rca", "new", "2025-10-02-kr-ingest-latency", "--root", str(sample_repo), "--now", NOW)
    assert result.exit_code == 1
    assert "already exist" in result.output


def test_update_appends_to_the_updates_list_even_when_other_fields_follow_it(sample_repo):
    assert new_incident(sample_repo).exit_code == 0
    path = sample_repo / NEW_FILE
    path.write_text(path.read_text(encoding="utf-8") + "# reviewed by: CS lead\nsummary:\n  ko: 요약\n  ja: 概要\n  en: Summary\n",
                    encoding="utf-8")
    result = run("update", NEW_ID, "--root", str(sample_repo), "--now", "2025-10-26T12:10:00+09:00",
                 "--status", "monitoring", "--macro", "progress", "--next", "30m", "--var", "value=5 s")
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert text.endswith("# reviewed by: CS lead\nsummary:\n  ko: 요약\n  ja: 概要\n  en: Summary\n")
    incident = next(i for i in load_content(sample_repo).repository.incidents if i.id == NEW_ID)
    assert [u.status.value for u in incident.updates] == ["investigating", "monitoring"]
    assert incident.summary.en == "Summary"


def test_a_promised_next_update_in_the_text_sets_the_field(sample_repo):
    from click.testing import CliRunner

    from generator.cli import main

    result = CliRunner().invoke(main, [
        "new", "incident", "--root", str(sample_repo), "--region", "KR", "--severity", "S2",
        "--component", "kr-api", "--detected", "2026-03-02T10:14:00+09:00", "--ticket", "CS-1",
        "--slug", "api-errors", "--now", "2026-03-02T10:20:00+09:00",
        "--var", "metric=API 5xx", "--var", "value=4 %", "--var", "next_update=2026-03-02T10:45:00+09:00"])
    assert result.exit_code == 0, result.output
    text = (sample_repo / "incidents/2026/2026-03-02-kr-api-errors.yaml").read_text(encoding="utf-8")
    assert "next_update_at: 2026-03-02T10:45+09:00" in text
    assert "10:45 KST" in text


# --- the on-call path, as a user runs it (issue 16) -------------------------------------------------------


def test_customer_texts_carry_no_raw_url_and_titles_name_the_service_once(sample_repo):
    assert new_incident(sample_repo).exit_code == 0
    data = yaml.safe_load((sample_repo / NEW_FILE).read_text(encoding="utf-8"))
    for text in data["updates"][0]["text"].values():
        assert "://" not in text
    assert "see the evidence links on this page" in data["updates"][0]["text"]["en"]
    assert data["evidence"][0]["url"] == "https://grafana.example.com/d/kr-ingest-latency"  # the link stays a field
    assert data["title"] == {"ko": "[KR] 장애: 수집→인시던트 p95 지연", "ja": "[KR] 障害: 取り込み→インシデント p95 遅延",
                             "en": "[KR] Incident: Ingest→incident p95 latency"}


def test_a_slug_that_collides_says_to_choose_another_slug(sample_repo):
    result = new_incident(sample_repo, "--detected", "2025-10-02T10:14:00+09:00")
    assert result.exit_code == 1
    assert ("incidents/2025/2025-10-02-kr-ingest-latency.yaml already exists (incident 2025-10-02-kr-ingest-latency); "
            "choose another --slug") in result.output


def test_a_promised_next_update_already_past_is_refused_and_nothing_is_written(sample_repo):
    result = new_incident(sample_repo, "--var", "next_update=2025-10-26T11:50:00+09:00")
    assert result.exit_code == 1
    assert "--var next_update=2025-10-26T11:50:00+09:00 is not after this update (2025-10-26T12:00:00+09:00); " \
           "pass a later time or --next 30m" in result.output
    assert not (sample_repo / NEW_FILE).exists()


def test_an_invalid_new_incident_says_nothing_was_written(sample_repo):
    result = new_incident(sample_repo, "--slug", "x" * 130)  # an id is at most 120 characters
    assert result.exit_code == 1
    assert "the result would not validate; nothing was written" in result.output
    assert "left as it was" not in result.output
    assert not list(sample_repo.glob("incidents/2025/*xxxx*"))


def test_times_from_the_clock_are_written_in_the_region_offset_to_whole_seconds(sample_repo):
    # No --now and no --detected: the real clock, as during an outage.
    created = run("new", "incident", "--root", str(sample_repo), "--region", "KR", "--severity", "S2",
                  "--component", "ingest", "--ticket", "CS-1", "--slug", "clock-check",
                  "--var", "metric=p95", "--var", "value=18 s")
    assert created.exit_code == 0, created.output
    [path] = sample_repo.glob("incidents/*/*-kr-clock-check.yaml")
    updated = run("update", "kr-clock-check", "--root", str(sample_repo), "--status", "identified",
                  "--var", "value=12 s")
    assert updated.exit_code == 0, updated.output
    assert f"appended an update with status `identified` (ko/ja/en) to" in updated.output
    written = re.findall(r"^\s*(?:- )?(?:at|detected_at|next_update_at): (\S+)$", path.read_text(encoding="utf-8"),
                         re.MULTILINE)
    assert len(written) == 5  # detected_at, two updates with their next_update_at
    for moment in written:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?\+09:00", moment), moment


def test_update_chooses_the_macro_from_the_status(sample_repo):
    assert new_incident(sample_repo).exit_code == 0
    path = sample_repo / NEW_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("draft: true\n", ""), encoding="utf-8")
    steps = [("2025-10-26T12:10:00+09:00", "identified", ["--var", "value=9 s"]),
             ("2025-10-26T12:20:00+09:00", "monitoring", ["--var", "value=3 s"]),
             ("2025-10-26T12:30:00+09:00", "resolved", [])]
    for now, status, extra in steps:
        result = run("update", NEW_ID, "--root", str(sample_repo), "--now", now, "--status", status, *extra)
        assert result.exit_code == 0, result.output
    incident = next(i for i in load_content(sample_repo).repository.incidents if i.id == NEW_ID)
    identified, monitoring, resolved = incident.updates[1:]
    assert identified.text.en.startswith("Progress on KR Ingest:")
    assert identified.next_update_at.isoformat() == "2025-10-26T13:10:00+09:00"  # S2 cadence, 60 min
    assert monitoring.text.en.startswith("A mitigation for KR Ingest was applied")
    # No RCA yet: the resolved text promises one instead of demanding its link.
    assert "will be documented in the RCA" in resolved.text.en and resolved.next_update_at is None
    assert incident.resolved_at.isoformat() == "2025-10-26T12:30:00+09:00"
    assert run("check", "--root", str(sample_repo), "--now", "2025-10-26T12:30:00+09:00").exit_code == 0


def test_a_resolved_update_links_the_rca_once_the_incident_has_one(sample_repo):
    path = sample_repo / SAMPLE_INCIDENT
    original = path.read_text(encoding="utf-8").replace("resolved_at: 2025-10-02T11:26:00+09:00\n", "")
    path.write_text(original.rsplit("  - at: 2025-10-02T11:26:00+09:00", 1)[0], encoding="utf-8")
    result = run("update", "2025-10-02-kr-ingest-latency", "--root", str(sample_repo),
                 "--now", "2025-10-02T11:26:00+09:00", "--status", "resolved")
    assert result.exit_code == 0, result.output
    incident = next(i for i in load_content(sample_repo).repository.incidents if i.id == "2025-10-02-kr-ingest-latency")
    assert "documented here: https://status.example.com/en/rca/2025-10-02-kr-ingest-latency/" in incident.updates[-1].text.en


def test_check_lists_drafts_as_warnings_on_stdout_and_errors_on_stderr(sample_repo):
    assert new_incident(sample_repo).exit_code == 0
    result = run("check", "--root", str(sample_repo), "--now", NOW)
    assert result.exit_code == 0
    assert f"{NEW_FILE}:5: warning: draft: checked but not published" in result.stdout
    assert "ok: all content is valid (1 warning(s))" in result.stdout
    assert result.stderr == ""
    path = sample_repo / NEW_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("severity: S2", "severity: S9"), encoding="utf-8")
    failed = run("check", "--root", str(sample_repo), "--now", NOW)
    assert failed.exit_code == 1
    assert "severity: expected one of S1, S2, S3 or S4" in failed.stderr and "severity" not in failed.stdout


def test_an_overdue_update_is_reported_as_a_human_duration(sample_repo):
    assert new_incident(sample_repo).exit_code == 0
    path = sample_repo / NEW_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("draft: true\n", ""), encoding="utf-8")
    result = run("check", "--root", str(sample_repo), "--now", "2025-11-02T17:00:00+09:00")
    assert result.exit_code == 0, result.output
    assert f"next update of {NEW_ID} (S2 KR) is 7 d 4 h overdue:" in result.stdout


def test_rca_new_from_the_clock_writes_published_at_in_the_region_offset(sample_repo):
    result = run("rca", "new", "2025-10-15-jp-search-false-positive", "--root", str(sample_repo))
    assert result.exit_code == 0, result.output
    text = (sample_repo / "rca/2025-10-15-jp-search-false-positive.en.md").read_text(encoding="utf-8")
    [published] = re.findall(r"^published_at: (\S+)$", text, re.MULTILINE)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?\+09:00", published), published
