"""Benchmark of `statusgen build`: N synthetic incidents in ko/ja/en (~150 words each), cold and warm.

Each round builds in a child process (so the figures are its own): a cold full build (no
`.statusgen-cache/`), then one incident is changed (an update appended) and the site is rebuilt warm, into
the same output directory; then a new unresolved incident is opened (an outage begins) and the site is
rebuilt warm again.
Prints the wall and CPU time (the build process and its language workers) and peak memory of both, the
search index size (raw and gzip), the home page's weight (HTML + CSS + JS, raw and gzip), the size of
summary.json, and the time of each writer of the machine-readable outputs (Statuspage JSON, feeds,
calendar, badges) and of the uptime history, timed separately in another child process.

    python bench/build.py [-n 1000] [--repeat 3] [--keep DIR]
"""
from __future__ import annotations

import argparse
import gzip
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
WORDS = {
    "ko": "수집 지연 인시던트 검색 알림 콘솔 샤드 소비자 복구 완화 조치 확인 영향 범위 고객 지표 증가 정상 배포 모니터링".split(),
    "ja": "取り込み 遅延 インシデント 検索 通知 コンソール シャード コンシューマー 復旧 緩和 対応 確認 影響 範囲 指標 増加 正常 デプロイ 監視".split(),
    "en": "ingest latency incident search notification console shard consumer recovery mitigation action scope customer metric rise normal deploy monitoring error rate".split(),
}
HOME_BUDGET_GZIP = 70_000  # the home page's first load, HTML + CSS + JS (issue 13)
COMPONENTS = [f"{r}-{s}" for r in ("kr", "jp") for s in ("console", "api", "ingest", "search", "notifications")]


def words(rng: random.Random, lang: str, count: int) -> str:
    return " ".join(rng.choice(WORDS[lang]) for _ in range(count)) + "."


def texts(rng: random.Random, count: int, indent: str) -> str:
    return "".join(f"{indent}{lang}: {words(rng, lang, count)!s}\n" for lang in ("ko", "ja", "en"))


def write_incidents(repo: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    base = NOW - timedelta(days=400)
    for index in range(n):
        region = rng.choice(["KR", "JP"])
        offset = "+09:00"
        detected = (base + timedelta(minutes=rng.randrange(0, 399 * 24 * 60))).astimezone(
            timezone(timedelta(hours=9)))
        resolved = detected + timedelta(minutes=rng.randrange(20, 300))
        updates = []
        at = detected + timedelta(minutes=5)
        statuses = ["investigating", "identified", "monitoring", "resolved"]
        for step, status in enumerate(statuses):
            at = at if step == 0 else min(at + timedelta(minutes=rng.randrange(5, 30)), resolved)
            when = resolved if status == "resolved" else at
            updates.append(
                f"  - at: {when.isoformat()}\n    status: {status}\n    text:\n" + texts(rng, 30, "      "))
        component = rng.choice([c for c in COMPONENTS if c.startswith(region.lower())])
        (repo / "incidents" / f"bench-{index:05d}.yaml").write_text(
            f"id: bench-{index:05d}\nregion: {region}\nseverity: {rng.choice(['S1', 'S2', 'S3', 'S4'])}\n"
            f"impact: {rng.choice(['minor', 'major', 'critical'])}\n"
            f"title:\n" + texts(rng, 6, "  ") + "summary:\n" + texts(rng, 20, "  ")
            + f"components:\n  - id: {component}\n    status: partial_outage\n"
            f"detected_at: {detected.isoformat()}\nresolved_at: {resolved.isoformat()}\n"
            "updates:\n" + "".join(updates),
            encoding="utf-8",
        )



def append_update(repo: Path, round_: int, index: int = 0) -> Path:
    """Change one incident the way an engineer does: append an update (at its resolution time)."""
    file = repo / "incidents" / f"bench-{index:05d}.yaml"
    text = file.read_text(encoding="utf-8")
    resolved = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("resolved_at: "))
    rng = random.Random(round_)
    file.write_text(text + f"  - at: {resolved}\n    status: resolved\n    text:\n" + texts(rng, 12, "      "),
                    encoding="utf-8")
    return file


def open_incident(repo: Path, round_: int) -> Path:
    """An outage begins: a new S1 incident, unresolved, posted five minutes before the build's `now` (it
    changes the home page, the history, a component's page, the feeds and the JSON, not only its own pages)."""
    rng = random.Random(1000 + round_)
    detected = (NOW - timedelta(minutes=10)).astimezone(timezone(timedelta(hours=9)))
    incident_id = f"bench-open-{round_:03d}"
    file = repo / "incidents" / f"{incident_id}.yaml"
    file.write_text(
        f"id: {incident_id}\nregion: KR\nseverity: S1\nimpact: critical\ntitle:\n" + texts(rng, 6, "  ")
        + "components:\n  - id: kr-ingest\n    status: major_outage\n"
        f"detected_at: {detected.isoformat()}\nupdates:\n  - at: {(detected + timedelta(minutes=5)).isoformat()}\n"
        "    status: investigating\n    text:\n" + texts(rng, 30, "      "), encoding="utf-8")
    return file


def make_repo(target: Path, n: int) -> Path:
    for name in ("status.yaml", "mkdocs.yml"):
        shutil.copy2(PROJECT / name, target / name)
    shutil.copytree(PROJECT / "site", target / "site")
    (target / "incidents").mkdir()
    write_incidents(target, n)
    return target


CHILD = """
import resource, sys, time
from datetime import datetime
from pathlib import Path
from generator.build import build_site
start = time.perf_counter()
build_site(Path(sys.argv[1]), Path(sys.argv[2]), datetime.fromisoformat(sys.argv[3]))
me, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + workers.ru_utime + workers.ru_stime
print(time.perf_counter() - start, cpu, me.ru_maxrss, workers.ru_maxrss)
"""


OUTPUTS_CHILD = """
import sys, tempfile, time
from datetime import datetime
from pathlib import Path
from generator.content.load import load_content
from generator.render.api import write_api
from generator.render.badges import write_badges
from generator.render.feeds import write_feeds
from generator.render.ics import write_calendars
from generator.render.uptime import uptime_history
repository = load_content(Path(sys.argv[1])).repository
now = datetime.fromisoformat(sys.argv[2])
out = Path(tempfile.mkdtemp())
start = time.perf_counter(); uptime_history(repository, now); print("uptime_history", time.perf_counter() - start)
for writer in (write_api, write_feeds, write_calendars, write_badges):
    start = time.perf_counter()
    files = writer(repository, now, out)
    print(writer.__name__, time.perf_counter() - start, len(files))
"""


def measure_outputs(repo: Path) -> list[tuple[str, float, int]]:
    done = subprocess.run([sys.executable, "-c", OUTPUTS_CHILD, str(repo), NOW.isoformat()],
                          check=True, capture_output=True, text=True, cwd=PROJECT)
    rows = []
    for line in done.stdout.splitlines():
        name, seconds, *files = line.split()
        rows.append((name, float(seconds), int(files[0]) if files else 0))
    return rows


def report_outputs(repo: Path) -> None:
    rows = measure_outputs(repo)
    for name, seconds, files in rows:
        print(f"  {name}: {seconds:.2f} s" + (f" ({files} files)" if files else " (the pages render it)"))
    print(f"added by the machine-readable outputs (writers, all languages): "
          f"{sum(r[1] for r in rows if r[0] != 'uptime_history'):.2f} s; uptime history: "
          f"{next(r[1] for r in rows if r[0] == 'uptime_history'):.2f} s")


def measure(repo: Path, out: Path) -> tuple[float, float, float, float]:
    """(wall s, CPU s, peak RSS of the build process MB, peak RSS of its largest worker MB)."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(repo), str(out), NOW.isoformat()],
                          check=True, capture_output=True, text=True, cwd=PROJECT)
    seconds, cpu, rss_kb, worker_kb = done.stdout.split()
    return float(seconds), float(cpu), int(rss_kb) / 1024, int(worker_kb) / 1024


def measure_after(repo: Path, out: Path, new_file: Path) -> tuple[float, float, float, float]:
    """`measure` of a rebuild with `new_file` in the repository; the file is removed again afterwards (and
    the site rebuilt without it, unmeasured), so the next round starts from the same content."""
    try:
        return measure(repo, out)
    finally:
        new_file.unlink()
        measure(repo, out)


def run_summary(name: str, runs: list[tuple[float, float, float, float]]) -> str:
    walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
    return (f"{name}: wall median {statistics.median(walls):.2f} s (runs: {', '.join(f'{w:.2f}' for w in walls)}), "
            f"CPU median {statistics.median(cpus):.2f} s (runs: {', '.join(f'{c:.2f}' for c in cpus)}), "
            f"peak RSS {max(r[2] for r in runs):.0f} MB (largest worker {max(r[3] for r in runs):.0f} MB)")


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 9))


def home_weight(out: Path) -> tuple[int, int]:
    html = (out / "index.html").read_bytes()
    raw, packed = len(html), gz(html)
    for ref in re.findall(rb'(?:href|src)="([^"]+\.(?:css|js))"', html):
        path = out / ref.decode().split("?")[0].lstrip("./")
        if path.is_file():
            data = path.read_bytes()
            raw += len(data)
            packed += gz(data)
    return raw, packed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="incidents per language (default 1000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the generated repository and site here")
    parser.add_argument("--cold-only", action="store_true",
                        help="skip the warm rebuild (a version without a cache rebuilds everything anyway)")
    parser.add_argument("--outputs-only", action="store_true",
                        help="skip the full build; time only the machine-readable writers and the uptime history")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="statusgen-bench-"))
    try:
        t0 = time.perf_counter()
        repo = make_repo(work, args.n)
        print(f"generated {args.n} incidents x 3 languages in {time.perf_counter() - t0:.2f} s")
        if args.outputs_only:
            report_outputs(repo)
            return
        out = work / "public"
        cold, warm, opened = [], [], []
        for round_ in range(args.repeat):
            shutil.rmtree(repo / ".statusgen-cache", ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
            cold.append(measure(repo, out))
            append_update(repo, round_)
            if not args.cold_only:
                warm.append(measure(repo, out))
                opened.append(measure_after(repo, out, open_incident(repo, round_)))
        index = out / "search" / "search_index.json"
        pages = sum(1 for _ in out.rglob("index.html"))
        home_raw, home_gz = home_weight(out)
        print(run_summary("cold full build", cold))
        if warm:
            print(run_summary("warm rebuild after one incident changed", warm))
            print(run_summary("warm rebuild after a new incident was opened", opened))
        print(f"pages written: {pages}")
        print(f"search index: {index.stat().st_size / 1e6:.2f} MB raw, {gz(index.read_bytes()) / 1e6:.2f} MB gzip")
        verdict = "within" if home_gz <= HOME_BUDGET_GZIP else "OVER"
        print(f"home page (HTML + CSS + JS): {home_raw / 1e3:.1f} KB raw, {home_gz / 1e3:.1f} KB gzip "
              f"({verdict} the {HOME_BUDGET_GZIP / 1e3:.0f} KB gzip budget)")
        home_html = (out / "index.html").read_bytes()
        print(f"home page HTML alone: {len(home_html) / 1e3:.1f} KB raw, {gz(home_html) / 1e3:.1f} KB gzip")
        summary = (out / "api/v2/summary.json").read_bytes()
        print(f"summary.json: {len(summary) / 1e3:.1f} KB raw, {gz(summary) / 1e3:.1f} KB gzip")
        report_outputs(repo)
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)



if __name__ == "__main__":
    main()
