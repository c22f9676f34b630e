"""The stat index: which of a repository's files changed since the last run, found without reading the others.

Like git's index, it remembers for each file the stamp `os.stat` gives (size, modification and change times,
inode, device) and the SHA-256 of the bytes that had that stamp. A file whose stamp is unchanged is not read
again; any other file is read and hashed. Beside each hash the index keeps what one stage derived from those
bytes (its `payload`, e.g. `check`'s verdict on the file), valid while the hash and the stage's `context`
(rules, configuration) are unchanged: an unchanged file is neither read, hashed nor parsed.

The "racy" case: a file written in the same tick of the file system's clock as the run that stamped it could
change again without changing its stamp. Before stamping, a run writes a marker file in the cache and takes
the marker's modification time (the file system's own clock, at its own granularity): a file whose
modification or change time is not older than the marker is stored without a stamp, so the next run reads
it again. The index is one cache entry, checksummed like every other: a damaged index is a miss and is
rebuilt from the files.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .cache import Cache, digest

Stamp = tuple[int, int, int, int, int]
_NAMESPACE = "index"


def stamp_of(status: os.stat_result) -> Stamp:
    return (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev)


@dataclass
class FileIndex:
    """The stat index named `name` in `cache`; `FileIndex.open` reads it, `save` writes it back if it changed."""

    cache: Cache
    name: str
    context: str = ""
    # rel -> (stamp or None for "read it again", sha256 hex of the bytes, payload or None)
    entries: dict[str, tuple[Stamp | None, str, object]] = field(default_factory=dict)
    changed: bool = False
    marker_ns: int | None = None  # the file system's time just before this run stamped any file
    read_files: int = 0  # files this run had to read (stamp changed, racy or unknown)

    @classmethod
    def open(cls, cache: Cache, name: str, context: str) -> "FileIndex":
        """The stored index (its payloads only if they were derived under `context`), or an empty one."""
        index = cls(cache, name, context)
        if not cache.enabled:
            return index
        stored = cache.get(_NAMESPACE, index._key())
        if isinstance(stored, tuple) and len(stored) == 2 and isinstance(stored[1], dict):
            stored_context, entries = stored
            if stored_context == context:
                index.entries = entries
            else:  # new rules or settings: the hashes still hold, what was derived from them does not
                index.entries = {rel: (stamp, sha, None) for rel, (stamp, sha, _) in entries.items()}
                index.changed = True
        index.marker_ns = _file_system_now(cache)
        return index

    def _key(self) -> str:
        return digest("stat index", self.name)

    def read(self, rel: str, path: Path, status: os.stat_result) -> tuple[str, bytes | None, object]:
        """`(sha256, bytes, payload)` of the file: the bytes are None when the stamp vouches for the stored hash
        (the file was not read); the payload is None when nothing was derived from these bytes yet."""
        stamp = stamp_of(status)
        known = self.entries.get(rel)
        if known is not None and known[0] is not None and known[0] == stamp:
            return known[1], None, known[2]
        data = path.read_bytes()
        self.read_files += 1
        sha = hashlib.sha256(data).hexdigest()
        payload = known[2] if known is not None and known[1] == sha else None
        self._store(rel, stamp, sha, payload, status)
        return sha, data, payload

    def record(self, rel: str, status: os.stat_result, sha: str, payload: object) -> None:
        """Keep `payload`, derived from the bytes hashing to `sha` that the file had when stamped `status`."""
        self._store(rel, stamp_of(status), sha, payload, status)

    def _store(self, rel, stamp: Stamp, sha: str, payload, status: os.stat_result) -> None:
        if self.marker_ns is None or max(status.st_mtime_ns, status.st_ctime_ns) >= self.marker_ns:
            stamp = None  # racy (or no clock to judge by): the next run reads the file again
        entry = (stamp, sha, payload)
        if self.entries.get(rel) != entry:
            self.entries[rel] = entry
            self.changed = True

    def keep_only(self, rels: set[str]) -> None:
        """Forget the files that are gone."""
        gone = [rel for rel in self.entries if rel not in rels]
        for rel in gone:
            del self.entries[rel]
        self.changed = self.changed or bool(gone)

    def save(self) -> None:
        if self.changed and self.cache.enabled:
            self.cache.put(_NAMESPACE, self._key(), (self.context, self.entries))
            self.changed = False


def _file_system_now(cache: Cache) -> int | None:
    """The modification time the file system gives a file written now (its clock, its granularity), or None
    when the cache directory cannot be written (then no stamp is trusted)."""
    assert cache.directory is not None
    folder = cache.directory / _NAMESPACE
    marker = folder / f".clock.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(marker, "wb") as out:
            out.write(b"clock")
            now = os.fstat(out.fileno()).st_mtime_ns
        marker.unlink()
        return now
    except OSError:
        return None
