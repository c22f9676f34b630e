"""`statusgen build`: load -> validate -> render pages -> site engine into a temporary directory -> place.

The output directory is changed only when every step succeeded, so a failed build leaves the previously
published site byte-for-byte as it was; placing writes only the files that changed (`render.output`).
"""
from __future__ import annotations

import gc
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

from .check import content_checks
from .content.cache import Cache
from .content.load import LoadFailed, Problem, load_content, scan_item_files
from .progress import StageTimer
from .render.api import write_api
from .render.badges import write_badges
from .render.feeds import write_feeds
from .render.ics import write_calendars
from .render.engine import EngineFailed, build_pages
from .render.output import DamagedBlob, Placed, place_site, previous_files
from .render.pages import render_site_pages, theme_context
from .render.subscribe import subscribe_extra


class BuildFailed(Exception):
    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class BuildResult:
    out: Path
    pages: int
    drafts_skipped: tuple[str, ...]
    warnings: tuple[Problem, ...]
    reused: int = 0  # built pages taken from the cache instead of mkdocs
    placed: Placed | None = None  # how the output directory was changed


SiteExtra = Callable[[Path, Path], None]


def build_site(root: Path, out: Path, now: datetime, extras: Sequence[SiteExtra] = (),
               progress: StageTimer | None = None, cache: Cache | None = None) -> BuildResult:
    """Build the site of the repository at `root` into `out`. Each of `extras` is called with the
    repository root and the finished site directory before it is placed (the signed history adds the RCA
    ledger this way); it raises BuildFailed to refuse the build. `cache` (default: the repository's
    `.statusgen-cache/`) is reused for every file and page whose inputs did not change."""
    # Loading makes hundreds of thousands of objects (the models) that all live until the end of the build:
    # the cyclic garbage collector is kept from walking them at every collection (it never found anything
    # to free among them): off while loading, then told to leave them out (freeze) until the build ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build_site(root, out, now, extras, progress, cache)
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()


def _build_site(root: Path, out: Path, now: datetime, extras: Sequence[SiteExtra], progress: StageTimer | None,
                cache: Cache | None) -> BuildResult:
    root = Path(root).resolve()
    out = Path(out)
    if not out.is_absolute():
        out = (root / out).resolve()
    progress = progress or StageTimer("build")
    cache = cache if cache is not None else Cache.of(root)
    try:
        files = scan_item_files(root, cache)
        with progress.stage("load", len(files)) as advance:
            loaded = load_content(root, cache, advance, files)
    except LoadFailed as failed:
        raise BuildFailed("content has errors; the site was not built", failed.problems) from None
    gc.freeze()
    gc.enable()
    with progress.stage("checks", len(loaded.repository.incidents) + len(loaded.repository.maintenance)) as advance:
        found = content_checks(loaded, now, cache, advance)
    errors = [p for p in found if p.level == "error"]
    if errors:
        raise BuildFailed("content has errors; the site was not built", errors)
    repository = loaded.repository
    with progress.stage("render"):
        pages = render_site_pages(repository, now, cache)

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        site_dir = work / "site"
        readable = work / "machine-readable"
        with progress.stage("site"):
            in_place = previous_files(out, cache)
            try:
                # The machine-readable files are written meanwhile, each writer in a worker of its own.
                engine = build_pages(root, work, pages, site_dir, repository.config.languages, cache,
                                     {"statusgen": theme_context(repository), **subscribe_extra(repository.config)},
                                     {rel: entry[0] for rel, entry in in_place.items()},
                                     [partial(writer, repository, now, readable)
                                                for writer in MACHINE_READABLE_WRITERS])
            except EngineFailed as failed:
                raise BuildFailed(str(failed)) from failed
        with progress.stage("outputs"):
            _move_into(readable, site_dir)
            for extra in extras:
                extra(root, site_dir)
        with progress.stage("place"):
            try:
                placed = place_site(site_dir, engine["blobs"], out, cache, in_place)
            except DamagedBlob as damaged:
                raise BuildFailed(f"the cached page for {damaged} was damaged during the build; "
                                  "nothing was changed, run the build again") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    drafts = tuple(sorted(
        [f"incident {i.id}" for i in repository.incidents if i.draft]
        + [f"maintenance {m.id}" for m in repository.maintenance if m.draft]
        + [f"rca {r.id} ({r.lang})" for r in repository.rcas if r.draft]
    ))
    return BuildResult(out, len(pages), drafts, tuple(p for p in found if p.level == "warning"), engine["reused"],
                       placed)


# What customers' tools read: written while mkdocs builds (each in a worker), moved beside the pages after.
MACHINE_READABLE_WRITERS = (write_api, write_feeds, write_calendars, write_badges)


def _move_into(source: Path, target: Path) -> None:
    """Move every file under `source` to the same place under `target` (renames: the same file system)."""
    for folder, _, files in os.walk(source):
        destination = target / Path(folder).relative_to(source)
        destination.mkdir(parents=True, exist_ok=True)
        for name in files:
            os.replace(Path(folder) / name, destination / name)
