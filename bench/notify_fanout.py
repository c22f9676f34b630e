"""Benchmark of one incident update fanned out to N webhook subscribers through a receiver that fails a share
of the requests: wall time, HTTP requests, and the delivery count (it must be exactly N, none twice).

The subscribers are rows of a real subscriber database (SQLite in a temp dir, or --database URL), each
with its own HMAC secret; the receiver is a real HTTP server on 127.0.0.1 that verifies every signature,
answers 503 to a random `--fail` share of the requests (seeded), and counts what it accepted per delivery
id. The sending path is `statusgen notify`'s: plan_deliveries, then send_deliveries with atomic claims.
A second run is timed too: it must send nothing.

    python bench/notify_fanout.py [--subscribers 1000] [--fail 0.10] [--workers 8] [--database URL]
"""
from __future__ import annotations

import argparse
import http.server
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from generator.content.load import load_config  # noqa: E402
from generator.service.api.store import read_incident  # noqa: E402
from generator.service.channels import SendContext  # noqa: E402
from generator.service.notifier import incident_notices, plan_deliveries, send_deliveries, subscriber_recipients  # noqa: E402
from generator.service.subscriptions.store import SubscriberStore, database_url  # noqa: E402
from generator.service.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature  # noqa: E402

INCIDENT = PROJECT / "incidents/2025/2025-10-02-kr-ingest-latency.yaml"


class FlakyReceiver:
    def __init__(self, fail: float, seed: int = 14):
        self.random = random.Random(seed)
        self.fail = fail
        self.lock = threading.Lock()
        self.requests = 0
        self.refused = 0
        self.bad_signatures = 0
        self.accepted: Counter[str] = Counter()
        self.secrets: dict[str, bytes] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    failing = receiver.random.random() < receiver.fail
                if failing:
                    with receiver.lock:
                        receiver.refused += 1
                    return self._answer(503)
                secret = receiver.secrets.get(self.path, b"")
                if not verify_signature(secret, self.headers[TIMESTAMP_HEADER] or "", body,
                                        self.headers[SIGNATURE_HEADER] or ""):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    return self._answer(401)
                json.loads(body)
                with receiver.lock:
                    receiver.accepted[self.headers[DELIVERY_HEADER]] += 1
                self._answer(200)

            def _answer(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--fail", type=float, default=0.10, help="share of requests answered 503")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--backoff", type=float, default=0.1, help="first retry delay in seconds (doubles)")
    parser.add_argument("--database", default=None, help="SQLAlchemy/PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="statusgen-fanout-"))
    receiver = FlakyReceiver(args.fail)
    try:
        config = load_config(PROJECT)
        store = SubscriberStore(database_url(work, args.database or "subscribers.sqlite"))
        store.upgrade()
        rows = []
        for n in range(args.subscribers):
            path, secret = f"/hook/{n}", f"secret-{n:05d}-{'x' * 16}"
            receiver.secrets[path] = secret.encode()
            rows.append({"kind": "webhook", "target": receiver.base + path, "language": ("ko", "ja", "en")[n % 3],
                         "secret": secret})
        store.add_active(rows)
        first_update = incident_notices(read_incident(INCIDENT), config)[:1]  # one update
        deliveries = plan_deliveries(first_update, subscriber_recipients(store.active()), config)
        context = SendContext(backoff=args.backoff, attempts=6)

        started = time.perf_counter()
        report = send_deliveries(store, deliveries, context, workers=args.workers)
        elapsed = time.perf_counter() - started
        started_again = time.perf_counter()
        again = send_deliveries(store, deliveries, context, workers=args.workers)
        elapsed_again = time.perf_counter() - started_again

        retried = sum(1 for _, attempts in report.sent if attempts > 1)
        twice = sum(1 for count in receiver.accepted.values() if count > 1)
        print(f"subscribers: {args.subscribers}, receiver failing {args.fail:.0%} of requests (503), "
              f"{args.workers} workers, database {store.engine.dialect.name}")
        print(f"fan-out of one update: {elapsed:.2f} s wall, {len(report.sent) / elapsed:.0f} deliveries/s")
        print(f"deliveries: {len(report.sent)} sent, {len(report.failed)} failed; receiver accepted "
              f"{sum(receiver.accepted.values())} ({len(receiver.accepted)} distinct delivery ids, {twice} twice)")
        print(f"requests: {receiver.requests} ({receiver.refused} answered 503, {receiver.bad_signatures} bad "
              f"signatures); {retried} deliveries needed a retry")
        print(f"rerun: {len(again.sent)} sent, {len(again.skipped)} already sent, {elapsed_again:.2f} s")
        ok = (len(report.sent) == args.subscribers and len(receiver.accepted) == args.subscribers and twice == 0
              and not again.sent and not report.failed)
        print("exactly once: " + ("yes" if ok else "NO"))
        store.close()
        if not ok:
            sys.exit(1)
    finally:
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
