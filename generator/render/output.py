"""Put a finished site into the output directory: only the files that changed, or the whole directory swapped.

A build finishes its site in a work directory beside the output (`site_dir`), except the built pages it
reused from the cache, which it names by their blob (`blobs`: path -> blob). Placing it:

- **in place**, when the output is exactly what the previous build placed: the cache keeps, per output
  directory, a manifest of every file placed (its hash and its size, mtime and inode, like git's index).
  If every file of the output still has its stamp and no file was added, only the changed files are
  written: each is first put beside its target under a temporary name, then all are renamed over their
  targets, then the files the new site no longer has are removed. A failure before the renames (a full
  disk) removes the temporary files and leaves the previous site untouched; a crash during the renames
  leaves stamps that no longer match, so the next build takes the other way.
- **swapped**, otherwise (the first build, a missing or stale manifest, no cache): the reused pages are
  linked into the work directory and the whole directory replaces the output in one rename; the old one is
  removed afterwards.

Both ways give the same files with the same bytes: a warm build's output is byte-identical to a cold one.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..content.cache import Cache, digest
from ..content.tree import scan_tree

_NEW = ".statusgen-new"  # suffix of a file waiting for its rename


@dataclass(frozen=True)
class Placed:
    how: str  # "in place" | "swapped"
    changed: int  # files written (in place) or every file (swapped)
    removed: int = 0


def previous_files(out: Path, cache: Cache) -> dict[str, tuple]:
    """path -> (hash, size, mtime, inode) of each file in `out` as the previous build placed it, when `out` is
    untouched since (every file with its recorded stamp, none added); {} when it must be replaced whole."""
    if not cache.enabled or not out.is_dir():
        return {}
    manifest = cache.get("outputs", _manifest_key(out))
    if not isinstance(manifest, dict):
        return {}
    found = _stamps(out)
    if found is None or found.keys() != manifest.keys():
        return {}
    if any(found[rel] != tuple(entry[1:]) for rel, entry in manifest.items()):
        return {}
    return manifest


def place_site(site_dir: Path, blobs: dict[str, str], out: Path, cache: Cache, previous: dict[str, tuple]) -> Placed:
    """Make `out` hold the site of `site_dir` plus `blobs` (see the module's docstring). `previous` is what
    `previous_files` answered before the build: the blobs it already holds were not checked by the caller."""
    built = {rel: _hash(site_dir / rel) for rel in _files(site_dir)}
    wanted = {**blobs, **built}
    if previous:
        changed = [rel for rel, value in wanted.items() if rel not in previous or previous[rel][0] != value]
        removed = [rel for rel in previous if rel not in wanted]
        _update_in_place(site_dir, blobs, out, changed, removed, cache)
        # The files left alone keep their stamps; the ones written get their new ones.
        stamps = {rel: entry for rel, entry in previous.items() if rel in wanted}
        stamps.update({rel: (wanted[rel], *_stamp(out / rel)) for rel in changed})
        placed = Placed("in place", len(changed), len(removed))
    else:
        for rel, blob in blobs.items():
            if rel not in built:
                if not cache.check_blob(blob):
                    raise DamagedBlob(rel)
                cache.link_blob(blob, site_dir / rel)
        _swap_into_place(site_dir, out)
        stamps = {rel: (value, *_stamp(out / rel)) for rel, value in wanted.items()}
        placed = Placed("swapped", len(wanted))
    if cache.enabled:
        cache.put("outputs", _manifest_key(out), stamps)
    return placed


class DamagedBlob(Exception):
    """A reused page's stored HTML no longer has the bytes it was stored with (it was removed): rebuild."""


def _update_in_place(site_dir: Path, blobs: dict[str, str], out: Path, changed: list[str], removed: list[str],
                     cache: Cache) -> None:
    staged: list[Path] = []
    made: list[Path] = []  # folders made for new files, removed again if the update is abandoned
    try:
        for rel in changed:
            target = out / rel
            parent = target.parent
            if not parent.is_dir():
                missing = [p for p in [parent, *parent.parents] if p != out and out in p.parents and not p.exists()]
                parent.mkdir(parents=True, exist_ok=True)
                made += reversed(missing)
            temp = target.with_name(target.name + _NEW)
            staged.append(temp)
            source = site_dir / rel
            if source.is_file():
                os.replace(source, temp)  # the work directory is beside the output: same file system
            else:
                if not cache.check_blob(blobs[rel]):
                    raise DamagedBlob(rel)
                cache.link_blob(blobs[rel], temp)
    except BaseException:
        for temp in staged:
            temp.unlink(missing_ok=True)
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    for temp in staged:
        os.replace(temp, temp.with_name(temp.name[: -len(_NEW)]))
    for rel in removed:
        (out / rel).unlink(missing_ok=True)
        for folder in (out / rel).parents:
            if folder == out or out not in folder.parents:
                break
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break


def _swap_into_place(new_site: Path, out: Path) -> None:
    """Move the finished site to `out`; the old one is removed only after the new one is in place."""
    if not out.exists():
        os.replace(new_site, out)
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if old.exists():
        shutil.rmtree(old)
    os.replace(out, old)
    try:
        os.replace(new_site, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _manifest_key(out: Path) -> str:
    return digest("output manifest 1", str(out.resolve()))


def _files(base: Path) -> list[str]:
    prefix = len(str(base)) + 1
    return [entry.path[prefix:] for entry in scan_tree(str(base)) if not entry.is_dir(follow_symlinks=False)]


def _stamps(base: Path) -> dict[str, tuple[int, int, int]] | None:
    """path -> (size, mtime, inode) of every file under `base`; None when it cannot be read."""
    prefix = len(str(base)) + 1
    found = {}
    try:
        for entry in scan_tree(str(base)):
            if not entry.is_dir(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                found[entry.path[prefix:]] = (info.st_size, info.st_mtime_ns, info.st_ino)
    except OSError:
        return None
    return found


def _stamp(file: Path) -> tuple[int, int, int]:
    info = os.stat(file, follow_symlinks=False)
    return info.st_size, info.st_mtime_ns, info.st_ino


def _hash(file: Path) -> str:
    with open(file, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
