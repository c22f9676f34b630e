"""`statusgen report`: bad rows as path:line: field: ..., --skip-invalid, formats, and the private output."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from conftest import PROJECT
from generator.cli import main
from generator.report.tickets import read_tickets

GOOD = ('{"id": "CS-1", "severity": "S2", "tenant": "acme-kr", "region": "KR", "category": "incident", '
        '"purpose": "API errors", "evidence_uri": ["https://grafana.example.com/d/x"], '
        '"created_at": "2025-10-06T10:00:00+09:00", "first_public_reply_at": "2025-10-06T10:10:00+09:00", '
        '"resolved_at": "2025-10-06T10:50:00+09:00", "csat": 5}')
CSV_HEADER = ("id,severity,tenant,region,category,purpose,evidence_uri,created_at,owner_assigned_at,"
              "first_public_reply_at,public_replies_at,waiting_on_customer,resolved_at,closed_at,csat,incident_id\n")
CSV_GOOD = ("CS-10,S3,sakura-retail,JP,fp/miss,False positive,https://grafana.example.com/d/a|https://docs.example.com/b,"
            "2025-10-14T10:00:00+09:00,2025-10-14T10:05:00+09:00,2025-10-14T11:00:00+09:00,2025-10-14T15:00:00+09:00,"
            "2025-10-14T15:00:00+09:00/2025-10-15T10:00:00+09:00,2025-10-15T12:00:00+09:00,,4,\n")


def jsonl_with_every_bad_row(tmp_path: Path) -> Path:
    good = json.loads(GOOD)

    def variant(**changes):
        return json.dumps({**good, **changes})

    lines = [
        GOOD,                                                           # 1 good
        '{"id": "CS-2", "severity": "S2",',                             # 2 JSON syntax
        variant(id="CS-3", priority="high"),                            # 3 unknown field
        variant(id="CS-4", severity="P1"),                              # 4 bad enum
        variant(id="CS-5", created_at="2025-10-06T10:00:00"),           # 5 naive time
        variant(id="CS-6", region="US"),                                # 6 unknown region
        variant(),                                                      # 7 duplicate id CS-1
        variant(id="CS-8", category="sales"),                           # 8 bad category
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_kind_of_bad_jsonl_row_is_reported_with_path_line_and_field(tmp_path):
    path = jsonl_with_every_bad_row(tmp_path)
    imported = read_tickets([path], ["KR", "JP"])
    assert [t.id for t in imported.tickets] == ["CS-1"]
    found = {(p.line, p.field): p.message for p in imported.problems}
    assert all(p.path == str(path) for p in imported.problems)
    assert set(found) == {(2, ""), (3, "priority"), (4, "severity"), (5, "created_at"), (6, "region"), (7, "id"),
                          (8, "category")}
    assert found[(2, "")].startswith("expected one JSON object per line, got invalid JSON")
    assert found[(3, "priority")].startswith("unknown field")
    assert "S1" in found[(4, "severity")] and "'P1'" in found[(4, "severity")]
    assert "naive" in found[(5, "created_at")]
    assert found[(6, "region")] == "expected one of JP, KR (the regions in status.yaml), got 'US'"
    assert found[(7, "id")] == f"expected a unique ticket id, got 'CS-1' already at {path}:1"


def test_bad_csv_cells_are_reported_with_the_csv_line(tmp_path):
    path = tmp_path / "export.csv"
    bad_csat = CSV_GOOD.replace("CS-10", "CS-11").replace(",4,\n", ",five,\n")
    bad_interval = CSV_GOOD.replace("CS-10", "CS-12").replace("2025-10-14T15:00:00+09:00/", "yesterday/")
    path.write_text(CSV_HEADER + CSV_GOOD + bad_csat + bad_interval, encoding="utf-8")
    imported = read_tickets([path], ["KR", "JP"])
    [good] = imported.tickets
    assert good.evidence_uri == ["https://grafana.example.com/d/a", "https://docs.example.com/b"]
    assert len(good.waiting_on_customer) == 1 and good.csat == 4
    assert [(p.line, p.field) for p in imported.problems] == [(3, "csat"), (4, "waiting_on_customer[0].start")]
    assert all(str(p).startswith(f"{path}:") for p in imported.problems)


def run(*args: str):
    return CliRunner().invoke(main, ["report", "--root", str(PROJECT), "--now", "2025-11-20T12:00+09:00", *args])


def test_any_bad_row_fails_the_run_and_prints_every_one(tmp_path):
    path = jsonl_with_every_bad_row(tmp_path)
    result = run("--month", "2025-10", "--tickets", str(path))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert len(lines) == 7
    assert f"{path}:6: region: expected one of JP, KR" in result.stderr
    assert "nothing reported" in result.stderr and "# Monthly SLA report" not in result.stdout


def test_skip_invalid_reports_the_good_rows_and_lists_the_bad_ones(tmp_path):
    path = jsonl_with_every_bad_row(tmp_path)
    result = run("--month", "2025-10", "--tickets", str(path), "--skip-invalid", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["overall"]["tickets"] == 1 and data["tenants"]["acme-kr"]["tickets"] == 1
    assert len(data["skipped_rows"]) == 7 and data["skipped_rows"][0].startswith(f"{path}:2: ")
    assert sum(line.startswith(f"{path}:") for line in result.stderr.splitlines()) == 7
    assert "7 bad row(s) left out" in result.stderr


def test_several_exports_jsonl_and_csv_in_one_report(tmp_path):
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(GOOD + "\n", encoding="utf-8")
    csv_file = tmp_path / "b.csv"
    csv_file.write_text(CSV_HEADER + CSV_GOOD, encoding="utf-8")
    result = run("--month", "2025-10", "--tickets", str(jsonl), "--tickets", str(csv_file), "--format", "json")
    data = json.loads(result.stdout)
    assert {k: v["tickets"] for k, v in data["regions"].items()} == {"KR": 1, "JP": 1}


def test_the_report_is_in_the_language_asked_for(tmp_path):
    for lang, words in {"ko": ("SLA 월간 보고서", "2025년 10월", "KST"), "ja": ("SLA 月次レポート", "2025年10月", "UTC"),
                        "en": ("Monthly SLA report", "October 2025", "UTC")}.items():
        result = run("--month", "2025-10", "--lang", lang)
        assert result.exit_code == 0, result.output
        assert all(word in result.stdout for word in words), lang


def test_out_inside_the_public_site_is_refused(tmp_path):
    for inside in (PROJECT / "public", PROJECT / "public" / "reports", PROJECT / "site" / "x"):
        result = run("--month", "2025-10", "--out", str(inside))
        assert result.exit_code == 2 and "private" in result.output
    assert not (PROJECT / "public" / "reports").exists() and not (PROJECT / "site" / "x").exists()


def test_out_writes_one_file_per_language_and_format(tmp_path):
    result = run("--month", "2025-10", "--format", "html", "--lang", "ko", "--out", str(tmp_path / "reports"))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "reports" / "sla-report-2025-10.ko.html").read_text(encoding="utf-8")
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 2
    assert '<html lang="ko">' in page and "<script" not in page


def test_runs_out_of_the_box_in_the_repository_root():
    done = subprocess.run([sys.executable, "-m", "generator", "report", "--month", "2025-10"], cwd=PROJECT,
                          capture_output=True, text=True, env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Monthly SLA report · October 2025") and "## Breaches" in done.stdout


def test_line_numbers_count_every_line_boundary_of_the_text(tmp_path):
    """The export is read a line at a time; a bad row is still named by its line in `text.splitlines()`:
    \r\n is one boundary, a form feed or a lone \r another, and a BOM is no character."""
    bad = GOOD.replace('"CS-1"', '"CS-9"').replace('"S2"', '"P1"')
    text = "\ufeff" + GOOD + "\r\n" + "\x0c\n" + bad.replace('"CS-9"', '"CS-7"') + "\r" + bad + "\n"
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(text.encode("utf-8"))
    expected = [n for n, line in enumerate(text[1:].splitlines(), start=1) if '"P1"' in line]
    imported = read_tickets([path], ["KR", "JP"])
    assert [t.id for t in imported.tickets] == ["CS-1"]
    assert sorted({p.line for p in imported.problems}) == expected == [4, 5]


def test_a_file_that_is_not_utf8_half_way_contributes_no_row(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_bytes((GOOD + "\n").encode() * 3 + b"\xff\n")
    imported = read_tickets([path], ["KR", "JP"])
    assert imported.tickets == ()
    assert [str(p) for p in imported.problems] == [
        f"{path}:1: expected a readable UTF-8 file, got 'utf-8' codec can't decode byte 0xff in position "
        f"{3 * (len(GOOD) + 1)}: invalid start byte"]


def _report_on(tmp_path: Path, export: Path, terminal: bool) -> tuple[str, str]:
    """`statusgen report` in a child process, its stderr a pseudo-terminal or a pipe: (stdout, stderr)."""
    import os
    import pty
    import threading

    command = [sys.executable, "-m", "generator", "report", "--root", str(PROJECT), "--month", "2025-10",
               "--now", "2025-11-20T12:00+09:00", "--format", "json", "--tickets", str(export)]
    env = {"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin", "TERM": "xterm", "COLUMNS": "100"}
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout, done.stderr
    parent, child = pty.openpty()
    seen = bytearray()

    def drain():  # the bar is redrawn several times a second: read it while the report runs
        while True:
            try:
                data = os.read(parent, 4096)
            except OSError:
                return
            if not data:
                return
            seen.extend(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=child, env=env, cwd=tmp_path)
    os.close(child)
    reader.join(timeout=10)
    os.close(parent)
    assert done.returncode == 0, seen.decode(errors="replace")
    return done.stdout.decode(), seen.decode(errors="replace")


def test_a_progress_bar_on_a_terminal_only_and_for_big_exports_only(tmp_path):
    from generator.cli import PROGRESS_MIN_BYTES

    big = tmp_path / "big.jsonl"
    copies = PROGRESS_MIN_BYTES // len(GOOD) + 1
    big.write_text("".join(GOOD.replace('"CS-1"', f'"CS-{n}"') + "\n" for n in range(copies)), encoding="utf-8")
    small = tmp_path / "small.jsonl"
    small.write_text(GOOD + "\n", encoding="utf-8")
    on_terminal, bar = _report_on(tmp_path, big, terminal=True)
    assert "reading tickets" in bar and "MB" in bar
    piped, nothing = _report_on(tmp_path, big, terminal=False)
    assert nothing == "" and piped == on_terminal and json.loads(piped)["overall"]["tickets"] == copies
    _, quiet = _report_on(tmp_path, small, terminal=True)
    assert "reading" not in quiet
