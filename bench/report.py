"""Benchmark: the monthly SLA report of 100,000 synthetic tickets created in one month.

Run from the repository root: `PYTHONPATH=. python bench/report.py [--tickets 100000] [--seed 7] [--format html]`.
Prints the wall time of each stage (read + validate the JSONL export, evaluate + aggregate, render) and the
peak memory (max RSS of the measuring process, which reads the export the parent generated).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generator.content.load import load_repository  # noqa: E402
from generator.report.monthly import Month, monthly_report  # noqa: E402
from generator.report.render import render_report  # noqa: E402
from generator.report.tickets import read_tickets  # noqa: E402
from make_sample_tickets import synthetic_tickets  # noqa: E402

NOW = datetime.fromisoformat("2025-11-20T12:00:00+09:00")


def measure(export: Path, count: int, fmt: str) -> None:
    """The timed run, in a fresh process so that its max RSS is the report's alone."""
    repository = load_repository(ROOT)
    t0 = time.perf_counter()
    imported = read_tickets([export], [r.id for r in repository.config.regions])
    t1 = time.perf_counter()
    report = monthly_report(imported.tickets, repository, Month(2025, 10), NOW)
    t2 = time.perf_counter()
    text = render_report(report, repository.config, "en", fmt)
    t3 = time.perf_counter()
    assert not imported.problems and report.overall.tickets == count
    print(f"read + validate  {t1 - t0:6.2f} s")
    print(f"evaluate + group {t2 - t1:6.2f} s  ({1e6 * (t2 - t1) / count:.0f} µs per ticket)")
    print(f"render {fmt:<9} {t3 - t2:6.2f} s  ({len(text) / 1e6:.1f} MB, {len(report.breaches):,} breaches)")
    print(f"total            {t3 - t0:6.2f} s")
    print(f"peak memory      {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:6.0f} MB max RSS "
          f"(whole process, Python and libraries included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", default="html", choices=["md", "json", "html"])
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.tickets, args.format)
        return
    config = load_repository(ROOT).config
    started = time.perf_counter()
    rows = synthetic_tickets(config, args.tickets, args.seed, sample_extras=False)
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "tickets.jsonl"
        export.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        print(f"generated {args.tickets:,} tickets of October 2025 in {time.perf_counter() - started:.1f} s "
              f"({export.stat().st_size / 1e6:.1f} MB JSONL; not timed below)", flush=True)
        subprocess.run([sys.executable, __file__, "--measure", str(export), "--tickets", str(args.tickets),
                        "--format", args.format], check=True)


if __name__ == "__main__":
    main()
