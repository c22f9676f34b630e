"""Deliveries are claimed atomically: real `statusgen notify` processes, run at once or killed and rerun,
deliver each message exactly once to a real webhook receiver."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

from api_support import WEBHOOK_SECRET, WebhookReceiver

KR_ID = "2025-10-02-kr-ingest-latency"  # five updates, tenants acme-kr and hanbit-logistics
TENANTS = 4  # webhooks on enterprise plans (every update): 4 x 5 = 20 messages


def write_tenants(root: Path, url: str) -> None:
    tenants = [{"id": tenant, "name": tenant, "language": "en", "plan": "enterprise",
                "channels": {"webhooks": [{"url": f"{url}?{tenant}={n}"} for n in range(2)]}}
               for tenant in ("acme-kr", "hanbit-logistics")]
    (root / "tenants.yaml").write_text(yaml.safe_dump({"tenants": tenants}), encoding="utf-8")


def start_notify(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "STATUSGEN_WEBHOOK_SECRET": WEBHOOK_SECRET, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.Popen([sys.executable, "-m", "generator", "notify", "--root", str(root), "--backoff", "0.01",
                             *args, KR_ID], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_notify_processes_at_once_deliver_each_message_exactly_once(sample_repo):
    receiver = WebhookReceiver(delay=0.05)  # slow enough that the two runs overlap throughout
    try:
        write_tenants(sample_repo, receiver.url)
        runs = [start_notify(sample_repo, "--workers", "2") for _ in range(2)]
        outputs = [run.communicate(timeout=120)[0] for run in runs]
    finally:
        receiver.close()
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(receiver.deliveries) == TENANTS * 5
    assert Counter(receiver.deliveries).most_common(1)[0][1] == 1  # none twice
    sent = sum(int(out.strip().splitlines()[-1].split(" sent,")[0]) for out in outputs)
    assert sent == TENANTS * 5, outputs


def test_a_killed_run_then_a_rerun_deliver_each_message_exactly_once(sample_repo):
    # The receiver holds the 7th request unanswered; the run is killed while it waits for the answer.
    receiver = WebhookReceiver(hold_request=7)
    try:
        write_tenants(sample_repo, receiver.url)
        killed = start_notify(sample_repo, "--workers", "1")
        assert receiver.held.wait(60), "the run never reached the held request"
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        receiver.release.set()
        assert len(receiver.deliveries) == 6
        rerun = start_notify(sample_repo, "--workers", "1")
        output = rerun.communicate(timeout=120)[0]
        again = start_notify(sample_repo).communicate(timeout=120)[0]
    finally:
        receiver.close()
    assert killed.returncode == -signal.SIGKILL
    assert rerun.returncode == 0, output
    # The killed run's claim on the 7th message is taken over: 14 are sent now, 6 were sent before.
    assert output.strip().splitlines()[-1] == "14 sent, 6 already sent, 0 failed"
    assert again.strip().splitlines()[-1] == "0 sent, 20 already sent, 0 failed"
    assert len(receiver.deliveries) == TENANTS * 5 and len(set(receiver.deliveries)) == TENANTS * 5
