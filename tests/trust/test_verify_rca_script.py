"""The customer's standalone `verify_rca.py`, run as a customer would: against a built site in a tmp dir."""
from __future__ import annotations

import functools
import http.server
import importlib.machinery
import importlib.util
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.trust import ledger, merkle


EN = "rca/2025-10-02-kr-ingest-latency.en.md"
KST = timezone(timedelta(hours=9))


def run_script(site_ledger, *args):
    """Run the copy of the script the site serves, with only the standard library on its path."""
    done = subprocess.run([sys.executable, "-I", str(site_ledger / "verify_rca.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=site_ledger.parent)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def site(published, tmp_path):
    """Build the site's ledger directory from the published repository."""
    def build(previous=None):
        target = tmp_path / "site"
        shutil.rmtree(target, ignore_errors=True)
        return ledger.export_ledger(published.root, target, previous)
    return build


def test_every_latest_rca_on_the_site_verifies(published, site):
    served = site()

    code, output = run_script(served, "--site", served.parent, "--public-key", f"{published.ci.private}.pub")

    assert code == 0, output
    assert "FAIL" not in output
    assert output.count("is the latest revision") == 3


def test_site_serves_proofs_and_script(site, published):
    served = site()
    for name in ("rca.jsonl", "checkpoint", "checkpoint.sig", "allowed_signers", "verify_rca.py",
                 "proofs/inclusion/0.json", "proofs/inclusion/2.json", EN):
        assert (served / name).is_file(), name


def test_downloaded_rca_that_was_edited_fails(site, published, tmp_path):
    served = site()
    downloaded = tmp_path / "downloaded.en.md"
    downloaded.write_bytes((served / EN).read_bytes().replace(b"shard skew", b"a cosmic ray"))

    code, output = run_script(served, "--site", served.parent, downloaded)

    assert code == 1
    assert f"FAIL  {downloaded}: sha256" in output and "is in no ledger entry" in output


def test_checkpoint_signed_with_another_key_fails_against_pinned_key(site, published, make_key):
    served = site()
    intruder = make_key("intruder@example.com")
    (served / "checkpoint.sig").write_bytes(ledger.sign_checkpoint((served / "checkpoint").read_bytes(),
                                                                   intruder.private))

    code, output = run_script(served, "--site", served.parent, "--public-key", f"{published.ci.private}.pub")

    assert code == 1
    assert "FAIL  checkpoint: signed by a key that is not among the trusted keys" in output


def test_ledger_line_changed_after_signing_fails(site, published):
    served = site()
    lines = (served / "rca.jsonl").read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b"2025-10-03T22:00:00+09:00", b"2025-10-03T21:00:00+09:00")
    (served / "rca.jsonl").write_bytes(b"".join(lines))

    code, output = run_script(served, "--site", served.parent)

    assert code == 1
    assert "does not hash to the checkpoint root" in output


def test_saved_checkpoint_then_correction_verifies_and_superseded_copy_is_noted(site, published, tmp_path):
    first = site()
    saved = tmp_path / "customer" / "checkpoint"
    saved.parent.mkdir()
    old_copy = tmp_path / "customer" / "rca.en.md"
    old_copy.write_bytes((first / EN).read_bytes())
    code, output = run_script(first, "--site", first.parent, "--save-checkpoint", saved)
    assert code == 0, output

    previous = ledger.parse_checkpoint((published.root / ledger.CHECKPOINT_PATH).read_bytes())
    published.repo.commit("Correct EN RCA", {EN: "# RCA (corrected)\n"}, key=published.alice)
    published.publish(datetime(2025, 10, 4, 9, 30, tzinfo=KST))
    second = site(previous)

    code, output = run_script(second, "--site", second.parent, "--saved-checkpoint", saved, old_copy)

    assert code == 0, output
    assert "the ledger extends your saved checkpoint (3 -> 4 entries)" in output
    assert "superseded by revision 2" in output
    assert (second / "proofs" / "consistency-3-4.json").is_file()


def test_a_saved_checkpoint_keeps_the_served_signers_as_the_root_of_trust_for_statusgen_verify(site, published,
                                                                                              tmp_path, make_key):
    first = site()
    saved = tmp_path / "customer" / "checkpoint"
    saved.parent.mkdir()
    assert run_script(first, "--site", first.parent, "--save-checkpoint", saved)[0] == 0
    kept = saved.parent / "checkpoint.allowed_signers"
    assert kept.read_bytes() == (first / "allowed_signers").read_bytes()

    mallory = make_key("mallory@example.com")
    signers = published.root / ledger.ALLOWED_SIGNERS_PATH
    published.repo.commit("Add a signer", {ledger.ALLOWED_SIGNERS_PATH: signers.read_text()
                                           + mallory.allowed_signers_line() + "\n"}, key=mallory)

    problems = published.verify(saved_checkpoint=saved)

    assert len(problems) == 1 and "'Add a signer'" in problems[0], problems
    # the first commit's list was accepted because the saved list trusts its signer, not on first use
    assert problems[0].endswith(f"which is not in {ledger.ALLOWED_SIGNERS_PATH} as of {published.base[:12]}")
    assert "first commit that has it" in published.verify()[0]


def test_history_rewritten_and_resigned_fails_against_saved_checkpoint(site, published, tmp_path, sample_rca):
    first = site()
    saved = tmp_path / "customer" / "checkpoint"
    saved.parent.mkdir()
    assert run_script(first, "--site", first.parent, "--save-checkpoint", saved)[0] == 0

    published.rewrite_history({**sample_rca, EN: "# RCA: a minor blip\n"})
    rewritten = site()

    assert run_script(rewritten, "--site", rewritten.parent)[0] == 0
    code, output = run_script(rewritten, "--site", rewritten.parent, "--saved-checkpoint", saved)
    assert code == 1
    assert "published history was rewritten" in output


def test_site_served_over_http_verifies(site, published):
    served = site()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served.parent))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        code, output = run_script(served, "--site", url, "--public-key", f"{published.ci.private}.pub")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0, output
    assert output.count("is the latest revision") == 3


def test_missing_site_files_exit_2(tmp_path):
    script = tmp_path / "verify_rca.py"
    shutil.copy(ledger.VERIFY_SCRIPT, script)
    done = subprocess.run([sys.executable, "-I", str(script), "--site", str(tmp_path / "nowhere")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "ERROR" in done.stderr and "no such file" in done.stderr


def _load_script():
    # The script ships as package data (`verify_rca.py.txt`), so name the loader explicitly.
    loader = importlib.machinery.SourceFileLoader("verify_rca", str(ledger.VERIFY_SCRIPT))
    spec = importlib.util.spec_from_file_location("verify_rca", ledger.VERIFY_SCRIPT, loader=loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _load_script()


@settings(max_examples=100, deadline=None)
@given(leaves=st.lists(st.binary(max_size=8), min_size=1, max_size=30), data=st.data())
def test_script_merkle_code_agrees_with_the_generator(leaves, data):
    # The script carries its own copy of the Merkle code so it can stand alone; it must not drift.
    index = data.draw(st.integers(0, len(leaves) - 1))
    old = data.draw(st.integers(1, len(leaves)))
    root = merkle.root(leaves)
    assert SCRIPT.merkle_root(leaves) == root
    assert SCRIPT._inclusion_path(leaves, index) == merkle.inclusion_proof(leaves, index)
    assert SCRIPT.consistency_proof(leaves, old) == merkle.consistency_proof(leaves, old)
    assert SCRIPT.verify_inclusion(leaves[index], index, len(leaves), merkle.inclusion_proof(leaves, index), root)
    assert SCRIPT.verify_consistency(old, len(leaves), merkle.root(leaves[:old]), root,
                                     merkle.consistency_proof(leaves, old))
