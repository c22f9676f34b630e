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
from generator.api.app import create_app
from generator.api.auth import new_token, parse_tokens, token_entry

import yaml


@dataclass
class Api:
    url: str
    root: Path
    writer: str  # tokens, in clear, as a client holds them
    reader: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


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
    """The sample repository plus the shipped communication macros, all committed."""
    shutil.copytree(PROJECT / "templates", sample_repo / "templates")
    git(sample_repo, "add", "templates")
    git(sample_repo, "commit", "-q", "-m", "Communication macros")
    return sample_repo


@pytest.fixture
def api(sample_repo: Path):
    add_macros(sample_repo)
    writer, reader, text = make_tokens()
    with ServerThread(create_app(sample_repo, parse_tokens(text, "tokens.yaml"))) as url:
        yield Api(url, sample_repo, writer, reader)
