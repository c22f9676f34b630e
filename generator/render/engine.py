"""The site engine adapter: finished pages in, a static site out. The only module that drives mkdocs.

Render produces finished pages (`render.pages`) and the machine-readable files; this module assembles the
theme (the built-in one shipped in `theme/`, then the repository's own `site/docs` and `site/overrides`
over it), runs mkdocs with mkdocs-material and mkdocs-static-i18n, and fixes what the engine leaves out.
Replacing the engine means replacing this module (and `mkdocs_plugin`).
"""
from __future__ import annotations

import logging
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from ..content.tree import LINK_REFUSED, outside_links

MKDOCS_CONFIG = "mkdocs.yml"
THEME = Path(__file__).parent / "theme"
SITE_SOURCES = "site/docs"  # the repository's own pages and assets, copied over the built-in ones
SITE_OVERRIDES = "site/overrides"  # the repository's own template overrides


class EngineFailed(Exception):
    """The site engine refused the sources or crashed; the message says what it reported."""


class _WarningCounter(logging.Handler):
    """mkdocs reports broken links and similar as warnings; any of them fails the build."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def assemble_sources(root: Path, work: Path) -> tuple[Path, Path]:
    """`(docs_dir, overrides_dir)` under `work`: the built-in theme's pages and templates with the
    repository's own copied over them. The rendered pages are written into `docs_dir` afterwards.

    A link in the repository's sources that leads out of it is refused before anything is copied: the
    copy follows links, and whatever it copies is served to the world."""
    links = outside_links(root, (MKDOCS_CONFIG, SITE_SOURCES, SITE_OVERRIDES))
    if links:
        raise EngineFailed("\n".join(f"{link}: {LINK_REFUSED}" for link in links))
    docs_dir, overrides = work / "docs", work / "overrides"
    shutil.copytree(THEME / "docs", docs_dir)
    shutil.copytree(THEME / "overrides", overrides)
    if (root / SITE_SOURCES).is_dir():
        shutil.copytree(root / SITE_SOURCES, docs_dir, dirs_exist_ok=True)
    if (root / SITE_OVERRIDES).is_dir():
        shutil.copytree(root / SITE_OVERRIDES, overrides, dirs_exist_ok=True)
    return docs_dir, overrides


def run_mkdocs(root: Path, docs_dir: Path, overrides: Path, site_dir: Path, languages: list[str],
               extra: dict | None = None) -> None:
    """Build `docs_dir` into `site_dir` with the repository's `mkdocs.yml`; any warning is an error.
    `extra` is added to mkdocs' `extra` for the theme (the subscribe form's settings)."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    counter = _WarningCounter()
    mkdocs_logger = logging.getLogger("mkdocs")
    mkdocs_logger.addHandler(counter)
    try:
        config = load_config(str(root / MKDOCS_CONFIG), docs_dir=str(docs_dir), site_dir=str(site_dir))
        # The assembled overrides come first, as `theme.custom_dir` would put them.
        config["theme"].dirs.insert(0, str(overrides))
        config["extra"].update(extra or {})
        mkdocs_build(config)
    except MkDocsException as exc:
        raise EngineFailed(f"mkdocs build failed: {exc}") from exc
    except Exception as exc:  # a template error in the theme, a plugin crash...
        raise EngineFailed(f"mkdocs build failed: {type(exc).__name__}: {exc}") from exc
    finally:
        mkdocs_logger.removeHandler(counter)
    if counter.messages:
        raise EngineFailed("mkdocs reported warnings (treated as errors):\n  " + "\n  ".join(counter.messages))
    write_language_sitemaps(site_dir, languages[1:])


SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


def write_language_sitemaps(site_dir: Path, languages: list[str]) -> None:
    """A sitemap under each language prefix: material's language switcher reads `/<lang>/sitemap.xml` to
    find the same page in the other language, and mkdocs-static-i18n writes only the root one."""
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
