#!/usr/bin/env python3
"""Check, offline, that an RCA you read on a statusgen status page is the one that was published.

Needs only Python 3.9+ and ssh-keygen (OpenSSH 8.9 or later). Given the status site (a directory or
a URL) this script:

1. checks the SSH signature on the ledger checkpoint (`ledger/checkpoint` + `.sig`), against a
   public key you pinned (--public-key) or the site's allowed-signers file;
2. recomputes the RFC 9162 Merkle tree of the ledger (`ledger/rca.jsonl`) and compares it with the
   signed checkpoint;
3. finds each RCA file's SHA-256 in the ledger, checks its inclusion proof, and tells you whether it
   is the latest revision;
4. given a checkpoint you saved earlier (--saved-checkpoint), checks that today's ledger extends it
   (RFC 9162 consistency proof). This is what catches an operator who rewrites history and signs it
   again with the right key: your saved checkpoint no longer fits.

Use --save-checkpoint FILE to keep today's checkpoint for next time.

    python3 verify_rca.py --site https://status.example.com --public-key statusgen.pub \\
        --saved-checkpoint last-checkpoint rca/2025-10-02-kr-ingest-latency.en.md

Exit status: 0 verified, 1 a check failed, 2 the files could not be read.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

NAMESPACE = "statusgen-ledger"
LANGS = ("ko", "ja", "en")


# --- RFC 9162 Merkle tree (kept in this file so the script stands alone) -----------------------

def _leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n):
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes):
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def merkle_root(leaves):
    return _mth([_leaf_hash(leaf) for leaf in leaves])


def _subproof(m, hashes, whole):
    if m == len(hashes):
        return [] if whole else [_mth(hashes)]
    k = _split(len(hashes))
    if m <= k:
        return _subproof(m, hashes[:k], whole) + [_mth(hashes[k:])]
    return _subproof(m - k, hashes[k:], False) + [_mth(hashes[:k])]


def consistency_proof(leaves, old_size):
    if old_size == 0:
        return []
    return _subproof(old_size, [_leaf_hash(leaf) for leaf in leaves], True)


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, _leaf_hash(leaf)
    for p in proof:
        if len(p) != 32 or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(old_size, new_size, old_root, new_root, proof):
    """RFC 9162 2.1.4.2."""
    if old_size < 0 or new_size < old_size or any(len(c) != 32 for c in proof):
        return False
    if old_size == 0:
        return not proof
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node_hash(c, fr), _node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


# --- reading the site ---------------------------------------------------------------------------

class Unreadable(Exception):
    """A file the script needs could not be fetched or parsed."""


def fetch(base, rel, required=True):
    """Bytes of `rel` under the site's ledger directory (a local path or an http(s) URL)."""
    if base.startswith(("http://", "https://")):
        url = urllib.parse.urljoin(base.rstrip("/") + "/", rel)
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.read()
        except OSError as exc:
            if not required:
                return None
            raise Unreadable(f"{url}: {exc}") from None
    path = Path(base) / rel
    if not path.exists():
        if not required:
            return None
        raise Unreadable(f"{path}: no such file")
    return path.read_bytes()


def parse_checkpoint(body, source):
    try:
        origin, size, root = body.decode("utf-8").split("\n")[:3]
        root_hash = base64.b64decode(root, validate=True)
        if not body.endswith(b"\n") or len(root_hash) != 32 or not size.isdigit():
            raise ValueError
        return origin, int(size), root_hash
    except ValueError:
        raise Unreadable(f"{source}: not a checkpoint (origin, tree size and base64 root on three lines)") from None


def signature_problem(body, signature, allowed_signers, source):
    """None when `signature` is a good statusgen-ledger signature of `body` by a listed principal."""
    with tempfile.TemporaryDirectory() as tmp:
        sig = Path(tmp) / "sig"
        sig.write_bytes(signature)
        found = subprocess.run(["ssh-keygen", "-Y", "find-principals", "-s", str(sig), "-f", str(allowed_signers)],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL)
        principals = found.stdout.split()
        if found.returncode != 0 or not principals:
            return f"{source}: signed by a key that is not among the trusted keys"
        for principal in principals:
            done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed_signers), "-I", principal,
                                   "-n", NAMESPACE, "-s", str(sig)], input=body, capture_output=True)
            if done.returncode == 0:
                return None
        return f"{source}: the signature does not verify (the checkpoint was changed after signing?)"


# --- the checks -----------------------------------------------------------------------------------

class Report:
    def __init__(self, out):
        self.out = out
        self.failed = False

    def ok(self, message):
        print(f"OK    {message}", file=self.out)

    def note(self, message):
        print(f"NOTE  {message}", file=self.out)

    def fail(self, message):
        self.failed = True
        print(f"FAIL  {message}", file=self.out)


def run(args, out=sys.stdout):
    report = Report(out)
    base = args.site.rstrip("/") + "/ledger" if args.site else None
    with tempfile.TemporaryDirectory() as tmp:
        # Which keys to trust: a key the customer pinned beats whatever the site serves today.
        signers = Path(tmp) / "allowed_signers"
        if args.public_key:
            key = Path(args.public_key).read_text().split()
            signers.write_text(f'{NAMESPACE} namespaces="{NAMESPACE}" {key[0]} {key[1]}\n')
        elif args.allowed_signers:
            signers.write_bytes(Path(args.allowed_signers).read_bytes())
        else:
            signers.write_bytes(fetch(base, "allowed_signers"))
            report.note("trusting the keys the site serves in ledger/allowed_signers; "
                        "pin the key with --public-key to catch a replaced key")

        ledger_bytes = Path(args.ledger).read_bytes() if args.ledger else fetch(base, "rca.jsonl")
        body = Path(args.checkpoint).read_bytes() if args.checkpoint else fetch(base, "checkpoint")
        signature = Path(args.signature).read_bytes() if args.signature else fetch(base, "checkpoint.sig")
        origin, size, root = parse_checkpoint(body, "checkpoint")

        problem = signature_problem(body, signature, signers, "checkpoint")
        if problem:
            report.fail(problem)
        else:
            report.ok(f"checkpoint for {origin} (tree size {size}) is signed by a trusted key")

        leaves = ledger_bytes.split(b"\n")[:-1] if ledger_bytes.endswith(b"\n") else ledger_bytes.split(b"\n")
        entries = []
        for lineno, line in enumerate(leaves, start=1):
            try:
                entries.append(json.loads(line))
            except ValueError:
                raise Unreadable(f"rca.jsonl:{lineno}: not JSON") from None
        if len(leaves) != size:
            report.fail(f"rca.jsonl has {len(leaves)} entries but the checkpoint says {size}")
        elif merkle_root(leaves) != root:
            report.fail("rca.jsonl does not hash to the checkpoint root: a ledger line was changed after signing")
        else:
            report.ok(f"rca.jsonl ({size} entries) hashes to the signed root")

        latest = {}
        for index, entry in enumerate(entries):
            latest[(entry.get("id"), entry.get("lang"))] = index

        targets = [(name, Path(name).read_bytes()) for name in args.rca]
        if not targets:
            for index in sorted(latest.values()):
                rel = entries[index]["path"]
                targets.append((rel, fetch(base, rel)))
        for name, data in targets:
            check_rca(report, name, data, entries, leaves, latest, root, size, base)

        if args.saved_checkpoint:
            check_saved(report, args.saved_checkpoint, signers, leaves, origin, root)

        if args.save_checkpoint and not report.failed:
            Path(args.save_checkpoint).write_bytes(body)
            Path(args.save_checkpoint + ".sig").write_bytes(signature)
            report.ok(f"saved this checkpoint to {args.save_checkpoint} for your next check")
    return 1 if report.failed else 0


def check_rca(report, name, data, entries, leaves, latest, root, size, base):
    digest = hashlib.sha256(data).hexdigest()
    matches = [i for i, entry in enumerate(entries) if entry.get("sha256") == digest]
    if not matches:
        report.fail(f"{name}: sha256 {digest} is in no ledger entry: this is not a published revision "
                    "(edited after publication?)")
        return
    index = matches[-1]
    entry = entries[index]
    proof = _published_inclusion_proof(base, index) or _inclusion_path(leaves, index)
    if not verify_inclusion(leaves[index], index, size, proof, root):
        report.fail(f"{name}: the inclusion proof for ledger entry {index} does not verify against the checkpoint")
        return
    newest = entries[latest[(entry.get("id"), entry.get("lang"))]]
    label = f"{name}: {entry.get('id')} ({entry.get('lang')}) revision {entry.get('revision')}, " \
            f"published {entry.get('published_at')}"
    if newest is entry:
        report.ok(f"{label}, is in the signed ledger and is the latest revision")
    else:
        report.ok(f"{label}, is in the signed ledger")
        report.note(f"{name}: superseded by revision {newest.get('revision')} published {newest.get('published_at')}")


def _published_inclusion_proof(base, index):
    if base is None:
        return None
    raw = fetch(base, f"proofs/inclusion/{index}.json", required=False)
    if raw is None:
        return None
    return [base64.b64decode(h) for h in json.loads(raw)["hashes"]]


def _inclusion_path(leaves, index):
    # PATH(m, D[n]) of RFC 9162 2.1.3.1, used when the site does not serve proofs.
    def path(m, hashes):
        if len(hashes) <= 1:
            return []
        k = _split(len(hashes))
        if m < k:
            return path(m, hashes[:k]) + [_mth(hashes[k:])]
        return path(m - k, hashes[k:]) + [_mth(hashes[:k])]
    return path(index, [_leaf_hash(leaf) for leaf in leaves])


def check_saved(report, saved_path, signers, leaves, origin, root):
    saved_body = Path(saved_path).read_bytes()
    old_origin, old_size, old_root = parse_checkpoint(saved_body, saved_path)
    sig_path = Path(saved_path + ".sig")
    if sig_path.exists():
        problem = signature_problem(saved_body, sig_path.read_bytes(), signers, saved_path)
        if problem:
            report.note(f"{problem} (a key rotation, or a saved file that was never genuine)")
    if old_origin != origin:
        report.fail(f"{saved_path}: origin {old_origin!r} is not {origin!r}; a checkpoint of another log")
        return
    if old_size > len(leaves):
        report.fail(f"{saved_path}: your saved checkpoint has {old_size} entries, the ledger now {len(leaves)}: "
                    "published entries were removed")
        return
    proof = consistency_proof(leaves, old_size)
    if verify_consistency(old_size, len(leaves), old_root, root, proof):
        report.ok(f"the ledger extends your saved checkpoint ({old_size} -> {len(leaves)} entries): "
                  "nothing published before was changed")
    else:
        report.fail(f"{saved_path}: the ledger is not an extension of your saved checkpoint of {old_size} entries: "
                    "published history was rewritten")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rca", nargs="*", help="RCA source files to check (default: every latest RCA on the site)")
    parser.add_argument("--site", help="status site root, a directory or an http(s) URL (serves ledger/...)")
    parser.add_argument("--ledger", help="ledger file (instead of <site>/ledger/rca.jsonl)")
    parser.add_argument("--checkpoint", help="checkpoint file (instead of <site>/ledger/checkpoint)")
    parser.add_argument("--signature", help="checkpoint signature (instead of <site>/ledger/checkpoint.sig)")
    parser.add_argument("--public-key", help="the operator's SSH public key you pinned")
    parser.add_argument("--allowed-signers", help="an ssh-keygen allowed-signers file to trust")
    parser.add_argument("--saved-checkpoint", help="a checkpoint you saved earlier (its .sig beside it is checked too)")
    parser.add_argument("--save-checkpoint", help="where to keep today's checkpoint when everything verifies")
    args = parser.parse_args(argv)
    if not args.site and not (args.ledger and args.checkpoint and args.signature and args.rca):
        parser.error("give --site, or --ledger, --checkpoint, --signature and RCA files")
    if not args.site and not (args.public_key or args.allowed_signers):
        parser.error("without --site, give --public-key or --allowed-signers")
    try:
        return run(args)
    except (Unreadable, OSError) as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
