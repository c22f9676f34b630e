"""Benchmark of the status API over loopback: requests/s and p50/p99 latency for GET and for PATCH.

The server is `statusgen serve` in its own process on 127.0.0.1 over a temporary Git repository (the
shipped sample plus 20 incidents made through POST, or with `--incidents N` N generated ones committed
beforehand with bench/build.py's generator); clients are threads with keep-alive httpx clients. Every PATCH
appends an update to one of those incidents, so every PATCH is a validated commit.

    python bench/api.py [--get 2000] [--patch 200] [--concurrency 8] [--incidents 0]
    python bench/api.py --incidents 5000 --get 0 --patch 50 --concurrency 50   # issue 12's figure
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from generator.service.api.auth import new_token, token_entry  # noqa: E402

CONTENT = ["status.yaml", "incidents", "rca", "schemas", "templates"]
TEXT = {"ko": "진행 상황을 공유합니다.", "ja": "進捗をお知らせします。", "en": "Progress update."}


def make_repo(root: Path, incidents: int) -> None:
    for name in CONTENT:
        source = PROJECT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, root / name)
    if incidents:
        spec = importlib.util.spec_from_file_location("bench_build", PROJECT / "bench" / "build.py")
        build = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(build)
        build.write_incidents(root, incidents)
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "bench"], ["config", "user.email", "bench@example.com"],
                 ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run(["git", "-C", str(root), *args], check=True)


def start_server(root: Path, token: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(PROJECT),
           "STATUSGEN_API_TOKENS": yaml.safe_dump([token_entry(token, "Bench", "bench@example.com", ["read", "write"])])}
    server = subprocess.Popen([sys.executable, "-c", "from generator.cli import main; main()", "serve", "--root", str(root),
                               "--port", str(port)], env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(6000):  # a large repository takes a while to index
        try:
            httpx.get(f"{url}/openapi.json", timeout=1)
            return server, url
        except httpx.TransportError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the server did not start")


def run(requests: list, concurrency: int, url: str, token: str) -> tuple[float, list[float]]:
    """Send `requests` from `concurrency` threads at once; (elapsed s, each request's latency s). The clients
    are made (and their TLS context, which httpx makes even for http://) before the clock starts: making
    them competes with the server for the CPU and is not the server's latency."""
    clients = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=900)
               for _ in range(concurrency)]
    start_together = threading.Barrier(concurrency + 1)

    def worker(client: httpx.Client, chunk: list) -> list[float]:
        timings = []
        start_together.wait()
        with client:
            for method, path, body in chunk:
                start = time.perf_counter()
                response = client.request(method, path, json=body)
                timings.append(time.perf_counter() - start)
                if response.status_code >= 300:
                    raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return timings

    chunks = [requests[i::concurrency] for i in range(concurrency)]
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(worker, client, chunk) for client, chunk in zip(clients, chunks)]
        start_together.wait()
        start = time.perf_counter()
        timings = [t for future in futures for t in future.result()]
    return time.perf_counter() - start, timings


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, elapsed: float, timings: list[float]) -> None:
    cuts = statistics.quantiles(timings, n=100)
    print(f"{name:6} {len(timings):5} requests  {len(timings) / elapsed:8.1f} req/s  "
          f"p50 {cuts[49] * 1000:7.1f} ms  p99 {cuts[98] * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--get", type=int, default=2000)
    parser.add_argument("--patch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--incidents", type=int, default=0, help="generated incidents in the repository")
    options = parser.parse_args()
    token = new_token()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "status"
        root.mkdir()
        make_repo(root, options.incidents)
        started = time.perf_counter()
        server, url = start_server(root, token)
        try:
            ids = [f"bench-{n:05d}" for n in range(min(options.incidents, max(options.patch, 1)))]
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=900) as client:
                for n in range(0 if ids else 20):
                    response = client.post("/v1/status/incidents", json={
                        "id": f"bench-{n:02d}", "region": "KR", "severity": "S2", "impact": "major",
                        "title": {"ko": f"벤치 {n}", "ja": f"ベンチ {n}", "en": f"Bench {n}"},
                        "components": [{"id": "kr-api", "status": "degraded_performance"}],
                        "detected_at": "2025-11-01T10:00:00+09:00", "tickets": [f"CS-BENCH-{n}"],
                        "update": {"at": "2025-11-01T10:05:00+09:00", "status": "investigating", "text": TEXT}})
                    response.raise_for_status()
                    ids.append(response.json()["id"])
            gets = [("GET", f"/v1/status/{ids[i % len(ids)]}", None) for i in range(options.get)]
            # The generated incidents are resolved before 2026: a late follow-up keeps them resolved.
            update = ({"at": "2026-01-02T10:00:00+09:00", "status": "resolved", "text": TEXT} if options.incidents
                      else {"at": "2025-11-01T10:30:00+09:00", "status": "identified", "text": TEXT})
            patches = [("PATCH", f"/v1/status/{ids[i % len(ids)]}", {"update": update}) for i in range(options.patch)]
            print(f"statusgen API over loopback, {options.concurrency} client threads, server in its own process, "
                  f"{options.incidents + 2} incidents; server start (+ 20 POST without --incidents) took "
                  f"{time.perf_counter() - started:.1f} s")
            if gets:
                report("GET", *run(gets, options.concurrency, url, token))
            cpu = server_cpu(server.pid)
            report("PATCH", *run(patches, options.concurrency, url, token))
            print(f"server CPU per PATCH: {(server_cpu(server.pid) - cpu) / max(len(patches), 1) * 1000:.1f} ms "
                  "(user + system of the server process: the figure a loaded machine inflates least)")
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True,
                                   check=True).stdout
            print("git status after the writes: " + ("clean" if not dirty.strip() else f"NOT clean:\n{dirty[:2000]}"))
            commits = subprocess.run(["git", "-C", str(root), "rev-list", "--count", "HEAD"], capture_output=True,
                                     text=True, check=True).stdout.strip()
            print(f"commits in the repository: {commits} (1 sample + {0 if options.incidents else 20} POST + "
                  f"{options.patch} PATCH)")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
