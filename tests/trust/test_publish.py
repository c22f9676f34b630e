"""`statusgen publish`: signed publish commits chained on the publish branch, the ledger on the source branch,
and a refusal for each kind of tampering. Real git, real keys, the shipped sample content."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import rfc8785
from click.testing import CliRunner

from generator.trust import ledger, merkle, verify
from generator.cli import main
from generator.trust.publish import PublishRefused, publish

from conftest import copy_sample, write_allowed_signers

KST = timezone(timedelta(hours=9))
FIRST = datetime(2025, 10, 26, 12, 0, tzinfo=KST)
SECOND = datetime(2025, 10, 27, 9, 30, tzinfo=KST)
EN = "rca/2025-10-02-kr-ingest-latency.en.md"
INCIDENT = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"


class StatusRepo:
    """The sample content in a real git repository: alice (engineer) signs content, ci publishes."""

    def __init__(self, repo, make_key):
        self.repo = repo
        self.root = repo.path
        copy_sample(self.root)
        self.alice = make_key("alice@example.com")
        self.ci = make_key("ci@example.com")
        self.signers = write_allowed_signers(self.root / ledger.ALLOWED_SIGNERS_PATH, self.alice, self.ci)
        self.content = repo.commit("Sample status content", key=self.alice)

    def publish(self, now=FIRST, **kwargs):
        return publish(self.root, self.ci.private, now, **kwargs)

    def git(self, *args):
        return self.repo.git(*args)

    def verify_commit(self, sha):
        """`git verify-commit` with the repository's allowed-signers file; returns git's report."""
        done = subprocess.run(["git", "-C", str(self.root), "-c", f"gpg.ssh.allowedSignersFile={self.signers}",
                               "verify-commit", sha], capture_output=True, text=True, env=self.repo.env)
        assert done.returncode == 0, done.stderr
        return done.stderr

    def checkout_site(self, rev, target: Path) -> Path:
        """The files of a publish commit, as GitHub Pages would serve them."""
        target.mkdir(parents=True)
        archive = target.parent / "site.tar"
        self.git("archive", "--format=tar", f"--output={archive}", rev)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        return target

    def site_ledger(self, rev, tmp_path, name):
        served = self.checkout_site(rev, tmp_path / name) / "ledger"
        return ledger.read_ledger(served / "rca.jsonl"), ledger.parse_checkpoint((served / "checkpoint").read_bytes())


@pytest.fixture
def status(repo, make_key):
    return StatusRepo(repo, make_key)


def _refusal(status, **kwargs) -> str:
    with pytest.raises(PublishRefused) as refused:
        status.publish(**kwargs)
    return "\n".join(refused.value.problems)


# --- publishing ------------------------------------------------------------------------------------


def test_first_publish_makes_a_signed_root_commit_recording_source_and_ledger_root(status):
    result = status.publish()

    assert status.git("rev-parse", "gh-pages").strip() == result.commit
    assert result.parent is None and not status.git("log", "--format=%P", "-1", result.commit).strip()
    assert "Good \"git\" signature for ci@example.com" in status.verify_commit(result.commit)
    message = status.git("log", "--format=%B", "-1", result.commit)
    assert f"Source-Commit: {result.source}" in message
    assert f"Ledger-Root: {base64.b64encode(result.checkpoint.root).decode()}" in message
    assert [e.path for e in result.appended] == sorted(
        p for p in status.git("ls-files", "rca").split() if p.endswith(".md"))


def test_two_publishes_chain_and_the_second_ledger_extends_the_first(status, tmp_path):
    first = status.publish()
    status.repo.commit("Correct the EN RCA", {EN: (status.root / EN).read_text() + "\nCorrected.\n"},
                       key=status.alice)
    second = status.publish(SECOND)

    assert status.git("log", "--format=%P", "-1", second.commit).strip() == first.commit
    status.verify_commit(first.commit)
    status.verify_commit(second.commit)
    first_entries, first_cp = status.site_ledger(first.commit, tmp_path, "first")
    second_entries, second_cp = status.site_ledger(second.commit, tmp_path, "second")
    assert (first_cp.size, second_cp.size) == (3, 4)
    assert second_entries[:3] == first_entries
    assert (second_entries[3].path, second_entries[3].revision) == (EN, 2)
    proof = json.loads((tmp_path / "second/ledger/proofs/consistency-3-4.json").read_text())
    assert merkle.verify_consistency(3, 4, first_cp.root, second_cp.root,
                                     [base64.b64decode(h) for h in proof["hashes"]])
    assert verify.check_append_only(second_entries, first_cp) == []


def test_the_ledger_is_committed_signed_on_the_source_branch_and_the_checkout_stays_clean(status):
    result = status.publish()

    assert status.git("rev-parse", "HEAD").strip() == result.ledger_commit == result.source
    assert status.git("rev-parse", "HEAD^").strip() == status.content
    assert status.git("diff", "--name-only", "HEAD^", "HEAD").split() == [
        ledger.CHECKPOINT_PATH, ledger.SIGNATURE_PATH, ledger.LEDGER_PATH]
    status.verify_commit(result.ledger_commit)
    assert status.git("status", "--porcelain") == ""
    assert verify.verify_repository(status.root) == []


def test_publish_builds_the_commit_not_uncommitted_edits_and_leaves_them_alone(status, tmp_path):
    incident = status.root / INCIDENT
    edited = incident.read_text().replace("KR", "XX", 1)
    incident.write_text(edited)
    (status.root / "notes.txt").write_text("scratch\n")

    result = status.publish()

    assert incident.read_text() == edited and (status.root / "notes.txt").read_text() == "scratch\n"
    assert status.git("status", "--porcelain").split() == ["M", INCIDENT, "??", "notes.txt"]
    site = status.checkout_site(result.commit, tmp_path / "site")
    assert (site / "ledger" / EN).read_bytes() == status.git("show", f"HEAD:{EN}").encode()


def test_publishing_again_without_changes_changes_nothing(status):
    first = status.publish()
    again = status.publish()

    assert again.unchanged and again.commit == first.commit and again.ledger_commit is None
    assert status.git("rev-parse", "HEAD").strip() == first.source


def test_push_sends_the_publish_branch_and_the_ledger_commit(status, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    status.git("remote", "add", "origin", str(remote))
    status.git("push", "-q", "origin", "main")

    result = status.publish(push="origin")

    heads = subprocess.run(["git", "-C", str(remote), "show-ref"], capture_output=True, text=True).stdout
    assert f"{result.commit} refs/heads/gh-pages" in heads
    assert f"{result.ledger_commit} refs/heads/main" in heads


def test_a_ci_checkout_with_only_the_remote_tracking_branch_continues_the_chain(status, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    status.git("remote", "add", "origin", str(remote))
    status.git("push", "-q", "origin", "main")
    first = status.publish(push="origin")
    status.git("branch", "-D", "gh-pages")
    status.git("fetch", "-q", "origin")

    second = status.publish(SECOND, push="origin")

    assert second.parent == first.commit
    assert status.git("log", "--format=%P", "-1", second.commit).strip() == first.commit


# --- refusals ----------------------------------------------------------------------------------------


def test_refuses_an_unsigned_commit_touching_incidents(status):
    status.repo.commit("Unsigned incident update", {INCIDENT: (status.root / INCIDENT).read_text() + "\n"})

    problems = _refusal(status)

    assert "is not signed" in problems and "incidents/" in problems
    assert "gh-pages" not in status.git("branch")


def test_refuses_a_commit_signed_by_a_key_not_in_allowed_signers(status, make_key):
    mallory = make_key("mallory@example.com")
    status.repo.commit("Foreign-signed incident", {INCIDENT: (status.root / INCIDENT).read_text() + "\n"},
                       key=mallory)

    assert "is signed by a key that is not in" in _refusal(status)


def test_refuses_an_rca_and_its_ledger_line_edited_together(status):
    status.publish()
    lines = (status.root / ledger.LEDGER_PATH).read_bytes().splitlines()
    forged = {**json.loads(lines[0]), "sha256": "0" * 64}
    lines[0] = rfc8785.dumps(forged)
    status.repo.commit("Rewrite a ledger line", {ledger.LEDGER_PATH: b"\n".join(lines) + b"\n"}, key=status.alice)

    problems = _refusal(status, now=SECOND)

    assert "ledger/checkpoint: root" in problems and "a ledger line was changed" in problems


def test_refuses_when_the_served_rca_copy_was_edited_on_the_publish_branch(status, tmp_path):
    first = status.publish()
    worktree = tmp_path / "pages"
    status.git("worktree", "add", "-q", str(worktree), "gh-pages")
    served = worktree / "ledger" / EN
    served.write_text(served.read_text().replace("shard skew", "a cosmic ray"))
    status.git("-C", str(worktree), "-c", "gpg.format=ssh", "-c", f"user.signingkey={status.ci.private}",
               "-c", "user.email=ci@example.com", "-c", "user.name=CI", "commit", "-q", "-S", "-am", "Soften")

    problems = _refusal(status, now=SECOND)

    assert f"publish commit" in problems and f"served {EN}: sha256" in problems
    assert "edited after publication" in problems
    assert status.git("rev-parse", "gh-pages^").strip() == first.commit  # nothing new was committed


def test_refuses_a_history_rewritten_and_resigned_with_the_right_keys(status):
    status.publish()
    status.git("reset", "-q", "--hard", status.content)
    status.repo.commit("Different RCA", {EN: (status.root / EN).read_text().replace("shard skew", "load")},
                       key=status.alice)

    problems = _refusal(status, now=SECOND)

    assert "fewer than the 3 of the checkpoint of publish commit" in problems


def test_refuses_a_signing_key_that_customers_could_not_verify(status, make_key):
    stranger = make_key("stranger@example.com")

    with pytest.raises(PublishRefused, match="is not in .github/allowed_signers"):
        publish(status.root, stranger.private, FIRST)


# --- what customers get --------------------------------------------------------------------------------


def test_customer_script_verifies_the_site_publish_built(status, tmp_path):
    first = status.publish()
    site = status.checkout_site(first.commit, tmp_path / "site")
    saved = tmp_path / "customer" / "checkpoint"
    saved.parent.mkdir()

    def run(site_dir, *args):
        done = subprocess.run([sys.executable, "-I", str(site_dir / "ledger" / "verify_rca.py"), "--site",
                               str(site_dir), "--public-key", f"{status.ci.private}.pub", *map(str, args)],
                              capture_output=True, text=True, cwd=tmp_path)
        return done.returncode, done.stdout + done.stderr

    code, output = run(site, "--save-checkpoint", saved)
    assert code == 0, output
    assert output.count("is the latest revision") == 3

    status.repo.commit("Correct the EN RCA", {EN: (status.root / EN).read_text() + "\nCorrected.\n"},
                       key=status.alice)
    second = status.publish(SECOND)
    code, output = run(status.checkout_site(second.commit, tmp_path / "site2"), "--saved-checkpoint", saved)
    assert code == 0, output
    assert "the ledger extends your saved checkpoint (3 -> 4 entries)" in output


def test_site_has_a_verify_page_in_each_language(status, tmp_path):
    site = status.checkout_site(status.publish().commit, tmp_path / "site")

    for page in ("verify/index.html", "ja/verify/index.html", "en/verify/index.html"):
        html = (site / page).read_text()
        assert "verify_rca.py" in html and "ssh-keygen" in html, page


def test_plain_build_serves_the_ledger_when_the_repository_has_one(status, tmp_path):
    status.publish()

    result = CliRunner().invoke(main, ["build", "--root", str(status.root), "--now", FIRST.isoformat(),
                                       "--out", str(tmp_path / "public")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "public"

    assert (out / "ledger" / "rca.jsonl").read_bytes() == (status.root / ledger.LEDGER_PATH).read_bytes()
    assert (out / "ledger" / "verify_rca.py").read_bytes() == ledger.VERIFY_SCRIPT.read_bytes()


def test_plain_build_without_a_ledger_serves_none(built_sample):
    assert not (built_sample / "ledger").exists()


# --- the command line --------------------------------------------------------------------------------


def test_cli_publish_then_verify(status):
    runner = CliRunner()
    published = runner.invoke(main, ["publish", "--root", str(status.root), "--key", str(status.ci.private),
                                     "--now", FIRST.isoformat()])
    assert published.exit_code == 0, published.output
    assert "published" in published.output and "on gh-pages" in published.output

    verified = runner.invoke(main, ["verify", "--root", str(status.root)])
    assert verified.exit_code == 0, verified.output


def test_cli_verify_prints_each_failure_and_exits_1(status):
    status.publish()
    (status.root / EN).write_text("# nothing happened\n")
    status.repo.commit("Quiet edit", key=status.alice)

    result = CliRunner().invoke(main, ["verify", "--root", str(status.root)])

    assert result.exit_code == 1
    assert f"FAIL  {EN}: sha256" in result.stderr and "1 problem(s)" in result.stderr


def test_cli_publish_refusal_prints_the_problems_and_exits_1(status):
    status.repo.commit("Unsigned", {INCIDENT: (status.root / INCIDENT).read_text() + "\n"})

    result = CliRunner().invoke(
        main, ["publish", "--root", str(status.root), "--key", str(status.ci.private), "--now", FIRST.isoformat()])

    assert result.exit_code == 1
    assert "is not signed" in result.stderr and "nothing was published" in result.stderr


def test_refuses_a_source_branch_that_no_longer_holds_the_last_published_source(status):
    first = status.publish()
    status.git("reset", "-q", "--hard", status.content)
    status.repo.commit("Quietly different incident", {INCIDENT: (status.root / INCIDENT).read_text() + "# x\n"},
                       key=status.alice)

    problems = _refusal(status, now=SECOND)

    assert (f"publish commit {first.commit[:12]} was built from {first.source[:12]}, which is not in the history"
            in problems)
    assert "the source branch was rewritten since the last publication" in problems


def test_after_a_publication_signatures_are_checked_from_the_signers_it_served(status, make_key):
    status.publish()
    mallory = make_key("mallory@example.com")
    signers = status.root / ledger.ALLOWED_SIGNERS_PATH
    added = status.repo.commit("Add a signer", {ledger.ALLOWED_SIGNERS_PATH: signers.read_text()
                                                + mallory.allowed_signers_line() + "\n"}, key=mallory)

    problems = _refusal(status, now=SECOND)

    assert f"commit {added[:12]} ('Add a signer', touches .github/) is signed by key" in problems
    assert "which is not in" in problems and "ledger/allowed_signers" in problems


def test_first_publish_of_a_repository_without_any_rca_succeeds_with_an_empty_ledger(status, tmp_path):
    # Every new company's first publish: no RCA yet, so nothing to append. An empty ledger is a valid ledger.
    status.git("rm", "-q", "-r", "rca")
    kept = status.root / "incidents" / "2025" / "2025-10-02-kr-ingest-latency.yaml"
    text = kept.read_text(encoding="utf-8").replace("rca: 2025-10-02-kr-ingest-latency\n", "")
    kept.write_text(text, encoding="utf-8")
    status.repo.commit("No RCA yet", key=status.alice)

    result = status.publish()

    assert result.appended == () and result.checkpoint.size == 0
    assert (status.root / ledger.LEDGER_PATH).read_bytes() == b""
    entries, checkpoint = status.site_ledger(result.commit, tmp_path, "first")
    assert entries == [] and checkpoint.size == 0
    assert not status.git("status", "--porcelain").strip()
    second = status.publish()
    assert second.unchanged and second.commit == result.commit
