"""Benchmark: the monthly SLA report of N synthetic tickets created in one month (100,000 and 1,000,000).

Run from the repository root: `PYTHONPATH=. python bench/report.py -n 100000 [-n 1000000] [--runs 3]
[--seed 7] [--format html] [--before DIR]`. Prints, per run, the wall time of each stage (read + validate the JSONL
export, evaluate + aggregate, render), the CPU time of the whole (steadier than wall time on a shared machine) and
the peak memory (max RSS of the measuring process, a fresh one per run,
which reads an export generated beforehand), then the median of the runs.

`--before DIR` measures another checkout too (e.g. `git archive <commit> | tar -x -C DIR`), alternating runs
with this one, so that a loaded machine weighs on both alike. The export of each size is generated once and kept
in `--data` (default: the system's temporary directory) for later runs.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.fromisoformat("2025-11-20T12:00:00+09:00")


def measure(export: Path, count: int, fmt: str) -> None:
    """The timed run, in a fresh process (its max RSS is the report's alone); prints one JSON line of figures."""
    from generator.content.load import load_repository
    from generator.report import monthly, tickets
    from generator.report.render import render_report

    repository = load_repository(ROOT)
    regions = [r.id for r in repository.config.regions]
    month = monthly.Month(2025, 10)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    if hasattr(monthly, "MonthFold"):  # streaming: reading and evaluating alternate, chunk by chunk
        problems: list = []
        fold = monthly.MonthFold(repository.config, month, NOW)
        evaluating = 0.0
        for chunk in tickets.ticket_chunks([export], regions, problems):
            started = time.perf_counter()
            fold.add(chunk)
            evaluating += time.perf_counter() - started
        started = time.perf_counter()
        report = fold.report(repository)
        evaluating += time.perf_counter() - started
        t2 = time.perf_counter()
        t1 = t2 - evaluating
    else:  # the per-ticket report of before: every ticket read, then evaluated
        imported = tickets.read_tickets([export], regions)
        problems = list(imported.problems)
        t1 = time.perf_counter()
        report = monthly.monthly_report(imported.tickets, repository, month, NOW)
        t2 = time.perf_counter()
    text = render_report(report, repository.config, "en", fmt)
    t3 = time.perf_counter()
    assert not problems and report.overall.tickets == count, (len(problems), report.overall.tickets)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"read": t1 - t0, "evaluate": t2 - t1, "render": t3 - t2, "total": t3 - t0,
                      "cpu": usage.ru_utime + usage.ru_stime - cpu0, "rss_mb": usage.ru_maxrss / 1e3,
                      "breaches": len(report.breaches), "mb": len(text) / 1e6}))


def export_of(count: int, seed: int, data: Path) -> Path:
    """The JSONL export of `count` tickets, generated once (one row at a time: a million rows fit any memory)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from make_sample_tickets import streamed_tickets

    from generator.content.load import load_repository

    path = data / f"statusgen-report-{count}-{seed}.jsonl"
    if path.exists():
        return path
    started = time.perf_counter()
    config = load_repository(ROOT).config
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for row in streamed_tickets(config, count, seed):
            out.write(json.dumps(row) + "\n")
    partial.rename(path)
    print(f"generated {count:,} tickets of October 2025 in {time.perf_counter() - started:.0f} s "
          f"({path.stat().st_size / 1e6:.0f} MB JSONL, kept as {path}; not timed)", flush=True)
    return path


def run(code: Path, export: Path, count: int, fmt: str) -> dict:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", str(export), "-n", str(count),
                           "--format", fmt], env={**os.environ, "PYTHONPATH": str(code)}, cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(label: str, figures: dict) -> str:
    return (f"{label:<14} read {figures['read']:6.2f} s  evaluate {figures['evaluate']:6.2f} s  render "
            f"{figures['render']:6.2f} s  total {figures['total']:6.2f} s (CPU {figures['cpu']:6.2f} s)  peak {figures['rss_mb']:5.0f} MB max RSS  "
            f"({figures['breaches']:,} breaches, {figures['mb']:.1f} MB output)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--tickets", type=int, action="append", help="tickets (repeat for several sizes); "
                        "default 100000")
    parser.add_argument("--runs", type=int, default=1, help="runs per size (and per checkout); the median is shown")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", default="html", choices=["md", "json", "html"])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--before", type=Path, default=None, help="another checkout to measure alternately")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.tickets or [100_000]
    if args.measure:
        sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)).split(os.pathsep)[0])
        measure(args.measure, sizes[0], args.format)
        return
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start (other work on the machine "
          f"inflates every figure)", flush=True)
    codes = [("this checkout", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    for count in sizes:
        export = export_of(count, args.seed, args.data)
        results: dict[str, list[dict]] = {label: [] for label, _ in codes}
        for attempt in range(args.runs):
            for label, code in (codes if attempt % 2 == 0 else codes[::-1]):  # alternate which goes first
                figures = run(code, export, count, args.format)
                results[label].append(figures)
                print(show(label, figures), flush=True)
        for label, runs in results.items():
            median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            print(f"median of {len(runs)}, {count:,} tickets: " + show(label, median), flush=True)


if __name__ == "__main__":
    main()
