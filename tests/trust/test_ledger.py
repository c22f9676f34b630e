"""The RCA ledger records every published revision once, never rewrites a line, and signs its tree head."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
import rfc8785

from generator.trust import ledger, merkle

KST = timezone(timedelta(hours=9))
FIRST_PUBLISH = datetime(2025, 10, 3, 22, 0, tzinfo=KST)
CORRECTION = datetime(2025, 10, 4, 9, 30, tzinfo=KST)
EN = "rca/2025-10-02-kr-ingest-latency.en.md"


def test_first_publish_records_revision_1_of_each_language(sample_rca):
    entries = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)

    assert sorted((e.lang, e.revision, e.supersedes) for e in entries) == [
        ("en", 1, None), ("ja", 1, None), ("ko", 1, None)]
    en = next(e for e in entries if e.lang == "en")
    assert en.id == "2025-10-02-kr-ingest-latency"
    assert en.path == EN
    assert en.sha256 == hashlib.sha256(sample_rca[EN]).hexdigest()
    assert en.size == len(sample_rca[EN])
    assert en.published_at == "2025-10-03T22:00:00+09:00"


def test_unchanged_files_append_nothing(sample_rca):
    published = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)
    assert ledger.entries_to_append(published, sample_rca, CORRECTION) == []


def test_corrected_rca_is_a_new_revision_superseding_the_old_bytes(sample_rca):
    published = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)
    corrected = {**sample_rca, EN: sample_rca[EN] + b"- Contact: your CSM\n"}

    [entry] = ledger.entries_to_append(published, corrected, CORRECTION)

    assert (entry.lang, entry.revision) == ("en", 2)
    assert entry.supersedes == hashlib.sha256(sample_rca[EN]).hexdigest()
    assert entry.sha256 == hashlib.sha256(corrected[EN]).hexdigest()


def test_ledger_line_is_rfc8785_canonical_json(sample_rca):
    [entry, *_] = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)
    obj = json.loads(entry.line())
    assert entry.line() == rfc8785.dumps(obj)
    assert list(obj) == sorted(obj)
    assert set(obj) == {"id", "revision", "lang", "path", "sha256", "size", "published_at", "supersedes"}


def test_append_keeps_existing_bytes_as_prefix(tmp_path, sample_rca):
    path = tmp_path / "ledger" / "rca.jsonl"
    first = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)
    ledger.append_entries(path, first)
    before = path.read_bytes()

    corrected = {**sample_rca, EN: b"# corrected\n"}
    second = ledger.entries_to_append(ledger.read_ledger(path), corrected, CORRECTION)
    ledger.append_entries(path, second)

    after = path.read_bytes()
    assert after.startswith(before)
    assert ledger.read_ledger(path) == first + second
    assert len(after.splitlines()) == 4


def test_append_refuses_an_entry_that_does_not_chain_onto_the_ledger(tmp_path, sample_rca):
    path = tmp_path / "rca.jsonl"
    first = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)
    ledger.append_entries(path, first)
    before = path.read_bytes()

    with pytest.raises(ledger.LedgerError, match=r"rca\.jsonl:4: revision: expected 2 .* got 1"):
        ledger.append_entries(path, first[:1])
    assert path.read_bytes() == before


def test_hand_edited_line_is_reported_with_file_and_line(tmp_path, sample_rca):
    path = tmp_path / "rca.jsonl"
    ledger.append_entries(path, ledger.entries_to_append([], sample_rca, FIRST_PUBLISH))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = json.dumps(json.loads(lines[1]), indent=1).replace("\n", "").encode() + b"\n"
    path.write_bytes(b"".join(lines))

    with pytest.raises(ledger.LedgerError, match=r"rca\.jsonl:2: not canonical JSON"):
        ledger.read_ledger(path)


def test_time_without_offset_is_reported_with_field(tmp_path, sample_rca):
    [entry, *_] = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)
    obj = {**json.loads(entry.line()), "published_at": "2025-10-03T22:00:00"}
    path = tmp_path / "rca.jsonl"
    path.write_bytes(rfc8785.dumps(obj) + b"\n")

    with pytest.raises(ledger.LedgerError, match=r"rca\.jsonl:1: published_at: expected an ISO 8601 time with offset"):
        ledger.read_ledger(path)


def test_rca_file_name_without_language_is_refused(sample_rca):
    with pytest.raises(ledger.LedgerError, match=r"rca/notes\.md: expected a name like <id>\.<lang>\.md"):
        ledger.entries_to_append([], {**sample_rca, "rca/notes.md": b"x"}, FIRST_PUBLISH)


def test_publication_time_must_carry_an_offset(sample_rca):
    with pytest.raises(ValueError, match="offset"):
        ledger.entries_to_append([], sample_rca, datetime(2025, 10, 3, 22, 0))


def test_checkpoint_body_is_c2sp_and_parses_back(sample_rca, origin):
    entries = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)
    checkpoint = ledger.checkpoint_for(entries, origin)
    root = merkle.root([e.line() for e in entries])

    assert checkpoint.body() == f"{origin}\n3\n{base64.b64encode(root).decode()}\n".encode()
    assert ledger.parse_checkpoint(checkpoint.body()) == checkpoint


def test_malformed_checkpoint_names_the_line(origin):
    with pytest.raises(ledger.LedgerError, match=r"checkpoint:2: tree size"):
        ledger.parse_checkpoint(f"{origin}\nthree\nAAAA\n".encode())


def test_signed_checkpoint_verifies_for_its_key(tmp_path, make_key, allowed_signers, sample_rca, origin):
    ci = make_key("ci@example.com")
    signers = allowed_signers(tmp_path / "allowed_signers", ci)
    entries = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)

    checkpoint = ledger.write_checkpoint(tmp_path, entries, origin, ci.private)

    body = (tmp_path / ledger.CHECKPOINT_PATH).read_bytes()
    signature = (tmp_path / ledger.SIGNATURE_PATH).read_bytes()
    assert body == checkpoint.body()
    assert signature.startswith(b"-----BEGIN SSH SIGNATURE-----")
    assert ledger.signature_problems(body, signature, signers, "ledger/checkpoint") == []


def test_checkpoint_signed_by_unlisted_key_is_a_problem(tmp_path, make_key, allowed_signers, sample_rca, origin):
    ci, intruder = make_key("ci@example.com"), make_key("intruder@example.com")
    signers = allowed_signers(tmp_path / "allowed_signers", ci)
    body = ledger.checkpoint_for(ledger.entries_to_append([], sample_rca, FIRST_PUBLISH), origin).body()

    problems = ledger.signature_problems(body, ledger.sign_checkpoint(body, intruder.private), signers,
                                         "ledger/checkpoint")

    assert len(problems) == 1 and "ledger/checkpoint: signed by a key that is not in" in problems[0]


def test_checkpoint_body_changed_after_signing_is_a_problem(tmp_path, make_key, allowed_signers, origin):
    ci = make_key("ci@example.com")
    signers = allowed_signers(tmp_path / "allowed_signers", ci)
    body = ledger.Checkpoint(origin, 3, bytes(32)).body()
    signature = ledger.sign_checkpoint(body, ci.private)

    problems = ledger.signature_problems(body.replace(b"\n3\n", b"\n4\n"), signature, signers, "ledger/checkpoint")

    assert len(problems) == 1 and "does not verify" in problems[0]


def test_git_commit_signature_cannot_pass_as_checkpoint_signature(tmp_path, make_key, origin):
    # The namespace separates the two uses of the same key.
    ci = make_key("ci@example.com")
    signers = tmp_path / "allowed_signers"
    signers.write_text(ci.allowed_signers_line(namespaces="git,statusgen-ledger") + "\n")
    body = ledger.Checkpoint(origin, 1, bytes(32)).body()

    signature = ledger.sign_checkpoint(body, ci.private, namespace="git")

    assert ledger.signature_problems(body, signature, signers, "ledger/checkpoint") != []


def test_published_proofs_verify_against_the_checkpoint(tmp_path, sample_rca, origin):
    first = ledger.entries_to_append([], sample_rca, FIRST_PUBLISH)
    previous = ledger.checkpoint_for(first, origin)
    corrected = {**sample_rca, EN: b"# corrected\n"}
    entries = first + ledger.entries_to_append(first, corrected, CORRECTION)
    current = ledger.checkpoint_for(entries, origin)

    written = ledger.write_proofs(tmp_path / "proofs", entries, previous)

    assert len(written) == len(entries) + 1
    for index, entry in enumerate(entries):
        doc = json.loads((tmp_path / "proofs" / "inclusion" / f"{index}.json").read_text())
        assert doc["leaf"].encode() == entry.line()
        hashes = [base64.b64decode(h) for h in doc["hashes"]]
        assert merkle.verify_inclusion(doc["leaf"].encode(), index, doc["tree_size"], hashes, current.root)
    doc = json.loads((tmp_path / "proofs" / "consistency-3-4.json").read_text())
    assert merkle.verify_consistency(3, 4, previous.root, current.root, [base64.b64decode(h) for h in doc["hashes"]])


def test_draft_rcas_never_enter_the_ledger(tmp_path):
    from generator.trust.ledger import collect_rca_files

    (tmp_path / "rca").mkdir()
    (tmp_path / "rca" / "a.en.md").write_text("---\nid: a\nincident: a\ntitle: A\n"
                                               "published_at: 2025-10-03T23:26:00+09:00\n---\n\n## Overview\n")
    (tmp_path / "rca" / "b.en.md").write_text("---\nid: b\nincident: b\ntitle: B\n"
                                               "published_at: 2025-10-03T23:26:00+09:00\ndraft: true\n---\n\nWIP\n")
    assert sorted(collect_rca_files(tmp_path)) == ["rca/a.en.md"]
