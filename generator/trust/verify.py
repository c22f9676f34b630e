"""Checks behind `statusgen verify`: is the published history what was signed, and only ever appended to?

Every check returns a list of problems, each a sentence naming the file, ledger line or commit at
fault and why; an empty list means the check passed. The checks:

- the ledger recomputes to the signed checkpoint (`check_checkpoint`, `check_checkpoint_signature`);
- every RCA file matches the latest ledger entry for its id and language (`check_rca_files`);
- the ledger extends a checkpoint saved earlier (`check_append_only`), which is what catches an
  operator who rewrites history and re-signs it with the right key;
- every commit touching `incidents/`, `maintenance/`, `rca/` or the trust list is SSH-signed by a key *and*
  principal of the allowed-signers list in force at its parent, starting from a root of trust that never
  comes from the tip (`root_of_trust`, `check_commit_signatures`; the model is in docs/deploy.md).

`verify_repository` runs them all over a working tree.
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from . import ledger as ledger_mod
from . import merkle
from .ledger import Checkpoint, LedgerEntry, LedgerError

# Beside a saved checkpoint `F`, `F.allowed_signers` is the list of signers that the customer saw with it.
SAVED_SIGNERS_SUFFIX = ".allowed_signers"

# The trust list itself is watched: an unsigned commit must not be able to add its own key to it.
WATCHED_PATHS = ("incidents", "maintenance", "rca", ".github/allowed_signers")

# What git's %G? letters mean, in words a maintainer can act on.
_SIGNATURE_STATUS = {
    "N": "is not signed",
    "B": "has a bad signature: the commit was changed after it was signed",
    "U": "is signed by a key that is not in {allowed}",
    "X": "has an expired signature",
    "Y": "is signed by an expired key",
    "R": "is signed by a revoked key",
    "E": "has a signature that cannot be checked (is ssh-keygen installed and {allowed} readable?)",
}


def _ledger_line(index: int) -> str:
    return f"{ledger_mod.LEDGER_PATH}:{index + 1}"


# --- the tree and the checkpoint ---------------------------------------------------------------


def check_checkpoint(entries: Sequence[LedgerEntry], checkpoint: Checkpoint,
                     source: str = ledger_mod.CHECKPOINT_PATH) -> list[str]:
    """The Merkle tree recomputed from the ledger must have the checkpoint's size and root."""
    leaves = ledger_mod.leaves(entries)
    if checkpoint.size != len(leaves):
        return [f"{source}: tree size {checkpoint.size}, but {ledger_mod.LEDGER_PATH} has {len(leaves)} entries"]
    computed = merkle.root(leaves)
    if computed != checkpoint.root:
        return [f"{source}: root {base64.b64encode(checkpoint.root).decode()} does not match the root "
                f"{base64.b64encode(computed).decode()} recomputed from {ledger_mod.LEDGER_PATH}; "
                "a ledger line was changed after the checkpoint was signed"]
    return []


def check_checkpoint_signature(body: bytes, signature: bytes, allowed_signers: Path,
                               source: str = ledger_mod.CHECKPOINT_PATH) -> list[str]:
    """The checkpoint must carry a good `statusgen-ledger` SSH signature by a listed principal."""
    return ledger_mod.signature_problems(body, signature, allowed_signers, source)


def check_rca_files(entries: Sequence[LedgerEntry], rca_files: Mapping[str, bytes]) -> list[str]:
    """Every RCA file must have the bytes of the latest ledger entry for its (id, lang), and vice versa.

    Pass the *published* RCA files (the publish branch, the built site, or the source tree right
    after publishing); a correction not yet published is, by design, a mismatch.
    """
    problems: list[str] = []
    latest_index: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        latest_index[entry.key] = index
    seen: set[tuple[str, str]] = set()
    for path in sorted(rca_files):
        try:
            key = ledger_mod.rca_key(path)
        except LedgerError as exc:
            problems.append(str(exc))
            continue
        seen.add(key)
        if key not in latest_index:
            problems.append(f"{path}: not in {ledger_mod.LEDGER_PATH}; an RCA is published only through the ledger")
            continue
        index = latest_index[key]
        entry = entries[index]
        digest = hashlib.sha256(rca_files[path]).hexdigest()
        if digest != entry.sha256:
            problems.append(
                f"{path}: sha256 {digest} differs from {_ledger_line(index)} (revision {entry.revision}, "
                f"published {entry.published_at}, sha256 {entry.sha256}); the file was edited after "
                "publication; a correction must be published as a new revision")
    for key, index in sorted(latest_index.items()):
        if key not in seen:
            entry = entries[index]
            problems.append(f"{_ledger_line(index)}: {entry.path} (revision {entry.revision}) "
                            "is in the ledger but the file is missing")
    return problems


def check_append_only(entries: Sequence[LedgerEntry], saved: Checkpoint,
                      source: str = "saved checkpoint") -> list[str]:
    """The ledger must be an append-only extension of a checkpoint saved earlier (RFC 9162 consistency)."""
    leaves = ledger_mod.leaves(entries)
    if saved.size > len(leaves):
        return [f"{ledger_mod.LEDGER_PATH}: has {len(leaves)} entries, fewer than the {saved.size} of {source}; "
                "published entries were removed"]
    problems = []
    proof = merkle.consistency_proof(leaves, saved.size)
    if not merkle.verify_consistency(saved.size, len(leaves), saved.root, merkle.root(leaves), proof):
        problems.append(
            f"{ledger_mod.LEDGER_PATH}: the first {saved.size} entries no longer hash to the root of {source} "
            f"({base64.b64encode(saved.root).decode()}); published history was rewritten")
    return problems


# --- commit signatures -------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowedSigner:
    """One line of an allowed-signers file: who may sign, with which key."""

    principals: tuple[str, ...]
    fingerprint: str
    line: int

    def admits(self, principal: str) -> bool:
        # Principals in allowed-signers may be patterns such as *@example.com.
        return any(fnmatch.fnmatchcase(principal, pattern) for pattern in self.principals)


_KEY = re.compile(r"(?:^|\s)((?:ssh|ecdsa|sk)-[\w@.-]+)\s+([A-Za-z0-9+/]+={0,2})(?:\s|$)")


def key_fingerprint(blob_base64: str) -> str:
    """The `SHA256:...` fingerprint of a public key blob, as ssh-keygen -l and git's %GF print it."""
    digest = hashlib.sha256(base64.b64decode(blob_base64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_allowed_signers(text: str, source: str = ledger_mod.ALLOWED_SIGNERS_PATH) -> list[AllowedSigner]:
    """The signers of an allowed-signers file (ssh-keygen(1) ALLOWED SIGNERS); errors name file:line."""
    signers = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        principals, _, rest = line.partition(" ")
        match = _KEY.search(" " + rest)
        if not match:
            raise LedgerError(f"{source}:{lineno}: expected '<principals> [options] <key type> <base64 key>'")
        try:
            fingerprint = key_fingerprint(match[2])
        except ValueError:
            raise LedgerError(f"{source}:{lineno}: the public key is not valid base64") from None
        signers.append(AllowedSigner(tuple(principals.split(",")), fingerprint, lineno))
    return signers


@dataclass(frozen=True)
class CommitSignature:
    """What git reports about one commit's signature."""

    sha: str
    status: str
    fingerprint: str
    principal: str
    committer_email: str
    subject: str
    paths: tuple[str, ...]
    parents: tuple[str, ...] = ()


def _git_stdout(repo_path: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo_path), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise LedgerError(f"{repo_path}: git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _open_range(repo_path: Path, since: str | None, branch: str) -> str:
    try:
        repo = git.Repo(repo_path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise LedgerError(f"{repo_path}: not a git repository; commit signatures cannot be checked") from None
    for rev in filter(None, (since, branch)):
        try:
            repo.commit(rev)
        except (git.BadName, ValueError):
            raise LedgerError(f"{repo_path}: no commit {rev!r} to check signatures from") from None
    return f"{since}..{branch}" if since else branch


def read_commit_signatures(repo_path: Path, allowed_signers: Path, since: str | None = None,
                           branch: str = "HEAD", paths: Sequence[str] = WATCHED_PATHS) -> list[CommitSignature]:
    """Signature facts for every commit in `since..branch` that touches `paths`, as git checks them against
    the keys of `allowed_signers`, oldest first. Raises LedgerError when a revision does not exist.
    """
    rev_range = _open_range(repo_path, since, branch)
    fmt = "%x1e%H%x1f%P%x1f%G?%x1f%GF%x1f%GS%x1f%ce%x1f%s"
    # --full-history: a side-branch commit must not hide behind a merge that kept its changes.
    out = _git_stdout(repo_path, "-c", f"gpg.ssh.allowedSignersFile={Path(allowed_signers).resolve()}",
                     "log", "--full-history", "--topo-order", "--reverse", "--name-only", f"--format={fmt}",
                     rev_range, "--", *paths)
    commits = []
    for record in out.split("\x1e")[1:]:
        head, _, names = record.partition("\n")
        sha, parents, status, fingerprint, principal, email, subject = head.split("\x1f", 6)
        commits.append(CommitSignature(sha, status, fingerprint, principal, email, subject,
                                       tuple(n for n in names.splitlines() if n), tuple(parents.split())))
    return commits


def signature_problem(commit: CommitSignature, signers: Sequence[AllowedSigner], allowed_signers: str,
                      require_committer_principal: bool = True) -> str | None:
    """Why one commit's signature is not acceptable, or None. Pure: works on what git reported.

    Git's good/bad flag is not enough: it says "good" for any key listed in the file, so the key's
    fingerprint and principal are matched against the file here, and (by default) the committer's
    email must be a principal of the signing key, so a committer using someone else's (e.g. the CI)
    key is reported.
    """
    touched = sorted({p.split("/", 1)[0] + "/" for p in commit.paths}) or [f"{p}/" for p in WATCHED_PATHS]
    label = f"commit {commit.sha[:12]} ({commit.subject!r}, touches {', '.join(touched)})"
    if commit.status != "G":
        why = _SIGNATURE_STATUS.get(commit.status, f"has signature status {commit.status!r}")
        if commit.status == "U" and commit.fingerprint:
            why += f" (key {commit.fingerprint})"
        return f"{label} {why.format(allowed=allowed_signers)}"
    listed = [s for s in signers if s.fingerprint == commit.fingerprint]
    if not listed:
        return f"{label} is signed by key {commit.fingerprint}, which is not in {allowed_signers}"
    if not any(s.admits(commit.principal) for s in listed):
        lines = ", ".join(str(s.line) for s in listed)
        return (f"{label} is signed as {commit.principal!r}, but {allowed_signers}:{lines} "
                f"lists key {commit.fingerprint} for other principals")
    if require_committer_principal and not any(s.admits(commit.committer_email) for s in listed):
        return (f"{label} was committed by {commit.committer_email} but signed with the key of "
                f"{commit.principal} ({commit.fingerprint}); each committer signs with their own key")
    return None


# --- the trust list, as of each commit's parent ------------------------------------------------


@dataclass(frozen=True)
class TrustList:
    """The allowed signers in force at one point of the history, and where they came from (for messages)."""

    label: str
    text: str

    @property
    def signers(self) -> list[AllowedSigner]:
        return parse_allowed_signers(self.text, self.label)


def _list_at(repo_path: Path, rev: str) -> str | None:
    done = subprocess.run(["git", "-C", str(repo_path), "show", f"{rev}:{ledger_mod.ALLOWED_SIGNERS_PATH}"],
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def root_of_trust(repo_path: Path, since: str | None, branch: str, pinned: Path | None) -> tuple[TrustList | None, str | None]:
    """The trust list the history is checked from, never taken from the tip: `(list, the commit that
    established it on first use or None)`.

    In order: a pinned allowed-signers file (`--allowed-signers`, or the one saved beside a checkpoint);
    the list as of `--since`; else the list of the first commit of the range that has one, which must be
    signed by a key of its own list (trust on first use).
    """
    if pinned is not None:
        return TrustList(str(pinned), Path(pinned).read_text(encoding="utf-8")), None
    if since is not None:
        text = _list_at(repo_path, since)
        if text is not None:
            return TrustList(f"{ledger_mod.ALLOWED_SIGNERS_PATH} as of {since[:12]} (--since)", text), None
    rev_range = _open_range(repo_path, since, branch)
    first = _git_stdout(repo_path, "log", "--topo-order", "--reverse", "--format=%H", rev_range, "--",
                       ledger_mod.ALLOWED_SIGNERS_PATH).split()
    if not first:
        return None, None
    return (TrustList(f"{ledger_mod.ALLOWED_SIGNERS_PATH} as of {first[0][:12]} (the first commit that has it)",
                      _list_at(repo_path, first[0]) or ""), first[0])


def _union_of_keys(lists: Sequence[TrustList], where: Path) -> Path:
    """One allowed-signers file with every key that was ever trusted in the range, so git reports whether
    each signature is cryptographically good; which keys count for which commit is decided here."""
    lines = dict.fromkeys(line for t in lists for line in t.text.splitlines()
                          if line.strip() and not line.lstrip().startswith("#"))
    where.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return where


def check_commit_signatures(repo_path: Path, allowed_signers: Path | None = None, since: str | None = None,
                            branch: str = "HEAD", paths: Sequence[str] = WATCHED_PATHS,
                            require_committer_principal: bool = True, *, pinned: bool = True) -> list[str]:
    """Every commit in `since..branch` touching `paths` must be SSH-signed by a key and principal trusted
    **as of its parent**: the list in force after its (first) parent, starting from the root of trust (see
    `root_of_trust`). A change to the list takes effect only when it is signed by a key in force before it
    (otherwise it is reported and the old list stays in force), and a key removed later does not void what it signed
    while it was trusted. `allowed_signers` is the pinned root of trust when `pinned` (else ignored: the
    root comes from `--since` or the first commit that has a list).
    """
    try:
        anchor_file = Path(allowed_signers) if (allowed_signers is not None and pinned) else None
        if anchor_file is not None and not anchor_file.exists():
            return [f"{anchor_file}: missing; commit signatures cannot be checked without it"]
        anchor, first_use = root_of_trust(repo_path, since, branch, anchor_file)
        rev_range = _open_range(repo_path, since, branch)
        changes = _git_stdout(repo_path, "log", "--full-history", "--format=%H", rev_range, "--",
                             ledger_mod.ALLOWED_SIGNERS_PATH).split()
        versions = {rev: _list_at(repo_path, rev) for rev in changes}
        with tempfile.TemporaryDirectory(prefix="statusgen-signers-") as tmp:
            history = ([anchor] if anchor else []) + [TrustList(rev, text) for rev, text in versions.items() if text]
            union = _union_of_keys(history, Path(tmp) / "allowed_signers")
            watched = read_commit_signatures(repo_path, union, since, branch, paths)
            if set(changes) - {c.sha for c in watched}:
                by_sha = {c.sha: c for c in read_commit_signatures(repo_path, union, since, branch,
                                                                   (ledger_mod.ALLOWED_SIGNERS_PATH,))}
            else:
                by_sha = {}
            by_sha.update({c.sha: c for c in watched})
        # Walk the range oldest first, keeping the list in force after each commit. A change to the list
        # takes effect only when signed by a key in force before it; otherwise the old list stays in force.
        in_force: dict[str, TrustList | None] = {}
        before: dict[str, TrustList | None] = {}
        for line in _git_stdout(repo_path, "rev-list", "--topo-order", "--reverse", "--parents", rev_range).splitlines():
            sha, *parents = line.split()
            parent = parents[0] if parents else None
            trust = anchor if sha == first_use or parent not in in_force else in_force[parent]
            before[sha] = trust
            in_force[sha] = trust
            if sha in versions and sha != first_use and trust is not None:
                commit = by_sha.get(sha)
                if commit is not None and signature_problem(commit, trust.signers, trust.label,
                                                            require_committer_principal) is None:
                    in_force[sha] = TrustList(f"{ledger_mod.ALLOWED_SIGNERS_PATH} as of {sha[:12]}",
                                              versions[sha] or "")
        problems = []
        for commit in watched:
            trust = before.get(commit.sha, anchor)
            if trust is None:
                problems.append(f"commit {commit.sha[:12]} ({commit.subject!r}): no {ledger_mod.ALLOWED_SIGNERS_PATH} "
                                "was in force before it, so nobody could sign it; pin one with --allowed-signers")
                continue
            problem = signature_problem(commit, trust.signers, trust.label, require_committer_principal)
            if problem:
                problems.append(problem)
        return problems
    except LedgerError as exc:
        return [str(exc)]


# --- everything over a working tree ------------------------------------------------------------


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def verify_repository(repo_root: Path, *, allowed_signers: Path | None = None,
                      saved_checkpoint: Path | None = None, since: str | None = None,
                      branch: str = "HEAD", check_commits: bool = True) -> list[str]:
    """All checks over a repository (or publish branch) working tree holding `rca/` and `ledger/`.

    `allowed_signers` defaults to `.github/allowed_signers` in the tree; `saved_checkpoint` is a
    checkpoint body kept from an earlier verification (its signature, if beside it as `<file>.sig`,
    is checked too). Returns every problem found; empty means verified.
    """
    root = Path(repo_root)
    signers_path = Path(allowed_signers) if allowed_signers else root / ledger_mod.ALLOWED_SIGNERS_PATH
    # The root of trust for commit signatures never comes from the tip: a pinned file, else the list saved
    # beside the customer's checkpoint, else --since or the first commit that has a list.
    pinned = Path(allowed_signers) if allowed_signers else None
    if pinned is None and saved_checkpoint is not None:
        beside = Path(saved_checkpoint).with_name(Path(saved_checkpoint).name + SAVED_SIGNERS_SUFFIX)
        pinned = beside if beside.exists() else None
    problems: list[str] = []
    if not signers_path.exists():
        problems.append(f"{signers_path}: missing; signatures cannot be checked without it")
    try:
        entries = ledger_mod.read_ledger(root / ledger_mod.LEDGER_PATH, ledger_mod.LEDGER_PATH)
    except LedgerError as exc:
        problems.append(str(exc))
        entries = None

    body = _read(root / ledger_mod.CHECKPOINT_PATH)
    signature = _read(root / ledger_mod.SIGNATURE_PATH)
    checkpoint = None
    if body is None:
        if entries:
            problems.append(f"{ledger_mod.CHECKPOINT_PATH}: missing, but the ledger has {len(entries)} entries")
    else:
        try:
            checkpoint = ledger_mod.parse_checkpoint(body)
        except LedgerError as exc:
            problems.append(str(exc))
        if signature is None:
            problems.append(f"{ledger_mod.SIGNATURE_PATH}: missing; the checkpoint is unsigned")
        elif signers_path.exists():
            problems += check_checkpoint_signature(body, signature, signers_path)
    if entries is not None and checkpoint is not None:
        problems += check_checkpoint(entries, checkpoint)
    if entries is not None:
        problems += check_rca_files(entries, ledger_mod.collect_rca_files(root))

    if saved_checkpoint is not None:
        saved_path = Path(saved_checkpoint)
        try:
            saved = ledger_mod.parse_checkpoint(saved_path.read_bytes(), str(saved_path))
        except (OSError, LedgerError) as exc:
            problems.append(f"{saved_path}: cannot read the saved checkpoint ({exc})")
            saved = None
        saved_sig = saved_path.with_name(saved_path.name + ".sig")
        if saved is not None and saved_sig.exists() and signers_path.exists():
            problems += check_checkpoint_signature(saved_path.read_bytes(), saved_sig.read_bytes(),
                                                   signers_path, str(saved_path))
        if saved is not None and checkpoint is not None and saved.origin != checkpoint.origin:
            problems.append(f"{saved_path}: origin {saved.origin!r} differs from {checkpoint.origin!r} "
                            f"in {ledger_mod.CHECKPOINT_PATH}")
        if saved is not None and entries is not None:
            problems += check_append_only(entries, saved, str(saved_path))

    if check_commits and signers_path.exists():
        problems += check_commit_signatures(root, pinned or signers_path, since, branch, pinned=pinned is not None)
    return problems
