"""Benchmark of `statusgen check`: N synthetic incidents (bench/build.py's generator), cold and warm.

Runs the real command line in a child process and prints, for each run, the wall time, the CPU time
(user + system of the child) and its peak memory:
- cold: no `.statusgen-cache/` (every file parsed, validated and scanned by the guardrail);
- warm: the same content again (each file's verdict from the stat index: no file is read);
- one change: one incident gets an update appended, then check again (that file alone is read and judged;
  the checks across files and the time-dependent ones run as always).

    python bench/check.py [-n 10000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import NOW, PROJECT, append_update, make_repo  # noqa: E402  (bench/build.py, beside this file)

CACHE_DIR = ".statusgen-cache"
CLI = "import sys; from generator.cli import main; sys.exit(main())"


def run_check(repo: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one `statusgen check` in a child process; `wait4` gives that child's
    own resource use (RUSAGE_CHILDREN would report the largest of all children so far as the peak)."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CLI, "check", "--root", str(repo), "--now", NOW.isoformat()],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=PROJECT, env=_env())
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        # drain the pipes while waiting: a check with many problems fills them
        pumps = [threading.Thread(target=shutil.copyfileobj, args=(pipe, sink)) for pipe, sink in
                 ((child.stdout, out), (child.stderr, err))]
        for pump in pumps:
            pump.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        for pump in pumps:
            pump.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            out.seek(0)
            err.seek(0)
            sys.exit(f"check failed ({child.returncode}):\n{out.read()[-2000:].decode()}\n{err.read()[-2000:].decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _env() -> dict[str, str]:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env.pop("CI", None)
    return env


def line(name: str, runs: list[tuple[float, float, float]]) -> str:
    walls = [r[0] for r in runs]
    cpus = [r[1] for r in runs]
    return (f"{name}: wall median {statistics.median(walls):.2f} s (runs: {', '.join(f'{w:.2f}' for w in walls)}), "
            f"CPU median {statistics.median(cpus):.2f} s, peak RSS {max(r[2] for r in runs):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10000, help="incidents (default 10000)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="statusgen-bench-check-"))
    try:
        t0 = time.perf_counter()
        repo = make_repo(work, args.n)
        print(f"generated {args.n} incidents x 3 languages in {time.perf_counter() - t0:.2f} s")
        cold, warm, changed = [], [], []
        for round_ in range(args.repeat):
            shutil.rmtree(repo / CACHE_DIR, ignore_errors=True)
            cold.append(run_check(repo))
            warm.append(run_check(repo))
            append_update(repo, round_)
            changed.append(run_check(repo))
        print(line("cold check (no cache)", cold))
        print(line("warm check (nothing changed)", warm))
        print(line("warm check after one incident changed", changed))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
