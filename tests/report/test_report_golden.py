"""The shipped sample's report, byte for byte: any change to the evaluation or the rendering shows up here.

The files under golden/ were written by `statusgen report` on the sample export; regenerate them only for an
intended change of the output (and say so in the commit)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PROJECT, at
from generator.content.load import load_repository
from generator.report.monthly import Month, monthly_report
from generator.report.render import render_report
from generator.report.tickets import read_tickets

GOLDEN = Path(__file__).parent / "golden"
CASES = [(lang, fmt, "2025-11-20T12:00+09:00", f"sla-report-2025-10.{lang}.{fmt}")
         for lang in ("en", "ko", "ja") for fmt in ("md", "html")]
CASES += [("en", "json", "2025-11-20T12:00+09:00", "sla-report-2025-10.json"),
          ("en", "json", "2025-10-17T15:00+09:00", "sla-report-2025-10.as-of-2025-10-17.json")]


@pytest.fixture(scope="module")
def sample():
    repository = load_repository(PROJECT)
    imported = read_tickets([PROJECT / "tickets" / "sample-2025-10.jsonl"], ["KR", "JP"])
    assert imported.problems == ()
    return repository, imported.tickets


@pytest.mark.parametrize("lang, fmt, now, name", CASES, ids=[c[3] for c in CASES])
def test_the_sample_report_is_byte_identical(sample, lang, fmt, now, name):
    repository, tickets = sample
    report = monthly_report(tickets, repository, Month(2025, 10), at(now))
    assert render_report(report, repository.config, lang, fmt) == (GOLDEN / name).read_text(encoding="utf-8")
