"""`statusgen sla` and the SLA rules of `statusgen check`, run on real files in a tmp copy of the sample."""
from __future__ import annotations

import json
import re

from click.testing import CliRunner

from generator.cli import main

MAINTENANCE = "maintenance/2025/2025-10-25-jp-search-upgrade.yaml"
WORKED_EXAMPLE = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"


def run(*args):
    return CliRunner().invoke(main, list(args))


def line_of(path, prefix):
    return next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text.startswith(prefix))


def test_sla_json_prints_the_worked_example(content_copy):
    result = run("sla", "--root", str(content_copy), "--now", "2025-11-01T00:00:00+09:00", "--format", "json")
    assert result.exit_code == 0, result.output
    reports = {r["id"]: r for r in json.loads(result.output)}
    worked = reports["2025-10-02-kr-ingest-latency"]
    assert (worked["severity"], worked["region"]) == ("S2", "KR")
    metrics = worked["metrics"]
    assert metrics["first_response"]["elapsed_seconds"] == 360
    assert metrics["resolution"] == {
        "target": "8h", "due": "2025-10-02T18:14:00+09:00", "at": "2025-10-02T11:26:00+09:00",
        "elapsed_seconds": 4320, "status": "achieved",
    }
    assert metrics["rca_published"]["elapsed_seconds"] == 36 * 3600
    assert reports["2025-10-25-jp-search-upgrade"]["metrics"]["status_post"]["status"] == "achieved"


def test_sla_table_and_markdown(content_copy):
    table = run("sla", "--root", str(content_copy), "--now", "2025-11-01T00:00:00+09:00")
    assert table.exit_code == 0 and "update_cadence" in table.output and "0 breached" in table.output
    md = run("sla", "--root", str(content_copy), "--now", "2025-11-01T00:00:00+09:00", "--format", "md")
    assert md.output.startswith("| id | metric |")


def test_check_passes_on_the_sample(content_copy):
    result = run("check", "--root", str(content_copy), "--now", "2025-11-01T00:00:00+09:00")
    assert result.exit_code == 0, result.output


def test_check_fails_on_a_too_late_maintenance_announcement(content_copy):
    file = content_copy / MAINTENANCE
    # Window Sat 2025-10-25 02:00 JST; the latest announcement with 27 business hours of notice is
    # Wed 10-22 09:00 (Fri 10-24, Thu 10-23, Wed 10-22, 9 h each). 10:00 gives only 26 h.
    file.write_text(file.read_text(encoding="utf-8").replace(
        "announced_at: 2025-10-17T11:00:00+09:00", "announced_at: 2025-10-22T10:00:00+09:00"), encoding="utf-8")
    result = run("check", "--root", str(content_copy), "--now", "2025-10-22T12:00:00+09:00")
    assert result.exit_code == 1
    line = line_of(file, "announced_at:")
    assert f"{MAINTENANCE}:{line}: announced_at: expected the announcement at least 3d" in result.output
    assert "Wed, Oct 22, 2025 09:00 JST (00:00 UTC)" in result.output


def test_an_emergency_with_a_reason_may_be_announced_late(content_copy):
    file = content_copy / MAINTENANCE
    text = file.read_text(encoding="utf-8").replace(
        "announced_at: 2025-10-17T11:00:00+09:00",
        "announced_at: 2025-10-24T10:00:00+09:00\n"
        "emergency:\n  reason: {ko: 긴급 보안 패치, ja: 緊急セキュリティパッチ, en: Urgent security patch}")
    file.write_text(text, encoding="utf-8")
    result = run("check", "--root", str(content_copy), "--now", "2025-10-24T12:00:00+09:00")
    assert result.exit_code == 0, result.output


def test_a_late_announcement_of_a_past_window_is_a_fact_not_an_error(content_copy):
    file = content_copy / MAINTENANCE
    file.write_text(file.read_text(encoding="utf-8").replace(
        "announced_at: 2025-10-17T11:00:00+09:00", "announced_at: 2025-10-24T10:00:00+09:00"), encoding="utf-8")
    assert run("check", "--root", str(content_copy), "--now", "2025-11-01T00:00:00+09:00").exit_code == 0
    sla = json.loads(run("sla", "--root", str(content_copy), "--now", "2025-11-01T00:00:00+09:00",
                         "--format", "json").output)
    assert sla[-1]["metrics"]["status_post"]["status"] == "breached"


def _make_active(content_copy):
    """The worked example as it stood before 11:26: unresolved, last update 11:20 promising 11:50."""
    file = content_copy / WORKED_EXAMPLE
    text = file.read_text(encoding="utf-8")
    text = text.replace("resolved_at: 2025-10-02T11:26:00+09:00\n", "")
    text = text[: text.index("  - at: 2025-10-02T11:26:00+09:00")]
    file.write_text(text, encoding="utf-8")
    return file


def test_check_warns_when_the_next_update_is_due_within_5_minutes(content_copy):
    file = _make_active(content_copy)
    result = run("check", "--root", str(content_copy), "--now", "2025-10-02T11:46:00+09:00")
    assert result.exit_code == 0, result.output
    line = line_of(file, "    next_update_at: 2025-10-02T11:50")
    assert re.search(
        rf"{WORKED_EXAMPLE}:{line}: warning: updates\[3\]\.next_update_at: next update of "
        r"2025-10-02-kr-ingest-latency \(S2 KR\) is due in 4 min: Thu, Oct 2, 2025 11:50 KST \(02:50 UTC\)",
        result.output,
    ), result.output


def test_check_warns_when_the_next_update_is_overdue(content_copy):
    _make_active(content_copy)
    result = run("check", "--root", str(content_copy), "--now", "2025-10-02T12:05:00+09:00")
    assert result.exit_code == 0
    assert "is 15 min overdue" in result.output


def test_no_warning_while_the_next_update_is_far_off(content_copy):
    _make_active(content_copy)
    result = run("check", "--root", str(content_copy), "--now", "2025-10-02T11:30:00+09:00")
    assert "warning" not in result.output
