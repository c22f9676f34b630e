"""Helpers and fixtures for the status API, notifier and sync tests: real uvicorn on 127.0.0.1, real tokens.

A test module imports the fixtures it uses from here (`from api_support import api`)."""
from __future__ import annotations

import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from conftest import PROJECT, git
from generator.service.api.app import create_app
from generator.service.ticketsync import ChangeEmitter
from generator.service.api.auth import new_token, parse_tokens, token_entry

import yaml


@dataclass
class Api:
    url: str
    root: Path
    writer: str  # tokens, in clear, as a client holds them
    reader: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)  # 50 queued writes on a loaded machine


class ServerThread:
    """uvicorn in a daemon thread, on a socket bound to a free loopback port."""

    def __init__(self, app):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


def make_tokens() -> tuple[str, str, str]:
    """A writer and a reader token in clear, and the tokens file text that holds only their digests."""
    writer, reader = new_token(), new_token()
    text = yaml.safe_dump([
        token_entry(writer, "Jiyeon Park", "jiyeon@example.com", ["read", "write"]),
        token_entry(reader, "Status Reader", "reader@example.com", ["read"]),
    ])
    return writer, reader, text


def add_macros(sample_repo: Path) -> Path:
    """The sample repository with the shipped communication macros (copied and committed by the fixture)."""
    assert (sample_repo / "templates" / "macros").is_dir()
    return sample_repo


@pytest.fixture
def api(sample_repo: Path):
    add_macros(sample_repo)
    writer, reader, text = make_tokens()
    with ServerThread(create_app(sample_repo, parse_tokens(text, "tokens.yaml"), on_write=[ChangeEmitter()])) as url:
        yield Api(url, sample_repo, writer, reader)


# ---------------------------------------------------------------- local receivers for the notifier and sync

import http.server  # noqa: E402
import json  # noqa: E402
from email import message_from_bytes, policy  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402

from generator.service.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature  # noqa: E402

WEBHOOK_SECRET = "test-secret-0123456789abcdef"


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that checks the HMAC like a customer's receiver would.

    It answers 503 to the first `fail_first` requests, 401 to a bad signature, and 200 otherwise,
    keeping every accepted body.
    """

    def __init__(self, secret: str | None = WEBHOOK_SECRET, fail_first: int = 0, delay: float = 0.0,
                 hold_request: int | None = None):
        self.secret = secret.encode() if secret else None  # None: a Slack/Teams-like receiver, no signature
        self.fail_first = fail_first
        self.delay = delay  # seconds before answering: makes concurrent senders overlap
        # The request with this number is held unanswered until `release` is set, then dropped unaccepted:
        # a test kills the sender while it waits.
        self.hold_request = hold_request
        self.held, self.release = threading.Event(), threading.Event()
        self.requests = 0
        self.accepted: list[dict] = []
        self.deliveries: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    number = receiver.requests
                if number == receiver.hold_request:
                    receiver.held.set()
                    receiver.release.wait(30)
                    return self._answer(503)
                if receiver.delay:
                    time.sleep(receiver.delay)
                if number <= receiver.fail_first:
                    return self._answer(503)
                if receiver.secret and not verify_signature(receiver.secret, self.headers[TIMESTAMP_HEADER] or "", body,
                                        self.headers[SIGNATURE_HEADER] or ""):
                    return self._answer(401)
                payload = json.loads(body)
                if payload.get("event") == "subscription.challenge":  # what a subscribed receiver must answer
                    return self._answer(200, json.dumps({"challenge": payload["challenge"]}).encode())
                with receiver.lock:
                    receiver.accepted.append(payload)
                    receiver.deliveries.append(self.headers[DELIVERY_HEADER])
                self._answer(200)

            def _answer(self, status, body: bytes = b""):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if body:
                    self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    def __init__(self):
        self.messages = []
        self.mail_options = []  # the MAIL FROM parameters of each message, e.g. ["BODY=8BITMIME"]
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                        policy=policy.default))
                sink.mail_options.append(list(envelope.mail_options))
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    yield sink
    sink.close()
