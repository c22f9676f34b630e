"""`statusgen doctor`: what publishing needs on this machine and in this repository, each missing piece
with the command that fixes it.

Read-only: it asks git and the files, changes nothing. Findings are values (`Finding`), printed by the CLI.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .trust.ledger import ALLOWED_SIGNERS_PATH, LedgerError
from .trust.verify import key_fingerprint, parse_allowed_signers

PUBLISH_WORKFLOW = ".github/workflows/publish.yml"
SECRET = "STATUSGEN_SIGNING_KEY"
MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class Finding:
    """One check: `ok`, or what is missing (`problem`) and how to fix it (`fix`). A `warning` does not fail."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False


def _git(root: Path, *args: str) -> tuple[int, str]:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout.strip()


def _config(root: Path, key: str) -> str:
    return _git(root, "config", "--get", key)[1]


def diagnose(root: Path, branch: str = "gh-pages", remote: str = "origin") -> list[Finding]:
    root = Path(root)
    findings = [_python(), _mkdocs()]
    if _git(root, "rev-parse", "--git-dir")[0] != 0:
        return findings + [Finding("git repository", False, f"{root} is not a git repository",
                                   f"git init {root}  (or: statusgen init DIR for a new status repository)")]
    findings += _signing(root)
    findings.append(_remote(root, remote))
    findings.append(_publish_branch(root, remote, branch))
    findings.append(_secret(root))
    return findings


def _python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Finding("python", ok, f"Python {version}", "" if ok else "install Python 3.11 or later")


def _mkdocs() -> Finding:
    try:
        versions = {name: metadata.version(name) for name in ("mkdocs", "mkdocs-material", "mkdocs-static-i18n")}
    except metadata.PackageNotFoundError as missing:
        return Finding("mkdocs", False, f"{missing.name} is not installed", "bash scripts/setup")
    major = int(versions["mkdocs"].split(".")[0])
    ok = major == 1
    detail = ", ".join(f"{name} {version}" for name, version in versions.items())
    return Finding("mkdocs", ok, detail, "" if ok else "pip install 'mkdocs>=1.6,<2' (statusgen builds with mkdocs 1.x)")


def _signing(root: Path) -> list[Finding]:
    findings = []
    fmt = _config(root, "gpg.format")
    findings.append(Finding("gpg.format", fmt == "ssh", f"gpg.format = {fmt or '(unset)'}",
                            "git config gpg.format ssh"))
    key = _config(root, "user.signingkey")
    public_line = ""
    if not key:
        findings.append(Finding("user.signingkey", False, "no signing key configured",
                                "ssh-keygen -t ed25519 && git config user.signingkey ~/.ssh/id_ed25519.pub"))
    else:
        path = Path(key.removeprefix("key::")).expanduser()
        if key.startswith(("ssh-", "key::")):
            public_line = key.removeprefix("key::")
        elif path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            if path.suffix != ".pub" and not text.startswith(("ssh-", "ecdsa-", "sk-")):
                pub = path.with_name(path.name + ".pub")
                text = pub.read_text(encoding="utf-8").strip() if pub.is_file() else ""
            public_line = text
        findings.append(Finding("user.signingkey", bool(public_line), f"user.signingkey = {key}",
                                "" if public_line else f"{key} does not exist: ssh-keygen -t ed25519 -f {key.removesuffix('.pub')}"))
    sign = _config(root, "commit.gpgsign")
    findings.append(Finding("commit.gpgsign", sign == "true", f"commit.gpgsign = {sign or '(unset)'}",
                            "git config commit.gpgsign true", warning=True))
    findings.append(_allowed_signer(root, public_line))
    return findings


def _allowed_signer(root: Path, public_line: str) -> Finding:
    signers_path = root / ALLOWED_SIGNERS_PATH
    email = _config(root, "user.email")
    if not signers_path.is_file():
        return Finding("allowed_signers", False, f"{ALLOWED_SIGNERS_PATH} is missing",
                       f"create {ALLOWED_SIGNERS_PATH} with one line per signer (statusgen init writes it)")
    parts = public_line.split()
    if len(parts) < 2:
        return Finding("allowed_signers", False, "no signing key to look up", "configure user.signingkey first")
    line = f'{email or "you@example.com"} namespaces="git,statusgen-ledger" {parts[0]} {parts[1]}'
    try:
        signers = parse_allowed_signers(signers_path.read_text(encoding="utf-8"), ALLOWED_SIGNERS_PATH)
        fingerprint = key_fingerprint(parts[1])
    except (LedgerError, ValueError) as exc:
        return Finding("allowed_signers", False, str(exc), f"fix {ALLOWED_SIGNERS_PATH}")
    entry = next((s for s in signers if s.fingerprint == fingerprint), None)
    if entry is None:
        return Finding("allowed_signers", False, f"your key {fingerprint} is not in {ALLOWED_SIGNERS_PATH}",
                       f"ask a maintainer to add, in a commit signed by a listed key:\n      {line}")
    if not email or not entry.admits(email):
        return Finding("allowed_signers", False,
                       f"your key is listed as {','.join(entry.principals)}, but git commits as "
                       f"{email or '(no user.email)'}; verify checks the committer against the principal",
                       f"git config user.email {entry.principals[0]}")
    return Finding("allowed_signers", True, f"your key {fingerprint} is listed for {email} "
                                            f"({ALLOWED_SIGNERS_PATH}:{entry.line})")


def _remote(root: Path, remote: str) -> Finding:
    code, url = _git(root, "remote", "get-url", remote)
    if code != 0:
        return Finding("remote", False, f"no remote {remote!r}", f"git remote add {remote} <URL of the repository>")
    return Finding("remote", True, f"{remote} = {url}")


def _publish_branch(root: Path, remote: str, branch: str) -> Finding:
    if _git(root, "rev-parse", "--verify", "-q", f"refs/heads/{branch}")[0] == 0:
        return Finding("publish branch", True, f"{branch} exists locally")
    if _git(root, "rev-parse", "--verify", "-q", f"refs/remotes/{remote}/{branch}")[0] == 0:
        return Finding("publish branch", True, f"{remote}/{branch} exists")
    return Finding("publish branch", False, f"no {branch} branch yet",
                   f"the first `statusgen publish` (CI on a push to main) creates it; then "
                   f"git fetch {remote} {branch}", warning=True)


def _secret(root: Path) -> Finding:
    workflow = root / PUBLISH_WORKFLOW
    if not workflow.is_file():
        return Finding("signing secret", False, f"{PUBLISH_WORKFLOW} is missing",
                       "copy it from a repository made by `statusgen init`")
    if f"secrets.{SECRET}" not in workflow.read_text(encoding="utf-8"):
        return Finding("signing secret", False, f"{PUBLISH_WORKFLOW} does not read secrets.{SECRET}",
                       f"pass the key to `statusgen publish` from the repository secret {SECRET}")
    return Finding("signing secret", True, f"{PUBLISH_WORKFLOW} signs with the repository secret {SECRET}; "
                                           "set it (Settings > Secrets > Actions) to CI's private key, whose public "
                                           f"half is in {ALLOWED_SIGNERS_PATH}")
