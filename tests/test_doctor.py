"""`statusgen doctor` on real repositories with real ssh-keygen keys: each missing piece is named with its fix,
and a machine set up for signing passes."""
from __future__ import annotations

import os
import subprocess

import pytest
from click.testing import CliRunner

from generator.cli import main

from conftest import GitRepo, write_allowed_signers


@pytest.fixture(autouse=True)
def no_user_git_config(monkeypatch):
    # The repository's own git config only: the machine's global configuration must not leak into the test.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def doctor(repo: GitRepo):
    return CliRunner().invoke(main, ["doctor", "--root", str(repo.path)])


def publishable(repo: GitRepo) -> None:
    repo.write({".github/workflows/publish.yml": "env:\n  KEY: ${{ secrets.STATUSGEN_SIGNING_KEY }}\n"})


def test_doctor_without_signing_names_each_missing_piece_with_its_fix(repo):
    publishable(repo)
    result = doctor(repo)
    assert result.exit_code == 1
    assert "FAIL  gpg.format: gpg.format = (unset)\n      fix: git config gpg.format ssh" in result.output
    assert "FAIL  user.signingkey: no signing key configured" in result.output
    assert "FAIL  allowed_signers: .github/allowed_signers is missing" in result.output
    assert "FAIL  remote: no remote 'origin'\n      fix: git remote add origin" in result.output
    assert "warn  commit.gpgsign" in result.output
    assert "ok    python: Python 3." in result.output and "ok    mkdocs: mkdocs 1." in result.output


def test_doctor_prints_the_allowed_signers_line_for_a_key_not_yet_listed(repo, make_key):
    publishable(repo)
    me, other = make_key("oncall@example.com"), make_key("lead@example.com")
    write_allowed_signers(repo.path / ".github/allowed_signers", other)
    for key, value in (("gpg.format", "ssh"), ("user.signingkey", f"{me.private}.pub"), ("user.email", me.principal)):
        repo.git("config", key, value)
    result = doctor(repo)
    assert result.exit_code == 1
    assert "FAIL  allowed_signers: your key SHA256:" in result.output
    assert f'oncall@example.com namespaces="git,statusgen-ledger" {" ".join(me.public_line.split()[:2])}' in result.output


def test_doctor_with_signing_set_up_is_ready_to_publish(repo, make_key, tmp_path):
    publishable(repo)
    me = make_key("oncall@example.com")
    write_allowed_signers(repo.path / ".github/allowed_signers", me)
    for key, value in (("gpg.format", "ssh"), ("user.signingkey", f"{me.private}.pub"), ("user.email", me.principal),
                       ("commit.gpgsign", "true")):
        repo.git("config", key, value)
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    repo.git("remote", "add", "origin", str(bare))
    result = doctor(repo)
    assert result.exit_code == 0, result.output
    assert "ok    allowed_signers: your key SHA256:" in result.output and "listed for oncall@example.com" in result.output
    assert "ok    signing secret:" in result.output
    assert "warn  publish branch: no gh-pages branch yet" in result.output  # the first publish makes it
    assert result.output.rstrip().endswith("ready to publish")


def test_doctor_refuses_a_key_listed_under_another_principal(repo, make_key):
    publishable(repo)
    me = make_key("oncall@example.com")
    write_allowed_signers(repo.path / ".github/allowed_signers", me)
    for key, value in (("gpg.format", "ssh"), ("user.signingkey", f"{me.private}.pub"),
                       ("user.email", "someone.else@example.com")):
        repo.git("config", key, value)
    result = doctor(repo)
    assert result.exit_code == 1
    assert "but git commits as someone.else@example.com" in result.output
    assert "fix: git config user.email oncall@example.com" in result.output
