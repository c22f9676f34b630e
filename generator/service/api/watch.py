"""Which content files changed since the API last looked, from the kernel (inotify) instead of a walk.

The status API keeps every incident file's validation result in memory (`store.ContentIndex`). Before a
write it must know which files someone else changed (an engineer's commit in the checkout, `statusgen
sync`, `git pull`). Walking and stat-ing thousands of files under the write lock cost more than the write
itself; inotify tells exactly which paths were touched, and the events of a change are queued by the time
the changing process's system call returns, so a change made before a request is always seen by it.

`ContentWatch.changes()` answers with the relative paths touched since the previous call, or None when it
cannot tell (no inotify on this system, the kernel's queue overflowed, a watched folder was moved or
removed): the caller then walks every file, as before.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("statusgen.api")

try:  # Linux only; elsewhere every refresh walks the folders
    from inotify_simple import INotify, flags
except ImportError:  # pragma: no cover - exercised on systems without inotify
    INotify = None

if INotify is not None:
    _FILE_EVENTS = (flags.CREATE | flags.DELETE | flags.MODIFY | flags.CLOSE_WRITE | flags.MOVED_FROM
                    | flags.MOVED_TO | flags.ATTRIB | flags.DELETE_SELF | flags.MOVE_SELF)
    _GONE = flags.DELETE_SELF | flags.MOVE_SELF | flags.DELETE | flags.MOVED_FROM
    # The repository root: only folders appearing or disappearing there matter (a folder created after start).
    _ROOT_EVENTS = flags.CREATE | flags.DELETE | flags.MOVED_FROM | flags.MOVED_TO | flags.ONLYDIR


class ContentWatch:
    """inotify watches on the given top folders of `root` and every folder below them."""

    def __init__(self, root: Path, folders: tuple[str, ...]):
        if INotify is None:
            raise OSError("inotify is not available on this system")
        self.root = Path(root)
        self.folders = folders
        self._start()

    def _start(self) -> None:
        self._inotify = INotify(nonblocking=True)
        self._folders: dict[int, str] = {}  # watch descriptor -> folder relative to root ("" for the root)
        try:
            self._add(self.root, "", _ROOT_EVENTS)
            for folder in self.folders:
                self._watch_tree(folder)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        self._inotify.close()

    def _add(self, path: Path, rel: str, mask: int) -> bool:
        try:
            self._folders[self._inotify.add_watch(str(path), mask)] = rel
            return True
        except (FileNotFoundError, NotADirectoryError):  # removed or replaced meanwhile: its parent's event says so
            return False

    def _watch_tree(self, rel: str) -> set[str]:
        """Watch the folder `rel` and every folder below it; returns the files found in them (a folder that
        appears may already hold files written before its watch existed). Each folder is watched before it
        is listed (not `content.tree.scan_tree`, which lists first): a file made in between is then in the
        listing or in the events, never in neither."""
        found: set[str] = set()
        pending = [rel]
        while pending:
            current = pending.pop()
            if not self._add(self.root / current, current, _FILE_EVENTS | flags.ONLYDIR):
                continue
            try:
                entries = list(os.scandir(self.root / current))
            except OSError:
                continue
            for entry in entries:
                child = f"{current}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    pending.append(child)
                else:
                    found.add(child)
        return found

    def changes(self) -> set[str] | None:
        """The paths (relative, '/'-separated) created, written, removed or renamed since the last call;
        None when only a full walk can tell (the watches are then set up afresh before the caller walks)."""
        try:
            events = self._inotify.read(timeout=0)
        except BlockingIOError:
            return set()
        touched: set[str] | None = set()
        for event in events:
            if event.mask & flags.Q_OVERFLOW:
                log.warning("the content watch missed events (the kernel's queue overflowed): walking every file")
                touched = None
                break
            folder = self._folders.get(event.wd)
            if event.mask & flags.IGNORED:
                self._folders.pop(event.wd, None)
                continue
            if folder is None:
                continue
            if folder == "":  # the root: a watched top folder appeared or went away
                if event.name in self.folders:
                    touched = None
                    break
                continue
            if event.mask & (flags.DELETE_SELF | flags.MOVE_SELF):
                continue  # its parent's event (or the root's) names it
            path = f"{folder}/{event.name}" if event.name else folder
            if event.mask & flags.ISDIR:
                if event.mask & _GONE:
                    touched = None  # which files the folder held is not in the event
                    break
                touched |= self._watch_tree(path)
                continue
            touched.add(path)
        if touched is None:
            # Start over, so that no folder created meanwhile goes unwatched; the caller walks every file.
            self.close()
            self._start()
        return touched
