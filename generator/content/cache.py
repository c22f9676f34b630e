"""The content-addressed cache in `.statusgen-cache/`: a derived result stored under the hash of all its inputs.

A stage that derives something expensive from files (a parsed and validated incident, the guardrail's
verdict on its texts, a rendered page, a page of the built site) asks `Cache.get(namespace, key)` where
`key = digest(...)` of *everything* the result depends on: the input bytes, the code and templates that
derive it (`code_version`), the configuration. A change to any of them is a new key, so an outdated entry
is never looked up again: a warm run and a cold run produce the same bytes. Deleting the directory is
always safe; it is git-ignored.

Layout: `<root>/.statusgen-cache/<namespace>/<key[:2]>/<key>`, each entry a header line with the SHA-256
of its payload and the payload. A reader recomputes the hash, so a truncated, corrupted or hand-edited
entry is detected, removed and reported as a miss (the caller rebuilds it), never served. Writers write a
temporary file in the same directory and rename it over the entry (atomic on POSIX), so two processes
building at once never see half an entry; both write the same bytes for the same key.

Large outputs (built HTML pages) are stored as blobs named by the hash of their bytes
(`blobs/<hash[:2]>/<hash>`) and hard-linked into the site instead of copied; they are re-hashed before use.

Entries are pickles: the cache is as trusted as the checkout it sits in (same owner, never shared). The
checksum guards against damage, not against someone who can already write to the repository.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from functools import lru_cache
from pathlib import Path

CACHE_DIR = ".statusgen-cache"
_MAGIC = b"statusgen-cache 1 sha256="
_HASH_LEN = 64
# `STATUSGEN_CACHE=off` turns the cache off (every run is cold), e.g. to compare with a cached run.
DISABLE_ENV = "STATUSGEN_CACHE"


def digest(*parts: bytes | str) -> str:
    """SHA-256 (hex) of the parts, each length-prefixed so that ("ab", "c") and ("a", "bc") differ."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@lru_cache(maxsize=None)
def code_version(*paths: str) -> str:
    """Version of the rules in the given source files or directories: statusgen's version plus the hash of
    every file under them (code, templates, strings). Editing a rule changes the keys that include it."""
    from .. import __version__

    parts: list[bytes | str] = [__version__]
    for path in paths:
        base = Path(path)
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for file in files:
            if file.suffix == ".pyc" or "__pycache__" in file.parts:
                continue
            parts += [file.relative_to(base.parent).as_posix() if base.is_dir() else file.name, file.read_bytes()]
    return digest(*parts)


class Cache:
    """One repository's cache directory; `Cache.disabled()` never stores anything (every lookup misses)."""

    def __init__(self, directory: Path | None):
        self.directory = Path(directory) if directory is not None else None
        self.hits = 0
        self.misses = 0
        self.rejected = 0  # entries found damaged and removed

    @classmethod
    def of(cls, root: Path) -> "Cache":
        """The cache of the content repository at `root` (off when STATUSGEN_CACHE=off)."""
        if os.environ.get(DISABLE_ENV, "").lower() in ("off", "0", "false", "no"):
            return cls(None)
        return cls(Path(root) / CACHE_DIR)

    @classmethod
    def disabled(cls) -> "Cache":
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def path(self, namespace: str, key: str) -> Path:
        assert self.directory is not None
        return self.directory / namespace / key[:2] / key

    # ------------------------------------------------------------ bytes and values

    def get_bytes(self, namespace: str, key: str) -> bytes | None:
        if self.directory is None:
            return None
        file = self.path(namespace, key)
        try:
            data = file.read_bytes()
        except OSError:
            self.misses += 1
            return None
        head = len(_MAGIC) + _HASH_LEN + 1
        payload = data[head:]
        if (data[:len(_MAGIC)] != _MAGIC or data[head - 1:head] != b"\n"
                or hashlib.sha256(payload).hexdigest().encode() != data[len(_MAGIC):head - 1]):
            self._reject(file)
            return None
        self.hits += 1
        return payload

    def put_bytes(self, namespace: str, key: str, payload: bytes) -> None:
        if self.directory is None:
            return
        header = _MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n"
        self._write_atomically(self.path(namespace, key), header + payload)

    def get(self, namespace: str, key: str):
        """The value stored under `key`, or None (a miss, or a damaged entry that was removed)."""
        payload = self.get_bytes(namespace, key)
        if payload is None:
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # an entry written by an incompatible version of a library: rebuild it
            self.hits -= 1
            self._reject(self.path(namespace, key))
            return None

    def put(self, namespace: str, key: str, value) -> None:
        if self.directory is not None:
            self.put_bytes(namespace, key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    # ------------------------------------------------------------ blobs (built pages)

    def store_blob(self, source: Path) -> str:
        """Keep a copy of `source` (hard link when possible) under the hash of its bytes; returns the hash."""
        data = source.read_bytes()
        name = hashlib.sha256(data).hexdigest()
        if self.directory is None:
            return name
        target = self.path("blobs", name)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.parent / f".{name}.{os.getpid()}.tmp"
            try:
                os.link(source, temp)
            except OSError:
                shutil.copyfile(source, temp)
            os.replace(temp, target)
        return name

    def check_blob(self, name: str) -> bool:
        """Whether the blob `name` is present and its bytes still hash to `name` (a damaged one is removed)."""
        if self.directory is None:
            return False
        blob = self.path("blobs", name)
        try:
            data = blob.read_bytes()
        except OSError:
            self.misses += 1
            return False
        if hashlib.sha256(data).hexdigest() != name:
            self._reject(blob)
            return False
        self.hits += 1
        return True

    def link_blob(self, name: str, target: Path) -> None:
        """Put the (checked) blob `name` at `target`: a hard link, or a copy across file systems."""
        blob = self.path("blobs", name)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(blob, target)
        except OSError:
            shutil.copyfile(blob, target)

    # ------------------------------------------------------------ internals

    def _reject(self, file: Path) -> None:
        self.misses += 1
        self.rejected += 1
        try:
            file.unlink()
        except OSError:
            pass

    def _write_atomically(self, target: Path, data: bytes) -> None:
        # No fsync: after a crash a renamed entry may be empty or torn, and the reader's checksum catches it.
        # The temporary name carries the process id: two processes writing the same entry never share one.
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            try:
                out = open(temp, "wb")
            except FileNotFoundError:  # the first entry of its folder
                target.parent.mkdir(parents=True, exist_ok=True)
                out = open(temp, "wb")
            try:
                with out:
                    out.write(data)
                os.replace(temp, target)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
        except OSError:
            # A read-only checkout or a full disk only makes the next run slower; it never fails this one.
            pass


class CacheMap:
    """A map kept as one cache entry (`namespace`, `key`): one read for thousands of small values. `get`
    answers from what the last run saved; `keep` records what this run uses; `save` stores exactly the
    entries this run kept, so those of removed pages or items go with the next save."""

    def __init__(self, cache: Cache, namespace: str, key: str):
        self.cache, self.namespace, self.key = cache, namespace, key
        stored = cache.get(namespace, key) if cache.enabled else None
        self.stored: dict = stored if isinstance(stored, dict) else {}
        self.kept: dict = {}

    def get(self, key: str):
        return self.stored.get(key)

    def keep(self, key: str, value) -> None:
        self.kept[key] = value

    def save(self) -> None:
        if self.cache.enabled and self.kept != self.stored:
            self.cache.put(self.namespace, self.key, self.kept)

