"""The RCA ledger: an append-only record of every published RCA revision, and its signed checkpoints.

`ledger/rca.jsonl` holds one canonical JSON line (RFC 8785) per published revision of an RCA file
`rca/<id>.<lang>.md`. The lines are the leaves of an RFC 9162 Merkle tree; `ledger/checkpoint` is a
C2SP checkpoint body (`<origin>\\n<size>\\n<base64 root>\\n`) with an SSH signature beside it in
`ledger/checkpoint.sig` (`ssh-keygen -Y sign -n statusgen-ledger`). A corrected RCA becomes a new
revision that names the sha256 of the one it supersedes; an existing line never changes.

Pure functions decide what to append and what the tree looks like; reading, writing and signing
are the thin edges at the bottom of each section.
"""
from __future__ import annotations

import yaml

import base64
import hashlib
import importlib.resources
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import rfc8785

from . import merkle

LANGS = ("ko", "ja", "en")
RCA_DIR = "rca"
LEDGER_PATH = "ledger/rca.jsonl"
CHECKPOINT_PATH = "ledger/checkpoint"
SIGNATURE_PATH = "ledger/checkpoint.sig"
ALLOWED_SIGNERS_PATH = ".github/allowed_signers"
# Its own namespace, so a signature made for a git commit can never pass as a checkpoint signature.
NAMESPACE = "statusgen-ledger"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_RCA_NAME = re.compile(r"(?P<id>[^/]+)\.(?P<lang>[a-z]{2})\.md")
_FIELDS = ("id", "revision", "lang", "path", "sha256", "size", "published_at", "supersedes")


class LedgerError(ValueError):
    """A ledger, checkpoint, RCA, allowed-signers file or revision that cannot be used as given.

    The message names the file (and line) or revision, and what is wrong with it.
    """


@dataclass(frozen=True)
class LedgerEntry:
    """One published revision of one RCA file in one language."""

    id: str
    revision: int
    lang: str
    path: str
    sha256: str
    size: int
    published_at: str
    supersedes: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.lang)

    def line(self) -> bytes:
        """The canonical JSON (RFC 8785) of this entry: the exact bytes of its ledger line and Merkle leaf."""
        return rfc8785.dumps(asdict(self))


# --- reading ---------------------------------------------------------------------------------


def _field_error(source: str, lineno: int, field: str, why: str) -> LedgerError:
    return LedgerError(f"{source}:{lineno}: {field}: {why}")


def _entry_from_json(obj: object, source: str, lineno: int) -> LedgerEntry:
    if not isinstance(obj, dict):
        raise LedgerError(f"{source}:{lineno}: expected a JSON object, got {type(obj).__name__}")
    missing = [f for f in _FIELDS if f not in obj]
    extra = sorted(set(obj) - set(_FIELDS))
    if missing:
        raise LedgerError(f"{source}:{lineno}: missing field(s) {', '.join(missing)}")
    if extra:
        raise LedgerError(f"{source}:{lineno}: unknown field(s) {', '.join(extra)}")
    for field in ("id", "lang", "path", "sha256", "published_at"):
        if not isinstance(obj[field], str):
            raise _field_error(source, lineno, field, f"expected a string, got {obj[field]!r}")
    for field, least, kind in (("revision", 1, "a positive"), ("size", 0, "a non-negative")):
        value = obj[field]
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise _field_error(source, lineno, field, f"expected {kind} integer, got {value!r}")
    if obj["lang"] not in LANGS:
        raise _field_error(source, lineno, "lang", f"expected one of {', '.join(LANGS)}, got {obj['lang']!r}")
    for field in ("sha256", "supersedes"):
        value = obj[field]
        if (field == "sha256" or value is not None) and not (isinstance(value, str) and _SHA256.fullmatch(value)):
            raise _field_error(source, lineno, field, f"expected 64 lowercase hex digits, got {value!r}")
    try:
        published = datetime.fromisoformat(obj["published_at"])
    except ValueError:
        published = None
    if published is None or published.tzinfo is None:
        raise _field_error(source, lineno, "published_at",
                           f"expected an ISO 8601 time with offset, got {obj['published_at']!r}")
    return LedgerEntry(**{f: obj[f] for f in _FIELDS})


def parse_ledger(data: bytes, source: str = LEDGER_PATH) -> list[LedgerEntry]:
    """Parse ledger bytes into entries, checking each line is canonical and each revision chains onto the last.

    Raises LedgerError naming `source:line` and the field at fault.
    """
    if data and not data.endswith(b"\n"):
        last = data.count(b"\n") + 1
        raise LedgerError(f"{source}:{last}: the last line has no newline; "
                          "the file was truncated or edited by hand")
    entries: list[LedgerEntry] = []
    latest: dict[tuple[str, str], LedgerEntry] = {}
    for lineno, raw in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise LedgerError(f"{source}:{lineno}: not valid JSON ({exc.msg})") from None
        entry = _entry_from_json(obj, source, lineno)
        # A non-canonical line would give the same entry a second leaf hash; the tree must be unambiguous.
        if entry.line() != raw:
            raise LedgerError(f"{source}:{lineno}: not canonical JSON (RFC 8785); "
                              "ledger lines are written by statusgen and never edited")
        previous = latest.get(entry.key)
        want_revision = previous.revision + 1 if previous else 1
        if entry.revision != want_revision:
            raise _field_error(source, lineno, "revision",
                               f"expected {want_revision} for {entry.id} ({entry.lang}), got {entry.revision}")
        want_supersedes = previous.sha256 if previous else None
        if entry.supersedes != want_supersedes:
            want = (f"the sha256 of revision {previous.revision}, {previous.sha256}" if previous
                    else "null for the first revision")
            raise _field_error(source, lineno, "supersedes", f"expected {want}, got {entry.supersedes!r}")
        latest[entry.key] = entry
        entries.append(entry)
    return entries


def read_ledger(path: Path, source: str | None = None) -> list[LedgerEntry]:
    """Read a ledger file; a missing file is an empty ledger (nothing published yet)."""
    path = Path(path)
    if not path.exists():
        return []
    return parse_ledger(path.read_bytes(), source or str(path))


def leaves(entries: Sequence[LedgerEntry]) -> list[bytes]:
    """The Merkle leaves of a ledger: its lines, without the newline."""
    return [entry.line() for entry in entries]


def latest_entries(entries: Iterable[LedgerEntry]) -> dict[tuple[str, str], LedgerEntry]:
    """The latest revision for each (id, lang)."""
    latest: dict[tuple[str, str], LedgerEntry] = {}
    for entry in entries:
        latest[entry.key] = entry
    return latest


# --- deciding what to append -------------------------------------------------------------------


def rca_key(path: str) -> tuple[str, str]:
    """(id, lang) of an RCA file path such as `rca/2025-10-02-kr-ingest-latency.ko.md`."""
    name = path.rsplit("/", 1)[-1]
    match = _RCA_NAME.fullmatch(name)
    if not match or match["lang"] not in LANGS:
        raise LedgerError(f"{path}: expected a name like <id>.<lang>.md with lang one of {', '.join(LANGS)}")
    return match["id"], match["lang"]


def entries_to_append(ledger: Sequence[LedgerEntry], rca_files: Mapping[str, bytes],
                      now: datetime) -> list[LedgerEntry]:
    """New ledger entries for RCA files whose bytes differ from the latest entry of their (id, lang).

    `rca_files` maps repository-relative paths (`rca/<id>.<lang>.md`) to file bytes; `now` must carry
    an offset. Unchanged files give nothing, so publishing twice appends nothing the second time.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must carry a UTC offset, got {now.isoformat()}")
    published_at = now.isoformat(timespec="seconds")
    latest = latest_entries(ledger)
    seen: dict[tuple[str, str], str] = {}
    new: list[LedgerEntry] = []
    for path in sorted(rca_files):
        key = rca_key(path)
        if key in seen:
            raise LedgerError(f"{path}: same RCA id and language as {seen[key]}")
        seen[key] = path
        data = rca_files[path]
        digest = hashlib.sha256(data).hexdigest()
        previous = latest.get(key)
        if previous and previous.sha256 == digest:
            continue
        new.append(LedgerEntry(
            id=key[0], revision=previous.revision + 1 if previous else 1, lang=key[1], path=path,
            sha256=digest, size=len(data), published_at=published_at,
            supersedes=previous.sha256 if previous else None,
        ))
    return new


def collect_rca_files(repo_root: Path, rca_dir: str = RCA_DIR) -> dict[str, bytes]:
    """Every published `*.md` file under `rca/`, keyed by its repository-relative POSIX path.

    Drafts (`draft: true` in the front matter) are not published: they never enter the ledger and are
    never served beside it."""
    root = Path(repo_root)
    base = root / rca_dir
    if not base.is_dir():
        return {}
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(base.rglob("*.md")) if p.is_file()}
    return {path: data for path, data in files.items() if not is_draft_rca(data)}


def is_draft_rca(data: bytes) -> bool:
    from ..content.load import split_front_matter

    try:
        parts = split_front_matter(data.decode("utf-8"))
        front = yaml.safe_load(parts[0]) if parts else None
    except (UnicodeDecodeError, yaml.YAMLError):
        return False  # not a readable RCA: let the ledger record it and `check` name the problem
    return isinstance(front, dict) and front.get("draft") is True


# --- writing -----------------------------------------------------------------------------------


def _replace_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def append_entries(ledger_path: Path, new_entries: Sequence[LedgerEntry]) -> None:
    """Append entries to the ledger file without ever rewriting an existing line.

    The whole new file is checked (canonical lines, revision chain) before it is written; it goes to a
    temporary file and replaces the ledger only if the ledger on disk is still a prefix of it, so a
    concurrent or hand edit is refused rather than overwritten.
    """
    ledger_path = Path(ledger_path)
    old = ledger_path.read_bytes() if ledger_path.exists() else b""
    parse_ledger(old, str(ledger_path))
    new = old + b"".join(entry.line() + b"\n" for entry in new_entries)
    parse_ledger(new, str(ledger_path))
    if not new_entries:
        return
    current = ledger_path.read_bytes() if ledger_path.exists() else b""
    if not new.startswith(current):
        raise LedgerError(f"{ledger_path}: changed on disk while appending; nothing was written")
    _replace_atomically(ledger_path, new)


# --- checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: C2SP checkpoint origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes

    def body(self) -> bytes:
        """The C2SP checkpoint note body that gets signed."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n".encode()


def checkpoint_for(entries: Sequence[LedgerEntry], origin: str) -> Checkpoint:
    """The checkpoint of a ledger."""
    if not origin or "\n" in origin:
        raise ValueError(f"checkpoint origin must be one non-empty line, got {origin!r}")
    return Checkpoint(origin, len(entries), merkle.root(leaves(entries)))


def parse_checkpoint(body: bytes, source: str = CHECKPOINT_PATH) -> Checkpoint:
    """Parse a checkpoint body; extension lines after the root are allowed by C2SP and ignored."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerError(f"{source}: not UTF-8 text") from None
    if not text.endswith("\n"):
        raise LedgerError(f"{source}: a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not lines[0]:
        raise LedgerError(f"{source}: expected origin, tree size and root hash on three lines")
    if not lines[1].isdigit() or (lines[1] != "0" and lines[1].startswith("0")):
        raise LedgerError(f"{source}:2: tree size: expected a decimal number, got {lines[1]!r}")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        root = b""
    if len(root) != merkle.HASH_SIZE:
        raise LedgerError(f"{source}:3: root hash: expected base64 of 32 bytes, got {lines[2]!r}")
    return Checkpoint(lines[0], int(lines[1]), root)


def sign_checkpoint(body: bytes, key_path: Path, namespace: str = NAMESPACE) -> bytes:
    """An armored SSH signature of a checkpoint body, made by `ssh-keygen -Y sign` with the private key."""
    with tempfile.TemporaryDirectory() as tmp:
        message = Path(tmp) / "checkpoint"
        message.write_bytes(body)
        done = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key_path), str(message)],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise LedgerError(f"{key_path}: ssh-keygen could not sign the checkpoint: {done.stderr.strip()}")
        return (Path(tmp) / "checkpoint.sig").read_bytes()


def signature_problems(body: bytes, signature: bytes, allowed_signers: Path, source: str,
                       namespace: str = NAMESPACE) -> list[str]:
    """Why `signature` is not a good signature of `body` by a principal in `allowed_signers` (empty if it is).

    The principal is looked up from the signing key (`ssh-keygen -Y find-principals`), then the
    signature is checked for that principal and namespace (`ssh-keygen -Y verify`).
    """
    with tempfile.TemporaryDirectory() as tmp:
        sig = Path(tmp) / "sig"
        sig.write_bytes(signature)
        found = subprocess.run(["ssh-keygen", "-Y", "find-principals", "-s", str(sig), "-f", str(allowed_signers)],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL)
        principals = found.stdout.split()
        if found.returncode != 0 or not principals:
            return [f"{source}: signed by a key that is not in {allowed_signers} "
                    f"({(found.stderr.strip() or 'no principal matches').splitlines()[-1]})"]
        failures = []
        for principal in principals:
            done = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed_signers), "-I", principal,
                                   "-n", namespace, "-s", str(sig)], input=body, capture_output=True)
            if done.returncode == 0:
                return []
            said = (done.stderr or done.stdout).decode(errors="replace").strip()
            failures.append(f"{principal}: {said}")
        return [f"{source}: the signature does not verify for namespace {namespace} ({'; '.join(failures)})"]


def write_checkpoint(repo_root: Path, entries: Sequence[LedgerEntry], origin: str, key_path: Path) -> Checkpoint:
    """Sign the ledger's checkpoint and write `ledger/checkpoint` and `ledger/checkpoint.sig`."""
    checkpoint = checkpoint_for(entries, origin)
    body = checkpoint.body()
    signature = sign_checkpoint(body, key_path)
    root = Path(repo_root)
    _replace_atomically(root / CHECKPOINT_PATH, body)
    _replace_atomically(root / SIGNATURE_PATH, signature)
    return checkpoint


# --- proofs ------------------------------------------------------------------------------------


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def inclusion_proof_document(entries: Sequence[LedgerEntry], index: int) -> dict:
    """The published inclusion proof for one entry: the leaf itself, its index, the tree size and the path."""
    tree = leaves(entries)
    return {
        "leaf_index": index,
        "tree_size": len(tree),
        "leaf": tree[index].decode("utf-8"),
        "hashes": [_b64(h) for h in merkle.inclusion_proof(tree, index)],
    }


def consistency_proof_document(entries: Sequence[LedgerEntry], previous: Checkpoint) -> dict:
    """The published consistency proof from an earlier checkpoint to the current ledger."""
    tree = leaves(entries)
    if previous.size > len(tree):
        raise LedgerError(f"{LEDGER_PATH}: has {len(tree)} entries, fewer than the {previous.size} "
                          "of the previous checkpoint")
    return {
        "old_size": previous.size,
        "new_size": len(tree),
        "old_root": _b64(previous.root),
        "new_root": _b64(merkle.root(tree)),
        "hashes": [_b64(h) for h in merkle.consistency_proof(tree, previous.size)],
    }


def write_proofs(out_dir: Path, entries: Sequence[LedgerEntry], previous: Checkpoint | None = None) -> list[Path]:
    """Write `inclusion/<leaf index>.json` for every entry and, given the previous checkpoint,
    `consistency-<old>-<new>.json`, into `out_dir`. Returns the files written."""
    out = Path(out_dir)
    (out / "inclusion").mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(len(entries)):
        path = out / "inclusion" / f"{index}.json"
        path.write_text(json.dumps(inclusion_proof_document(entries, index), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    if previous is not None:
        path = out / f"consistency-{previous.size}-{len(entries)}.json"
        path.write_text(json.dumps(consistency_proof_document(entries, previous), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


# --- one publication ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """What one publication did to the ledger."""

    appended: tuple[LedgerEntry, ...]
    entries: tuple[LedgerEntry, ...]
    checkpoint: Checkpoint
    previous: Checkpoint | None


def record_publication(repo_root: Path, origin: str, key_path: Path, now: datetime) -> Publication:
    """Append new RCA revisions found in `rca/` to `ledger/rca.jsonl` and sign a fresh checkpoint.

    The step `publish` runs between building the site and committing it. The previous checkpoint
    (if any) is returned so a consistency proof from it can be published.
    """
    root = Path(repo_root)
    previous_body = root / CHECKPOINT_PATH
    previous = parse_checkpoint(previous_body.read_bytes(), CHECKPOINT_PATH) if previous_body.exists() else None
    existing = read_ledger(root / LEDGER_PATH, LEDGER_PATH)
    appended = entries_to_append(existing, collect_rca_files(root), now)
    append_entries(root / LEDGER_PATH, appended)
    if not (root / LEDGER_PATH).exists():
        # A repository without any RCA yet (every first publish): the empty ledger is a valid ledger, and
        # it is written so that the checkpoint, the served copy and later appends all have a file to match.
        (root / LEDGER_PATH).parent.mkdir(parents=True, exist_ok=True)
        (root / LEDGER_PATH).write_bytes(b"")
    entries = existing + appended
    checkpoint = write_checkpoint(root, entries, origin, key_path)
    return Publication(tuple(appended), tuple(entries), checkpoint, previous)


# --- what the site serves ----------------------------------------------------------------------

# The customer's verification script, standard library only. It ships inside the package as data (not a
# module: nothing imports it) so an installed statusgen can serve it.
VERIFY_SCRIPT = Path(str(importlib.resources.files(__package__).joinpath("verify_rca.py.txt")))
SITE_LEDGER_DIR = "ledger"


def export_ledger(repo_root: Path, site_dir: Path, previous: Checkpoint | None = None,
                  allowed_signers: str = ALLOWED_SIGNERS_PATH, script: Path = VERIFY_SCRIPT) -> Path:
    """Copy what a customer needs to verify RCAs offline into `<site>/ledger/` and return that directory.

    It holds the ledger, the checkpoint and its signature, the allowed-signers file, the RCA source
    files at their ledger paths, inclusion proofs for every entry, the consistency proof from
    `previous` and `verify_rca.py`. The layout is what `verify_rca.py --site` reads.
    """
    root = Path(repo_root)
    out = Path(site_dir) / SITE_LEDGER_DIR
    out.mkdir(parents=True, exist_ok=True)
    entries = read_ledger(root / LEDGER_PATH, LEDGER_PATH)
    for source, target in ((LEDGER_PATH, "rca.jsonl"), (CHECKPOINT_PATH, "checkpoint"),
                           (SIGNATURE_PATH, "checkpoint.sig"), (allowed_signers, "allowed_signers")):
        if not (root / source).exists():
            raise LedgerError(f"{source}: missing; run the ledger step of publish first")
        (out / target).write_bytes((root / source).read_bytes())
    for path, data in collect_rca_files(root).items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(data)
    write_proofs(out / "proofs", entries, previous)
    (out / "verify_rca.py").write_bytes(Path(script).read_bytes())
    return out
