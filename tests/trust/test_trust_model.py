"""The trust list is evaluated as of each commit's parent, from a root of trust that never comes from the tip.

Real repositories, real ed25519 keys made by ssh-keygen, real SSH-signed commits: a key that adds itself, a
key added by a signer who was already removed, a removed key's old commits, and a history rewritten from
the first commit with a re-signed trust list.
"""
from __future__ import annotations

import shutil

from click.testing import CliRunner

from conftest import INCIDENT, INCIDENT_YAML
from generator.cli import main
from generator.trust import ledger, verify

SIGNERS = ledger.ALLOWED_SIGNERS_PATH


def signers_text(*keys) -> str:
    return "".join(key.allowed_signers_line() + "\n" for key in keys)


def test_a_key_that_adds_itself_is_refused_and_cannot_sign_afterwards(published, make_key):
    mallory = make_key("mallory@example.com")
    before = published.base  # the list in force was set by the first commit
    added = published.repo.commit("Add a signer", {SIGNERS: signers_text(published.alice, published.ci, mallory)},
                                  key=mallory)
    edit = published.repo.commit("Incident edit", {INCIDENT: INCIDENT_YAML + "# by mallory\n"}, key=mallory)

    problems = published.verify()

    assert len(problems) == 2, problems
    assert problems[0].startswith(f"commit {added[:12]} ('Add a signer', touches .github/) is signed by key ")
    assert problems[0].endswith(f"which is not in {SIGNERS} as of {before[:12]} (the first commit that has it)")
    # the refused change never took effect: the next commit is judged by the old list
    assert problems[1].startswith(f"commit {edit[:12]} ('Incident edit', touches incidents/) is signed by key ")
    assert problems[1].endswith(f"which is not in {SIGNERS} as of {before[:12]} (the first commit that has it)")


def test_a_key_added_by_a_signer_who_was_already_removed_is_refused(published, make_key):
    mallory = make_key("mallory@example.com")
    removed = published.repo.commit("Remove alice", {SIGNERS: signers_text(published.ci)}, key=published.ci)
    added = published.repo.commit("Alice adds mallory", {SIGNERS: signers_text(published.ci, mallory)},
                                  key=published.alice)
    published.repo.commit("Mallory edits", {INCIDENT: INCIDENT_YAML + "# by mallory\n"}, key=mallory)

    problems = published.verify()

    assert len(problems) == 2, problems
    assert problems[0].startswith(f"commit {added[:12]} ('Alice adds mallory', touches .github/)")
    assert f"which is not in {SIGNERS} as of {removed[:12]}" in problems[0]
    # alice's change never took effect: the list in force is still the one without alice and mallory
    assert "Mallory edits" in problems[1] and f"as of {removed[:12]}" in problems[1]


def test_a_removed_key_keeps_the_commits_it_signed_while_it_was_trusted(published):
    published.repo.commit("Remove alice", {SIGNERS: signers_text(published.ci)}, key=published.ci)

    assert published.verify() == []
    # and alice can no longer sign
    late = published.repo.commit("Alice after removal", {INCIDENT: INCIDENT_YAML + "# late\n"}, key=published.alice)
    problems = published.verify()
    assert len(problems) == 1 and problems[0].startswith(f"commit {late[:12]}")


def test_history_rewritten_with_a_re_signed_trust_list_fails_against_a_pinned_or_saved_root(published, make_key,
                                                                                            tmp_path, sample_rca):
    saved = published.save_checkpoint(tmp_path / "customer")
    pinned = tmp_path / "customer" / "allowed_signers"
    shutil.copy(published.root / SIGNERS, pinned)
    shutil.copy(pinned, tmp_path / "customer" / ("checkpoint" + verify.SAVED_SIGNERS_SUFFIX))
    ledger_files = {path: (published.root / path).read_bytes()
                    for path in (ledger.LEDGER_PATH, ledger.CHECKPOINT_PATH, ledger.SIGNATURE_PATH)}
    mallory = make_key("mallory@example.com")
    # Mallory rewrites the whole history: a new first commit whose trust list holds her key (and the CI key,
    # so the served checkpoint still verifies), the same RCAs and ledger, every commit signed by her.
    repo = published.repo
    repo.git("checkout", "-q", "--orphan", "rewritten")
    repo.git("rm", "-rq", "--cached", ".")
    for child in published.root.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    root = repo.commit("Allowed signers", {SIGNERS: signers_text(mallory, published.ci)}, key=mallory)
    repo.commit("KR ingest latency incident and RCA", {INCIDENT: INCIDENT_YAML + "# quietly changed\n",
                                                       **sample_rca, **ledger_files}, key=mallory)
    repo.git("branch", "-M", "rewritten", "main")

    # on its own the rewritten repository is self-consistent: that is why the root must not be the tip
    assert published.verify(branch="HEAD") == []
    for problems in (published.verify(allowed_signers=pinned), published.verify(saved_checkpoint=saved)):
        assert any(p.startswith(f"commit {root[:12]} ('Allowed signers', touches .github/) is signed by key ")
                   for p in problems), problems
    result = CliRunner().invoke(main, ["verify", "--root", str(published.root), "--saved-checkpoint", str(saved)])
    assert result.exit_code == 1 and f"commit {root[:12]}" in result.output


def test_the_root_of_trust_is_the_list_as_of_since(published, make_key):
    mallory = make_key("mallory@example.com")
    start = published.repo.git("rev-parse", "HEAD").strip()
    added = published.repo.commit("Add a signer", {SIGNERS: signers_text(published.alice, published.ci, mallory)},
                                  key=mallory)

    problems = published.verify(since=start)

    assert len(problems) == 1 and problems[0].startswith(f"commit {added[:12]}")
    assert f"not in {SIGNERS} as of {start[:12]} (--since)" in problems[0]
    # the same verdict when the root is the first commit's list
    assert [p.split(", which")[0] for p in published.verify()] == [p.split(", which")[0] for p in problems]


def test_publish_refuses_a_self_added_key(published, make_key):
    from datetime import datetime, timedelta, timezone

    import pytest

    from generator.trust.publish import PublishRefused, publish

    mallory = make_key("mallory@example.com")
    added = published.repo.commit("Add a signer", {SIGNERS: signers_text(published.alice, published.ci, mallory)},
                                  key=mallory)
    with pytest.raises(PublishRefused) as refused:
        publish(published.root, published.ci.private, datetime(2025, 10, 5, tzinfo=timezone(timedelta(hours=9))))
    assert any(p.startswith(f"commit {added[:12]}") for p in refused.value.problems), refused.value.problems
