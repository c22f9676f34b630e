"""Shared fixtures: a real Git repository holding a copy of the shipped sample content, built sites, a server."""
from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import subprocess
import threading
from datetime import datetime
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
CONTENT = ["status.yaml", "mkdocs.yml", "site", "incidents", "maintenance", "rca", "schemas", "templates",
           "glossary.yaml"]
# The sample is evaluated as of a fixed moment so that the tests never depend on the clock.
SAMPLE_NOW = datetime.fromisoformat("2025-10-26T12:00:00+09:00")


def copy_sample(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in CONTENT:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.exists():
            shutil.copy2(source, target / name)
    return target


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def init_git(repo: Path) -> Path:
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "sre@example.com")
    git(repo, "config", "user.name", "SRE on call")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Sample status content")
    return repo


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """A fresh Git repository with the shipped sample content."""
    return init_git(copy_sample(tmp_path / "status"))


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory) -> Path:
    """The sample site, built once per test session; returns the output directory."""
    from generator.build import build_site

    repo = init_git(copy_sample(tmp_path_factory.mktemp("built") / "status"))
    result = build_site(repo, repo / "public", SAMPLE_NOW)
    return result.out


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` with the SHA-256 of its bytes: to prove a tree did not change."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the standard library's name
        pass


@pytest.fixture(scope="session")
def serve():
    """Serve a directory over HTTP on 127.0.0.1; returns a function dir -> base URL."""
    servers = []

    def start(directory: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
