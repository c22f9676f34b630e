"""`statusgen build`: load -> validate -> render pages -> mkdocs build into a temporary directory -> swap.

The output directory is replaced only when every step succeeded, so a failed build leaves the previously
published site byte-for-byte as it was.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .check import content_checks
from .content.load import LoadFailed, Problem, load_content
from .render.api import write_api
from .render.badges import write_badges
from .render.feeds import write_feeds
from .render.ics import write_calendars
from .render.pages import render_site_pages, write_pages

SITE_SOURCES = "site/docs"  # hand-written pages and assets copied into every build
MKDOCS_CONFIG = "mkdocs.yml"


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


class _WarningCounter(logging.Handler):
    """mkdocs reports broken links and similar as warnings; any of them fails the build."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_mkdocs(root: Path, docs_dir: Path, site_dir: Path) -> None:
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    counter = _WarningCounter()
    mkdocs_logger = logging.getLogger("mkdocs")
    mkdocs_logger.addHandler(counter)
    try:
        config = load_config(str(root / MKDOCS_CONFIG), docs_dir=str(docs_dir), site_dir=str(site_dir))
        config["theme"].dirs  # noqa: B018 - resolves custom_dir early so a bad theme path fails here
        mkdocs_build(config)
    except MkDocsException as exc:
        raise BuildFailed(f"mkdocs build failed: {exc}") from exc
    except Exception as exc:  # a template error in the theme, a plugin crash...
        raise BuildFailed(f"mkdocs build failed: {type(exc).__name__}: {exc}") from exc
    finally:
        mkdocs_logger.removeHandler(counter)
    if counter.messages:
        raise BuildFailed("mkdocs reported warnings (treated as errors):\n  " + "\n  ".join(counter.messages))


def build_site(root: Path, out: Path, now: datetime) -> BuildResult:
    root = Path(root).resolve()
    out = Path(out)
    if not out.is_absolute():
        out = (root / out).resolve()
    try:
        loaded = load_content(root)
    except LoadFailed as failed:
        raise BuildFailed("content has errors; the site was not built", failed.problems) from None
    found = content_checks(loaded, now)
    errors = [p for p in found if p.level == "error"]
    if errors:
        raise BuildFailed("content has errors; the site was not built", errors)
    repository = loaded.repository
    pages = render_site_pages(repository, now)

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        docs_dir = work / "docs"
        site_dir = work / "site"
        if (root / SITE_SOURCES).is_dir():
            shutil.copytree(root / SITE_SOURCES, docs_dir)
        docs_dir.mkdir(exist_ok=True)
        write_pages(pages, docs_dir)
        run_mkdocs(root, docs_dir, site_dir)
        write_language_sitemaps(site_dir, repository.config.languages[1:])
        write_machine_readable(repository, now, site_dir)
        export_ledger_if_any(root, site_dir)
        _swap_into_place(site_dir, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    drafts = tuple(sorted(
        [f"incident {i.id}" for i in repository.incidents if i.draft]
        + [f"maintenance {m.id}" for m in repository.maintenance if m.draft]
        + [f"rca {r.id} ({r.lang})" for r in repository.rcas if r.draft]
    ))
    return BuildResult(out, len(pages), drafts, tuple(p for p in found if p.level == "warning"))


def export_ledger_if_any(root: Path, site_dir: Path) -> None:
    """Serve the RCA ledger (`<site>/ledger/`) when the repository has one, so customers can verify offline."""
    from .trust.ledger import LEDGER_PATH, LedgerError, export_ledger

    if not (root / LEDGER_PATH).exists():
        return
    try:
        export_ledger(root, site_dir)
    except LedgerError as exc:
        raise BuildFailed(f"the RCA ledger cannot be served: {exc}") from None


# What customers' tools read, written beside the pages after mkdocs (which empties site_dir first).
MACHINE_READABLE_WRITERS = (write_api, write_feeds, write_calendars, write_badges)


def write_machine_readable(repository, now: datetime, site_dir: Path) -> None:
    """Statuspage-compatible JSON, Atom/RSS feeds, the maintenance calendar and badges, per language."""
    for writer in MACHINE_READABLE_WRITERS:
        writer(repository, now, site_dir)


SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


def write_language_sitemaps(site_dir: Path, languages: list[str]) -> None:
    """A sitemap under each language prefix: material's language switcher reads `/<lang>/sitemap.xml` to
    find the same page in the other language, and mkdocs-static-i18n writes only the root one."""
    import xml.etree.ElementTree as ET

    root_sitemap = site_dir / "sitemap.xml"
    if not root_sitemap.is_file():
        return
    tree = ET.parse(root_sitemap)
    for lang in languages:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for url in tree.getroot().findall("s:url", SITEMAP_NS):
            for link in url.findall("x:link", SITEMAP_NS):
                if link.get("hreflang") == lang:
                    lines.append(f"  <url><loc>{link.get('href')}</loc></url>")
        lines.append("</urlset>")
        target = site_dir / lang / "sitemap.xml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")


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
