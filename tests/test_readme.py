"""The README is executable documentation: the shell blocks of "During an incident" run verbatim, in order,
in a fresh clone, with a signing key made here; and the quick start's test command is what CI runs."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import PROJECT

SECTION = "## During an incident"


def readme_blocks(section: str) -> list[str]:
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    start = text.index(section)
    end = text.find("\n## ", start + len(section))
    return re.findall(r"```sh\n(.*?)```", text[start:end], re.DOTALL)


def run(args, cwd: Path, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs)


def test_the_incident_section_runs_verbatim_in_a_fresh_clone(tmp_path, make_key):
    blocks = readme_blocks(SECTION)
    assert len(blocks) >= 3 and "statusgen new incident" in "".join(blocks)
    assert "--now" not in "".join(blocks)  # the README shows no --now, so neither does this run

    # A fresh clone of this commit, pushing to a bare "origin" of its own.
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(PROJECT), str(origin)], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    # What `bash scripts/build` of the quick start leaves behind: .venv with statusgen (the tested one).
    (clone / ".venv").symlink_to(Path(sys.prefix))

    # The engineer: a home with an SSH key made now, a git identity, and no statusgen on PATH yet.
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "oncall@example.com",
                    "-f", str(home / ".ssh" / "id_ed25519")], check=True)
    (home / ".gitconfig").write_text("[user]\n\tname = On-call Engineer\n\temail = oncall@example.com\n")
    venv_bin = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env = {"HOME": str(home), "PATH": path, "LANG": "C.UTF-8", "NO_MKDOCS_2_WARNING": "1",
           "GIT_CONFIG_NOSYSTEM": "1", "TZ": "UTC"}
    assert run(["bash", "-c", "command -v statusgen || true"], clone, env).stdout == ""
    # A maintainer listed the engineer's key earlier (the README asks for that); doctor then passes.
    public = (home / ".ssh" / "id_ed25519.pub").read_text().split()
    signers = clone / ".github" / "allowed_signers"
    signers.write_text(signers.read_text() + f'oncall@example.com namespaces="git,statusgen-ledger" {public[0]} {public[1]}\n')
    run(["git", "commit", "-q", "--no-gpg-sign", "-am", "List the on-call engineer's key"], clone, env, check=True)

    script = "set -euo pipefail\n" + "\n".join(blocks)
    done = run(["bash", "-c", script], clone, env)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"

    [incident] = clone.glob("incidents/*/*-kr-ingest-delay.yaml")
    data = yaml.safe_load(incident.read_text(encoding="utf-8"))
    assert "draft" not in data
    assert [u["status"] for u in data["updates"]] == ["investigating", "identified", "monitoring", "resolved"]
    assert data["resolved_at"]
    assert sorted(p.name for p in clone.glob(f"rca/{data['id']}.*.md")) == [
        f"{data['id']}.{lang}.md" for lang in ("en", "ja", "ko")]
    # Both commits reached origin, SSH-signed with the key made above.
    log = run(["git", "--git-dir", str(origin), "log", "--format=%G? %s", "-2"], tmp_path, env, check=True).stdout
    assert [line.split(" ", 1)[1] for line in log.splitlines()] == [
        "KR ingest latency: resolved", "KR ingest latency: first notice"]
    verified = run(["git", "-c", f"gpg.ssh.allowedSignersFile={signers}", "--git-dir", str(origin),
                    "verify-commit", "HEAD"], tmp_path, env)
    assert verified.returncode == 0 and 'Good "git" signature for oncall@example.com' in verified.stderr


def test_the_quick_start_test_command_is_what_ci_runs():
    quick_start = "".join(readme_blocks("## Quick start"))
    assert "bash scripts/test" in quick_start and "bash scripts/build" in quick_start
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8")
    assert "exec bash scripts/test" in ci
