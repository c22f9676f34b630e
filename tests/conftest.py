"""Shared fixtures: real Git repositories (sample content, ledger scenarios), real SSH keys, built sites, a server."""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from generator.trust import ledger, verify

PROJECT = Path(__file__).resolve().parent.parent
CONTENT = ["status.yaml", "mkdocs.yml", "site", "incidents", "maintenance", "rca", "schemas", "templates",
           "glossary.yaml", ".gitignore"]  # .gitignore: the built site and .statusgen/ state stay out of Git
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
    """Serve a directory over HTTP on 127.0.0.1; returns a function (dir, handler class) -> base URL."""
    servers = []

    def start(directory: Path, handler_class=None) -> str:
        handler = functools.partial(handler_class or _QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- ledger and signatures

# The RCA of the worked example in the mission (S2, KR ingest latency), in the three languages.
SAMPLE_RCA = {
    "rca/2025-10-02-kr-ingest-latency.ko.md": (
        "# RCA: KR 인제스트→인시던트 지연\n\n"
        "- 기간: 2025-10-02 10:14–11:26 KST (01:14–02:26 UTC)\n"
        "- 원인: 샤드 편중 + 룰 리플레이 비용 증가\n"
        "- 재발 방지: 샤드 정책, 쿼리 캐시 TTL, 신규 게이트\n"
    ),
    "rca/2025-10-02-kr-ingest-latency.ja.md": (
        "# RCA: KR インジェスト→インシデント遅延\n\n"
        "- 期間: 2025-10-02 10:14–11:26 KST (01:14–02:26 UTC)\n"
        "- 原因: シャードの偏り + ルールリプレイコストの増加\n"
    ),
    "rca/2025-10-02-kr-ingest-latency.en.md": (
        "# RCA: KR ingest→incident latency\n\n"
        "- Period: 2025-10-02 10:14–11:26 KST (01:14–02:26 UTC)\n"
        "- Cause: shard skew + rising rule-replay cost\n"
        "- Prevention: shard policy, query-cache TTL, a new gate\n"
    ),
}

ORIGIN = "status.example.com/rca-ledger"
INCIDENT = "incidents/2025/kr-ingest-latency.yaml"
INCIDENT_YAML = "id: kr-ingest-latency\nseverity: S2\nregion: KR\nstatus: resolved\n"
KST = timezone(timedelta(hours=9))


@dataclass(frozen=True)
class SshKey:
    """A real ed25519 key pair made at test time."""

    private: Path
    public_line: str
    principal: str

    def allowed_signers_line(self, namespaces: str = "git,statusgen-ledger") -> str:
        return f'{self.principal} namespaces="{namespaces}" {self.public_line}'


@pytest.fixture
def make_key(tmp_path):
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(exist_ok=True)

    def make(principal: str) -> SshKey:
        private = keys_dir / principal.replace("@", "_at_")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(private)],
                       check=True, stdin=subprocess.DEVNULL)
        return SshKey(private, Path(f"{private}.pub").read_text().strip(), principal)

    return make


def write_allowed_signers(path: Path, *keys: SshKey) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(key.allowed_signers_line() + "\n" for key in keys))
    return path


class GitRepo:
    """A real git repository in a tmp dir, committed to through the git command line."""

    def __init__(self, path: Path):
        self.path = path
        self.env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, **kwargs) -> str:
        done = subprocess.run(["git", "-C", str(self.path), *args], env=self.env, capture_output=True,
                              text=True, check=True, **kwargs)
        return done.stdout

    def write(self, files: dict[str, str | bytes]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)

    def commit(self, message: str, files: dict[str, str | bytes] | None = None, *,
               key: SshKey | None = None, author: str | None = None) -> str:
        """Write `files`, stage everything and commit, SSH-signed with `key` when given."""
        if files:
            self.write(files)
        self.git("add", "-A")
        email = author or (key.principal if key else "someone@example.com")
        identity = ["-c", f"user.email={email}", "-c", "user.name=Test Engineer"]
        signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key.private}"] if key else []
        sign_flag = ["-S"] if key else ["--no-gpg-sign"]
        self.git(*identity, *signing, "commit", "-q", *sign_flag, "-m", message)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    return GitRepo(path)


@pytest.fixture
def sample_rca() -> dict[str, bytes]:
    """The worked example's RCA files as repository-relative path -> bytes."""
    return {path: text.encode() for path, text in SAMPLE_RCA.items()}


@pytest.fixture
def origin() -> str:
    return ORIGIN


@pytest.fixture
def allowed_signers():
    """Write an allowed-signers file for the given keys (namespaces git and statusgen-ledger)."""
    return write_allowed_signers


class Published:
    """A repository after its first publication: signed content commit, then a signed ledger commit."""

    def __init__(self, repo, make_key, allowed_signers, sample_rca, origin):
        self.repo = repo
        self.root = repo.path
        self.origin = origin
        self.alice = make_key("alice@example.com")
        self.ci = make_key("ci@example.com")
        self.signers = allowed_signers(self.root / ledger.ALLOWED_SIGNERS_PATH, self.alice, self.ci)
        self.base = repo.commit("Allowed signers", key=self.alice)
        repo.commit("KR ingest latency incident and RCA", {INCIDENT: INCIDENT_YAML, **sample_rca}, key=self.alice)
        self.publish(datetime(2025, 10, 3, 22, 0, tzinfo=KST))

    def publish(self, now: datetime) -> ledger.Publication:
        publication = ledger.record_publication(self.root, self.origin, self.ci.private, now)
        self.repo.commit(f"Publish ledger ({publication.checkpoint.size} entries)", key=self.ci)
        return publication

    def rewrite_history(self, files: dict[str, str | bytes]) -> None:
        """What a dishonest operator does: reset to before the RCA, commit different content and
        publish again, every commit and the checkpoint signed with the right keys."""
        self.repo.git("reset", "-q", "--hard", self.base)
        self.repo.commit("KR ingest latency incident and RCA", {INCIDENT: INCIDENT_YAML, **files}, key=self.alice)
        self.publish(datetime(2025, 10, 3, 22, 0, tzinfo=KST))

    def save_checkpoint(self, where):
        """What a customer keeps: the checkpoint body and its signature."""
        where.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.root / ledger.CHECKPOINT_PATH, where / "checkpoint")
        shutil.copy(self.root / ledger.SIGNATURE_PATH, where / "checkpoint.sig")
        return where / "checkpoint"

    def verify(self, **kwargs) -> list[str]:
        return verify.verify_repository(self.root, **kwargs)


@pytest.fixture
def published(repo, make_key, sample_rca, origin):
    """A repository after its first publication, signed by alice (engineer) and ci (publisher)."""
    return Published(repo, make_key, write_allowed_signers, sample_rca, origin)


# ---------------------------------------------------------------- SLA engine

REPO_ROOT = PROJECT


def at(text: str) -> datetime:
    """A time from its ISO 8601 text, e.g. at("2025-10-02T10:14+09:00")."""
    return datetime.fromisoformat(text)


@pytest.fixture(scope="session")
def repository():
    from generator.content.load import load_content

    return load_content(REPO_ROOT).repository


@pytest.fixture(scope="session")
def config(repository):
    return repository.config


@pytest.fixture
def content_copy(tmp_path) -> Path:
    """A writable copy of the sample content, for tests that edit files."""
    return copy_sample(tmp_path)


# ---------------------------------------------------------------- a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Debian's Chromium as root, headless, with nothing reaching for the network on its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright, one per test module."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is required for the browser tests (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
