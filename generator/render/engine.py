"""The site engine adapter: finished pages in, a static site out. The only module that drives mkdocs.

Render produces finished pages (`render.pages`) and the machine-readable files; this module assembles the
theme (the built-in one shipped in `theme/`, then the repository's own `site/docs` and `site/overrides`
over it), runs mkdocs with mkdocs-material and mkdocs-static-i18n, and fixes what the engine leaves out.
Replacing the engine means replacing this module (and `mkdocs_plugin`).

How a build runs (`build_pages`):
- one mkdocs build per language, in parallel worker processes. mkdocs-static-i18n would build the other
  languages one after another inside the first build; each worker instead tells the i18n plugin which
  language it builds and that it is the only one, into its own directory, and the parent merges the
  directories (the default language at `/`, the others under `/<lang>/`).
- standalone pages (incidents, maintenance, components: finished HTML outside the navigation) are built
  once: the built page is a function of its text and the site's frame (mkdocs.yml, theme, hand-written
  pages, the navigation pages' titles, package versions), so it is stored in the content-addressed cache
  under the hash of those and reused. Only the pages whose text changed go through mkdocs again, with the
  navigation pages, RCAs and hand-written pages, which are always built. A warm build is byte-identical
  to a cold one.
- search entries of the pages render gave them for (`RenderedPage.search`) come from the model; the
  search plugin parses only the other pages' HTML. The engine writes the search index and the sitemaps of
  the whole site itself, since a build may have seen only part of it.
"""
from __future__ import annotations

import gzip
import json
import logging
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence
from xml.sax.saxutils import escape

from ..content.cache import Cache, CacheMap, code_version, digest
from ..content.tree import LINK_REFUSED, outside_links
from .pages import RenderedPage

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


# The site frame's code: this adapter, the plugin and the shipped theme; and the engine's packages.
ENGINE_RULES = code_version(__file__, str(Path(__file__).with_name("mkdocs_plugin.py")), str(THEME))
ENGINE_PACKAGES = ("mkdocs", "mkdocs-material", "mkdocs-static-i18n", "pymdown-extensions", "markdown", "jinja2")
SEARCH_INDEX = "search/search_index.json"


def build_pages(root: Path, work: Path, pages: list[RenderedPage], site_dir: Path, languages: list[str],
                cache: Cache | None = None, extra: dict | None = None,
                in_place: dict[str, str] | None = None, alongside: Sequence[Callable[[], object]] = ()) -> dict:
    """Build the site of `pages` (every generated page, every language) into `site_dir`, using `work` for
    the sources; `extra` is added to mkdocs' `extra` for the theme (the subscribe form's settings).

    The pages reused from the cache are not copied into `site_dir`: they are returned as `blobs` (output
    path -> blob) for `render.output.place_site`. `in_place` (output path -> hash of the file the output
    directory holds, `render.output.previous_files`) spares checking the blobs already there. Each of
    `alongside` runs in a worker process of its own while mkdocs builds (see `run_mkdocs`). Returns
    {"built": pages built by mkdocs, "reused": pages from the cache, "blobs": {...}}."""
    cache = cache or Cache.disabled()
    in_place = in_place or {}
    docs_dir, overrides = assemble_sources(root, work)
    config = _site_settings(root)
    frame = _frame_key(root, docs_dir, overrides, pages, languages, extra or {})
    reused: dict[str, str] = {}  # page path -> blob of its built HTML
    # Every standalone page's built HTML of this frame (page key -> blob), in one cache entry: one read for
    # thousands of pages. Damage to it is detected by the cache; a missing page is built again.
    built = CacheMap(cache, "site-index", frame)
    by_group: dict[str, list[RenderedPage]] = {}
    for page in pages:
        by_group.setdefault(_norm(page.path, languages)[0], []).append(page)
    to_build: list[RenderedPage] = []
    keys: dict[str, str] = {}  # page path -> cache key of its built HTML
    for group in by_group.values():
        if not all(p.standalone for p in group):
            to_build += group
            continue
        # A page is reused only with all its languages: their language links point at each other.
        found = {}
        for page in group:
            # A page made from cached inputs is known by their hash: its text need not be read to find it.
            keys[page.path] = digest(frame, page.path, "inputs", page.key) if page.key else \
                digest(frame, page.path, page.text)
        for page in group:
            blob = built.get(keys[page.path])
            if blob is None or (in_place.get(_destination(page.path, languages, config)) != blob
                                and not cache.check_blob(blob)):
                break
            found[page.path] = blob
        else:
            reused.update(found)
            continue
        to_build += group
    for page in to_build:
        target = docs_dir / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page.text, encoding="utf-8")
    run_mkdocs(root, docs_dir, overrides, site_dir, languages, extra, work, alongside)
    if cache.enabled:
        for path, blob in reused.items():
            built.keep(keys[path], blob)
        for page in to_build:
            if page.path in keys:
                built.keep(keys[page.path], cache.store_blob(site_dir / _destination(page.path, languages, config)))
        built.save()
    _write_search_index(site_dir, pages, languages, config)
    write_sitemaps(site_dir, docs_dir, pages, languages, config, cache)
    return {"built": len(to_build), "reused": len(reused),
            "blobs": {_destination(path, languages, config): blob for path, blob in reused.items()}}


def run_mkdocs(root: Path, docs_dir: Path, overrides: Path, site_dir: Path, languages: list[str],
               extra: dict | None = None, work: Path | None = None,
               alongside: Sequence[Callable[[], object]] = ()) -> None:
    """Build `docs_dir` into `site_dir` with the repository's `mkdocs.yml`, one worker process per language;
    any warning is an error. `extra` is added to mkdocs' `extra` for the theme.

    Each of `alongside` (work that does not need mkdocs, such as the machine-readable files) runs in one
    more worker meanwhile: forked, it sees the parent's data without pickling it, and the build's other
    core works while mkdocs does. An exception it raises is raised here."""
    work = Path(work) if work is not None else site_dir.parent
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    outputs = {lang: work / f"site-{lang}" for lang in languages}
    # fork: the workers start with mkdocs already imported and nothing to pickle but paths.
    context = multiprocessing.get_context("fork")
    _ALONGSIDE[:] = alongside
    try:
        with ProcessPoolExecutor(max_workers=len(languages) + len(alongside), mp_context=context) as pool:
            others = [pool.submit(_run_alongside, n) for n in range(len(alongside))]
            futures = {lang: pool.submit(_build_language, str(root / MKDOCS_CONFIG), str(docs_dir), str(overrides),
                                         str(outputs[lang]), lang, extra) for lang in languages}
            reports = {lang: future.result() for lang, future in futures.items()}
            for other in others:
                other.result()
    finally:
        _ALONGSIDE.clear()
    failures = [f"{lang}: {report['error']}" for lang, report in reports.items() if report["error"]]
    if failures:
        raise EngineFailed("mkdocs build failed: " + "; ".join(failures))
    warnings = [message for lang in languages for message in reports[lang]["warnings"]]
    if warnings:
        raise EngineFailed("mkdocs reported warnings (treated as errors):\n  " + "\n  ".join(dict.fromkeys(warnings)))
    logging.getLogger(__name__).debug("mkdocs CPU seconds per language: %s",
                                      {lang: round(reports[lang]["cpu"], 2) for lang in languages})
    _merge_languages(outputs, site_dir, languages)


_ALONGSIDE: list[Callable[[], object]] = []  # set by run_mkdocs before its workers are forked


def _run_alongside(index: int) -> None:
    _ALONGSIDE[index]()


def _build_language(config_file: str, docs_dir: str, overrides: str, site_dir: str, lang: str,
                    extra: dict | None = None) -> dict:
    """In a worker process: the mkdocs build of one language. Returns {"error": str|None, "warnings": [...]}."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    import time

    started = time.process_time()
    counter = _WarningCounter()
    mkdocs_logger = logging.getLogger("mkdocs")
    mkdocs_logger.addHandler(counter)
    try:
        config = load_config(config_file, docs_dir=docs_dir, site_dir=site_dir)
        # The assembled overrides come first, as `theme.custom_dir` would put them.
        config["theme"].dirs.insert(0, overrides)
        config["extra"].update(extra or {})
        # This build sees one language (and maybe part of the site): the parent writes the sitemaps.
        config["theme"].static_templates.discard("sitemap.xml")
        i18n = config.plugins.get("i18n")
        if i18n is not None:
            # This build is one language and the only one: the plugin must not start the others itself.
            i18n.current_language = lang
            i18n.building = True
        mkdocs_build(config)
    except MkDocsException as exc:
        return {"error": str(exc), "warnings": counter.messages}
    except Exception as exc:  # a template error in the theme, a plugin crash...
        return {"error": f"{type(exc).__name__}: {exc}", "warnings": counter.messages}
    finally:
        mkdocs_logger.removeHandler(counter)
    return {"error": None, "warnings": counter.messages, "cpu": time.process_time() - started}


def _merge_languages(outputs: dict[str, Path], site_dir: Path, languages: list[str]) -> None:
    """The default language's build is the site (with the root 404 page in the default language); each other
    language brings its `/<lang>/` folder."""
    default, others = languages[0], languages[1:]
    os.replace(outputs[default], site_dir)
    for lang in others:
        os.replace(outputs[lang] / lang, site_dir / lang)  # with its own 404.html (the plugin writes it)
    # One search index for all languages, as the serial build leaves it; its settings are the default's.
    indexes = [site_dir / SEARCH_INDEX] + [outputs[lang] / SEARCH_INDEX for lang in others]
    found = [json.loads(f.read_text(encoding="utf-8")) for f in indexes if f.is_file()]
    if found:
        merged = {"config": found[0]["config"], "docs": [doc for index in found for doc in index["docs"]]}
        (site_dir / SEARCH_INDEX).write_text(json.dumps(merged, separators=(",", ":")), encoding="utf-8")
    for lang in others:
        shutil.rmtree(outputs[lang], ignore_errors=True)


# ---------------------------------------------------------------- what a page's built form depends on


def _site_settings(root: Path) -> dict:
    """The few mkdocs.yml settings the adapter needs itself (read as YAML: no plugin is loaded for it)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may hold !!python tags (the toc slugify): they do not matter here.
    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    settings = yaml.load((root / MKDOCS_CONFIG).read_text(encoding="utf-8"), Loader=_Loader) or {}
    return {"site_url": str(settings.get("site_url") or ""), "use_directory_urls": settings.get("use_directory_urls", True)}


def _frame_key(root: Path, docs_dir: Path, overrides: Path, pages: list[RenderedPage], languages: list[str],
               extra: dict) -> str:
    """Hash of everything a standalone page's built form depends on besides its own text."""
    parts: list[bytes | str] = [ENGINE_RULES, (root / MKDOCS_CONFIG).read_bytes(), ",".join(languages),
                                json.dumps(extra, sort_keys=True, default=str)]
    for package in ENGINE_PACKAGES:
        try:
            parts.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{package} missing")
    for base in (docs_dir, overrides):
        for file in sorted((p for p in base.rglob("*") if p.is_file()), key=lambda p: p.parts):
            parts += [file.relative_to(base.parent).as_posix(), file.read_bytes()]
    # Other generated pages reach a standalone page only through the navigation: their front matter (title).
    for page in pages:
        if not page.standalone:
            parts += [page.path, _front_matter(page.text)]
    return digest(*parts)


def _front_matter(text: str) -> str:
    if not text.startswith("---"):
        return ""
    end = text.find("\n---", 3)
    return text[: end + 4] if end >= 0 else ""


def _norm(path: str, languages: list[str]) -> tuple[str, str]:
    """(`incidents/x.md`, `ja`) of `incidents/x.ja.md`; files without a language suffix are the default's."""
    stem, _, suffix = path.rpartition(".")
    base, _, lang = stem.rpartition(".")
    if base and lang in languages:
        return f"{base}.{suffix}", lang
    return path, languages[0]


def _url(norm: str, lang: str, languages: list[str], config: dict) -> str:
    """Site-relative URL of a page, e.g. `ja/incidents/x/` (as mkdocs and the i18n plugin make it)."""
    stem = norm.removesuffix(".md")
    prefix = "" if lang == languages[0] else f"{lang}/"
    if config["use_directory_urls"]:
        if stem == "index" or stem.endswith("/index"):
            return prefix + stem.removesuffix("index")
        return prefix + stem + "/"
    return prefix + stem + ".html"


def _destination(path: str, languages: list[str], config: dict) -> str:
    norm, lang = _norm(path, languages)
    url = _url(norm, lang, languages, config)
    return url + "index.html" if url.endswith("/") or url == "" else url


# ---------------------------------------------------------------- search index and sitemaps


def _write_search_index(site_dir: Path, pages: list[RenderedPage], languages: list[str], config: dict) -> None:
    """Add the entries render gave the pages (from the model) to the index of the pages mkdocs indexed."""
    file = site_dir / SEARCH_INDEX
    if not file.is_file():
        return
    index = json.loads(file.read_text(encoding="utf-8"))
    entries = list(index["docs"])
    for page in pages:
        norm, lang = _norm(page.path, languages)
        location = _url(norm, lang, languages, config)
        for entry in page.search:
            entries.append({"location": location + entry.get("anchor", ""), "title": entry["title"],
                            "text": entry.get("text", "")})
    index["docs"] = sorted(entries, key=lambda e: (e["location"], e["title"]))
    file.write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")


SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}


def write_sitemaps(site_dir: Path, docs_dir: Path, pages: list[RenderedPage], languages: list[str],
                   config: dict, cache: Cache | None = None) -> None:
    """The sitemap of the whole site with each page's language alternates (hreflang), and one sitemap under
    each language prefix: material's language switcher reads `/<lang>/sitemap.xml` to find the same page in
    the other language. Written here because a build may have seen only part of the site. They change only
    when a page is added or removed: kept in the cache under the hash of the list of pages."""
    cache = cache or Cache.disabled()
    norms = {_norm(p.path, languages)[0] for p in pages}
    norms |= {_norm(f.relative_to(docs_dir).as_posix(), languages)[0] for f in docs_dir.rglob("*.md")}
    ordered = sorted(norms, key=lambda n: (n != "index.md", n))
    key = digest(ENGINE_RULES, json.dumps([ordered, languages, config], sort_keys=True))
    texts = cache.get("sitemaps", key)
    if texts is None:
        texts = _sitemap_texts(ordered, languages, config)
        cache.put("sitemaps", key, texts)
    for prefix, text in texts.items():
        _write_sitemap(site_dir / prefix if prefix else site_dir, text)


def _sitemap_texts(ordered: list[str], languages: list[str], config: dict) -> dict[str, str]:
    """language prefix ('' for the whole site) -> the sitemap's text."""
    texts = {}
    base = config["site_url"].rstrip("/") + "/" if config["site_url"] else ""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">']
    for lang in languages:
        for norm in ordered:
            lines.append("    <url>")
            lines.append(f"        <loc>{escape(base + _url(norm, lang, languages, config))}</loc>")
            lines.append("        <changefreq>daily</changefreq>")
            for other in [lang, *sorted(x for x in languages if x != lang)]:
                href = escape(base + _url(norm, other, languages, config))
                lines.append(f'        <xhtml:link rel="alternate" hreflang="{other}" href="{href}"/>')
            lines.append("    </url>")
    lines.append("</urlset>")
    texts[""] = "\n".join(lines) + "\n"
    for lang in languages[1:]:
        own = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        own += [f"  <url><loc>{escape(base + _url(norm, lang, languages, config))}</loc></url>" for norm in ordered]
        own.append("</urlset>")
        texts[lang] = "\n".join(own) + "\n"
    return texts


def _write_sitemap(directory: Path, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    (directory / "sitemap.xml").write_bytes(data)
    # mtime 0: the compressed file is the same bytes whenever the sitemap is
    (directory / "sitemap.xml.gz").write_bytes(gzip.compress(data, mtime=0))
