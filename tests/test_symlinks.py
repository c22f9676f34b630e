"""Symbolic links never publish the build machine: check, build and publish refuse links out of the repository.

Each test plants a link in a real repository, pointing at a file outside it that holds a secret (as
`/proc/self/environ` would on a CI runner), and runs the real command. The link is named, the secret and the
target's path never appear in any output or built file, and a previously built site stays as it was.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SAMPLE_NOW, copy_sample, git, init_git, tree_digest
from generator.cli import main

SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
REFUSED = "is a symbolic link pointing outside the repository"


@pytest.fixture
def secret_file(tmp_path) -> Path:
    """A file outside the repository holding a secret, in the YAML-ish shape a loader might echo back."""
    outside = tmp_path / "runner" / "environ"
    outside.parent.mkdir()
    outside.write_text(f"id: leaked\n{SECRET}\n: [not yaml\n", encoding="utf-8")
    return outside


@pytest.fixture
def content(tmp_path) -> Path:
    return copy_sample(tmp_path / "status")


def run(*args: str):
    return CliRunner().invoke(main, [*args, "--now", SAMPLE_NOW.isoformat()])


def assert_refused(result, link: str, secret_file: Path) -> None:
    assert result.exit_code == 1, result.output
    assert f"{link}:1: {REFUSED}" in result.output
    assert SECRET not in result.output and "wJalrXUtnFEMI" not in result.output
    assert str(secret_file) not in result.output and "runner/environ" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("link", ["incidents/2025/2025-11-01-leak.yaml", "maintenance/leak.yaml",
                                  "rca/2025-10-02-kr-ingest-latency.en.md", "status.yaml", "glossary.yaml"])
def test_check_refuses_a_content_file_linked_out_of_the_repository_without_echoing_it(content, secret_file, link):
    target = content / link
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    target.symlink_to(secret_file)

    result = run("check", "--root", str(content))

    assert_refused(result, link, secret_file)


def test_a_content_folder_linked_out_of_the_repository_is_refused(content, tmp_path, secret_file):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "2025-11-01-leak.yaml").symlink_to(secret_file)
    (content / "incidents" / "2026").symlink_to(outside, target_is_directory=True)

    assert_refused(run("check", "--root", str(content)), "incidents/2026", secret_file)


@pytest.mark.parametrize("link", ["site/docs/env.txt", "site/docs/assets/passwd.css", "site/overrides/main.html"])
def test_build_refuses_a_site_source_linked_out_of_the_repository_and_keeps_the_old_site(content, secret_file,
                                                                                          link):
    out = content / "public"
    assert run("build", "--root", str(content), "--out", str(out)).exit_code == 0
    before = tree_digest(out)
    target = content / link
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(secret_file)

    result = run("build", "--root", str(content), "--out", str(out))

    assert_refused(result, link, secret_file)
    assert tree_digest(out) == before
    assert not any(SECRET.encode() in p.read_bytes() for p in out.rglob("*") if p.is_file())


def test_a_link_to_etc_passwd_and_proc_environ_is_refused_whole_folders_too(content):
    (content / "site" / "docs").mkdir(parents=True, exist_ok=True)
    (content / "site" / "docs" / "passwd.txt").symlink_to("/etc/passwd")
    (content / "site" / "docs" / "environ.txt").symlink_to("/proc/self/environ")
    (content / "site" / "overrides").symlink_to("/etc", target_is_directory=True)

    result = run("build", "--root", str(content), "--out", str(content / "public"))

    assert result.exit_code == 1
    for link in ("site/docs/environ.txt", "site/docs/passwd.txt", "site/overrides"):
        assert f"{link}:1: {REFUSED}" in result.output
    assert "root:x:0:0" not in result.output and "/etc" not in result.output
    assert not (content / "public").exists()


def test_a_link_into_dot_git_is_refused_because_a_ci_checkout_keeps_its_token_there(content):
    init_git(content)
    (content / "site" / "docs").mkdir(parents=True, exist_ok=True)
    (content / "site" / "docs" / "config.txt").symlink_to("../../.git/config")

    result = run("build", "--root", str(content), "--out", str(content / "public"))

    assert result.exit_code == 1 and f"site/docs/config.txt:1: {REFUSED}" in result.output


def test_a_link_that_stays_inside_the_repository_is_read_like_its_file(content):
    (content / "site" / "docs").mkdir(parents=True, exist_ok=True)
    (content / "site" / "docs" / "about.txt").symlink_to("../README.md")

    result = run("build", "--root", str(content), "--out", str(content / "public"))

    assert result.exit_code == 0, result.output
    assert (content / "public" / "about.txt").read_bytes() == (content / "site" / "README.md").read_bytes()


def test_publish_refuses_a_committed_link_out_of_the_repository_with_a_clear_message(content, make_key):
    key = make_key("ci@example.com")
    init_git(content)
    (content / "site" / "docs").mkdir(parents=True, exist_ok=True)
    (content / "site" / "docs" / "environ.txt").symlink_to("/proc/self/environ")
    (content / "site" / "docs" / "up.txt").symlink_to("../../../../etc/passwd")
    git(content, "add", "-A")
    git(content, "commit", "-q", "-m", "A link that would publish the runner")
    head = git(content, "rev-parse", "HEAD")

    result = CliRunner().invoke(main, ["publish", "--root", str(content), "--key", str(key.private),
                                       "--now", SAMPLE_NOW.isoformat()])

    assert result.exit_code == 1, result.output
    assert "holds symbolic links out of the repository; nothing was published" in result.output
    assert f"FAIL  site/docs/environ.txt: {REFUSED}" in result.output
    assert f"FAIL  site/docs/up.txt: {REFUSED}" in result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert "/proc/self/environ" not in result.output
    assert git(content, "rev-parse", "HEAD") == head
    assert "gh-pages" not in git(content, "branch", "--list")
    assert os.path.islink(content / "site" / "docs" / "environ.txt")
