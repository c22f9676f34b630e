"""Crash-safe, idempotent API writes: a real `statusgen serve` killed with SIGKILL mid-burst, restarted, and
the client's retries; the start-up recovery of an interrupted write; Idempotency-Key semantics."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from api_support import api, make_tokens  # noqa: F401 - a fixture
from conftest import PROJECT, SAMPLE_NOW, git
from generator.check import check_repository
from generator.service.api.store import JOURNAL, IncidentStore

SAMPLE_ID = "2025-10-02-kr-ingest-latency"
URL = f"/v1/status/{SAMPLE_ID}"


def follow_up(n: int) -> dict:
    return {"update": {"at": "2025-10-02T11:30:00+09:00", "status": "resolved",
                       "text": {"ko": f"추가 안내 {n}", "ja": f"追加のお知らせ {n}", "en": f"Follow-up {n}"}}}


class Serve:
    """`statusgen serve` in its own process on a free loopback port."""

    def __init__(self, root: Path, tokens_text: str, log: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "STATUSGEN_API_TOKENS": tokens_text, "PYTHONPATH": str(PROJECT)}
        self.log = open(log, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--root", str(root),
                                         "--port", str(self.port)], env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/openapi.json", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"statusgen serve did not start: {log.read_text()}")
                time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(30)
        self.log.close()


def updates_of(root: Path) -> list[str]:
    from generator.service.api.store import IncidentStore

    return [u.text.en for u in IncidentStore(root).get(SAMPLE_ID).updates]


def test_a_sigkill_mid_burst_then_retries_apply_every_write_exactly_once(sample_repo, tmp_path):
    writer, _, tokens = make_tokens()
    headers = {"Authorization": f"Bearer {writer}"}
    before = int(git(sample_repo, "rev-list", "--count", "HEAD"))
    count = 24
    answered: dict[int, dict] = {}
    server = Serve(sample_repo, tokens, tmp_path / "serve.log")

    def send(n: int) -> None:
        try:
            with httpx.Client(base_url=server.url, headers={**headers, "Idempotency-Key": f"burst-{n}"},
                              timeout=60) as client:
                response = client.patch(URL, json=follow_up(n))
            if response.status_code == 200:
                answered[n] = response.json()
        except httpx.TransportError:
            pass  # the server died under this request: the client will retry it

    threads = [threading.Thread(target=send, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(answered) < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    server.stop(signal.SIGKILL)
    for thread in threads:
        thread.join(60)
    assert 4 <= len(answered) < count, "the kill should land mid-burst"

    server = Serve(sample_repo, tokens, tmp_path / "serve.log")
    try:
        assert git(sample_repo, "status", "--porcelain") == "", "the restart leaves no orphan"
        assert not (sample_repo / ".git" / JOURNAL).exists()
        retried = {}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            for n in range(count):  # the client does not know which of its writes landed: it retries all
                response = client.patch(URL, json=follow_up(n), headers={"Idempotency-Key": f"burst-{n}"})
                assert response.status_code == 200, response.text
                retried[n] = response.json()
    finally:
        server.stop()
    for n, first in answered.items():
        assert retried[n] == first, "a retry of an answered write gets the first answer"
    texts = updates_of(sample_repo)[5:]
    assert sorted(texts) == sorted(f"Follow-up {n}" for n in range(count)), texts
    assert int(git(sample_repo, "rev-list", "--count", "HEAD")) == before + count
    assert git(sample_repo, "status", "--porcelain") == ""
    assert check_repository(sample_repo, SAMPLE_NOW) == []


def test_start_up_discards_a_write_a_crash_left_uncommitted_and_logs_it(sample_repo, caplog):
    rel = f"incidents/2025/{SAMPLE_ID}.yaml"
    committed = (sample_repo / rel).read_text(encoding="utf-8")
    # What a write killed between its file and its commit leaves: the journal, the new bytes, a staged copy
    # and the index lock of the interrupted `git add`.
    (sample_repo / ".git" / JOURNAL).write_text(json.dumps({"path": rel}), encoding="utf-8")
    (sample_repo / rel).write_text(committed.replace("severity: S2", "severity: S1"), encoding="utf-8")
    git(sample_repo, "add", rel)
    (sample_repo / ".git" / "index.lock").write_bytes(b"")
    (sample_repo / "incidents/2025" / f".{SAMPLE_ID}.yaml.statusgen-tmp").write_text("half", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="statusgen.api"):
        IncidentStore(sample_repo)
    assert (sample_repo / rel).read_text(encoding="utf-8") == committed
    assert git(sample_repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (sample_repo / ".git" / JOURNAL).exists() and not (sample_repo / ".git" / "index.lock").exists()
    assert any("discarded the uncommitted write of " + rel in r.getMessage() for r in caplog.records)


def test_the_same_key_and_body_get_the_stored_answer_and_write_once(api):
    with api.client(api.writer) as client:
        first = client.patch(URL, json=follow_up(1), headers={"Idempotency-Key": "k-1"})
        again = client.patch(URL, content=json.dumps(follow_up(1), indent=4),
                             headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert updates_of(api.root).count("Follow-up 1") == 1
    assert git(api.root, "log", "-1", "--format=%H").strip() == first.json()["commit"]


def test_the_same_key_with_another_body_is_a_422_and_writes_nothing(api):
    with api.client(api.writer) as client:
        client.patch(URL, json=follow_up(1), headers={"Idempotency-Key": "k-2"}).raise_for_status()
        head = git(api.root, "rev-parse", "HEAD")
        other = client.patch(URL, json=follow_up(2), headers={"Idempotency-Key": "k-2"})
        posted = client.post("/v1/status/incidents", json={}, headers={"Idempotency-Key": "bad key"})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert posted.status_code == 422
    assert git(api.root, "rev-parse", "HEAD") == head


def test_a_create_retried_with_its_key_after_a_restart_is_a_201_not_a_409(sample_repo):
    from api_support import ServerThread
    from generator.service.api.app import create_app
    from generator.service.api.auth import parse_tokens
    from test_api_service import NEW_INCIDENT

    writer, _, text = make_tokens()
    tokens = parse_tokens(text, "tokens.yaml")
    headers = {"Authorization": f"Bearer {writer}", "Idempotency-Key": "open-jp-api"}
    with ServerThread(create_app(sample_repo, tokens)) as url:
        first = httpx.post(f"{url}/v1/status/incidents", json=NEW_INCIDENT, headers=headers, timeout=30)
    with ServerThread(create_app(sample_repo, tokens)) as url:  # a new process reads the keys from Git
        again = httpx.post(f"{url}/v1/status/incidents", json=NEW_INCIDENT, headers=headers, timeout=30)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
