"""`verify` catches each way published history can be tampered with, and names the file, line or commit."""
from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import rfc8785

from generator.trust import ledger, verify

KST = timezone(timedelta(hours=9))
EN = "rca/2025-10-02-kr-ingest-latency.en.md"
INCIDENT = "incidents/2025/kr-ingest-latency.yaml"
INCIDENT_YAML = "id: kr-ingest-latency\nseverity: S2\nregion: KR\nstatus: resolved\n"  # as in conftest


def _only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


def test_published_repository_verifies(published):
    assert published.verify() == []


def test_correction_published_as_new_revision_verifies_against_saved_checkpoint(published, tmp_path):
    saved = published.save_checkpoint(tmp_path / "customer")
    published.repo.commit("Correct the EN RCA", {EN: "# RCA (corrected)\n"}, key=published.alice)
    publication = published.publish(datetime(2025, 10, 4, 9, 30, tzinfo=KST))

    assert [e.revision for e in publication.appended] == [2]
    assert published.verify(saved_checkpoint=saved) == []


def test_rca_edited_after_publication_is_reported(published):
    published.repo.commit("Quietly soften the EN RCA", {EN: "# RCA: nothing happened\n"}, key=published.alice)

    problem = _only(published.verify())

    assert problem.startswith(f"{EN}: sha256 ")
    assert "ledger/rca.jsonl:1" in problem and "edited after publication" in problem


def test_rca_and_its_ledger_line_edited_together_is_caught_by_the_checkpoint(published):
    new_text = b"# RCA: nothing happened\n"
    path = published.root / ledger.LEDGER_PATH
    lines = path.read_bytes().splitlines()
    index = next(i for i, line in enumerate(lines) if json.loads(line)["path"] == EN)
    forged = {**json.loads(lines[index]), "sha256": hashlib.sha256(new_text).hexdigest(),
              "size": len(new_text)}
    lines[index] = rfc8785.dumps(forged)
    path.write_bytes(b"\n".join(lines) + b"\n")
    published.repo.commit("Rewrite RCA and ledger", {EN: new_text}, key=published.alice)

    problem = _only(published.verify())

    assert problem.startswith("ledger/checkpoint: root ")
    assert "a ledger line was changed after the checkpoint was signed" in problem


def test_checkpoint_signed_with_the_wrong_key_is_reported(published, make_key):
    intruder = make_key("intruder@example.com")
    body = (published.root / ledger.CHECKPOINT_PATH).read_bytes()
    (published.root / ledger.SIGNATURE_PATH).write_bytes(ledger.sign_checkpoint(body, intruder.private))

    problem = _only(published.verify(check_commits=False))

    assert problem.startswith("ledger/checkpoint: signed by a key that is not in")


def test_unsigned_commit_touching_incidents_is_reported(published):
    sha = published.repo.commit("Edit incident without signing", {INCIDENT: INCIDENT_YAML + "impact: major\n"})

    problem = _only(published.verify())

    assert problem == (f"commit {sha[:12]} ('Edit incident without signing', touches incidents/) is not signed")


def test_an_unsigned_commit_adding_a_key_to_allowed_signers_is_reported(published, make_key):
    mallory = make_key("mallory@example.com")
    signers = published.root / ledger.ALLOWED_SIGNERS_PATH
    sha = published.repo.commit("Add a signer", {ledger.ALLOWED_SIGNERS_PATH: signers.read_text()
                                                 + mallory.allowed_signers_line() + "\n"})

    problems = published.verify()

    assert f"commit {sha[:12]} ('Add a signer', touches .github/) is not signed" in problems


def test_unsigned_commit_outside_watched_paths_is_not_reported(published):
    published.repo.commit("Docs typo", {"README.md": "statusgen\n"})
    assert published.verify() == []


def test_commit_signed_by_a_key_not_in_allowed_signers_is_reported(published, make_key):
    mallory = make_key("mallory@example.com")
    sha = published.repo.commit("Maintenance window", {"maintenance/2025-10-10.yaml": "id: m1\n"}, key=mallory)

    problem = _only(published.verify())

    assert problem.startswith(f"commit {sha[:12]} ('Maintenance window', touches maintenance/) "
                              "is signed by a key that is not in")
    fingerprint = subprocess.run(["ssh-keygen", "-lf", f"{mallory.private}.pub"], capture_output=True,
                                 text=True, check=True).stdout.split()[1]
    assert fingerprint in problem


def test_committer_using_the_ci_key_is_reported_although_git_says_good(published):
    sha = published.repo.commit("Edit RCA with the CI key", {INCIDENT: INCIDENT_YAML + "# x\n"},
                                key=published.ci, author="bob@example.com")

    problem = _only(published.verify())

    assert problem.startswith(f"commit {sha[:12]}")
    assert "committed by bob@example.com but signed with the key of ci@example.com" in problem


def test_commits_before_the_start_are_not_checked(published):
    published.repo.commit("Old unsigned incident", {INCIDENT: INCIDENT_YAML + "# old\n"})
    start = published.repo.git("rev-parse", "HEAD").strip()
    published.repo.commit("Signed follow-up", {INCIDENT: INCIDENT_YAML + "# new\n"}, key=published.alice)

    assert published.verify(since=start) == []
    assert len(published.verify()) == 1


def test_unknown_start_revision_is_reported(published):
    assert "no commit 'v9.9'" in _only(published.verify(since="v9.9"))


def test_deleted_rca_is_reported_by_ledger_line(published):
    (published.root / EN).unlink()
    published.repo.commit("Remove EN RCA", key=published.alice)

    problem = _only(published.verify())

    assert problem.startswith("ledger/rca.jsonl:")
    assert f"{EN} (revision 1) is in the ledger but the file is missing" in problem


def test_history_rewritten_and_resigned_is_caught_only_against_a_saved_checkpoint(published, tmp_path,
                                                                                   sample_rca):
    saved = published.save_checkpoint(tmp_path / "customer")
    # The operator rewrites the RCA and the ledger from scratch and re-signs every commit and the
    # checkpoint with the right keys, so the repository on its own is self-consistent again.
    published.rewrite_history({**sample_rca, EN: "# RCA: a minor blip\n"})

    assert published.verify() == []
    problem = _only(published.verify(saved_checkpoint=saved))
    assert problem.startswith("ledger/rca.jsonl: the first 3 entries no longer hash to the root of")
    assert "published history was rewritten" in problem


def test_saved_checkpoint_larger_than_the_ledger_means_entries_were_removed(published, tmp_path):
    saved = published.save_checkpoint(tmp_path / "customer")
    path = published.root / ledger.LEDGER_PATH
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:2]))

    problems = published.verify(saved_checkpoint=saved, check_commits=False)

    assert any("has 2 entries, fewer than the 3 of" in p for p in problems)


def test_key_fingerprint_matches_ssh_keygen(make_key):
    key = make_key("alice@example.com")
    expected = subprocess.run(["ssh-keygen", "-lf", f"{key.private}.pub"], capture_output=True,
                              text=True, check=True).stdout.split()[1]
    assert verify.key_fingerprint(key.public_line.split()[1]) == expected


def test_malformed_allowed_signers_line_is_reported_with_line(tmp_path):
    with pytest.raises(ledger.LedgerError, match=r"allowed_signers:2: expected"):
        verify.parse_allowed_signers("# signers\nalice@example.com not-a-key\n", "allowed_signers")


def test_commit_check_outside_a_git_repository_is_a_problem_not_a_crash(tmp_path, make_key, allowed_signers):
    signers = allowed_signers(tmp_path / "allowed_signers", make_key("alice@example.com"))
    (tmp_path / "site").mkdir()

    assert "not a git repository" in _only(verify.check_commit_signatures(tmp_path / "site", signers))


def test_merged_side_branch_commit_without_signature_is_reported(published):
    repo = published.repo
    repo.git("checkout", "-q", "-b", "hotfix")
    sha = repo.commit("Unsigned hotfix to the incident", {INCIDENT: INCIDENT_YAML + "# hotfix\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("Unrelated signed change", {"README.md": "statusgen\n"}, key=published.alice)
    repo.git("-c", "user.email=alice@example.com", "-c", "user.name=Alice", "-c", "gpg.format=ssh",
             "-c", f"user.signingkey={published.alice.private}", "merge", "-q", "-S", "--no-edit", "hotfix")

    problems = published.verify()

    assert any(p.startswith(f"commit {sha[:12]}") and p.endswith("is not signed") for p in problems), problems
