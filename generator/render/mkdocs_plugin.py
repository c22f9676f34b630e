"""The `statusgen` mkdocs plugin: generated pages skip the Markdown parser; RCA pages are sanitized.

statusgen renders its pages (home, history, incidents, maintenance, components) to finished, sanitized
HTML. Passing that HTML through Python-Markdown only re-parses every tag, and it was the largest cost of a
build with many incidents. Pages whose front matter says `statusgen: html` hand their body to mkdocs as the
page content directly; the theme, search, sitemap and language alternates treat them like any page.

RCA pages (`statusgen: rca`) are real Markdown written by engineers: mkdocs converts them (so headings get
their ids and the table of contents), then the HTML and the table of contents are reduced to the document
allow-list of `render.sanitize`, so no link, attribute (`attr_list`) or raw HTML in an RCA can run script.
Hand-written pages of the site sources are the repository's own theme and are converted as usual.
"""
from __future__ import annotations

from html import unescape

import nh3
from mkdocs.plugins import BasePlugin

from .sanitize import page_title, sanitize_document_html


class StatusgenPlugin(BasePlugin):
    def __init__(self) -> None:
        super().__init__()
        self._html: dict[str, str] = {}

    def on_env(self, env, config, files):
        # A build renders each theme template thousands of times; Jinja's default re-checks every
        # template file on disk at each include. Nothing changes during a build, so load them once.
        env.auto_reload = False
        return env

    def on_page_markdown(self, markdown, page, config, files):
        if page.meta.get("statusgen") != "html":
            return markdown
        self._html[page.file.src_uri] = markdown
        return ""

    def on_page_content(self, html, page, config, files):
        if page.meta.get("statusgen") == "rca":
            _sanitize_toc(page.toc)
            return sanitize_document_html(html)
        stored = self._html.pop(page.file.src_uri, None)
        return html if stored is None else stored


def _sanitize_toc(items) -> None:
    """The theme writes table-of-contents titles unescaped: keep their text only, escaped."""
    for item in items:
        item.title = page_title(unescape(nh3.clean(item.title, tags=set())))
        _sanitize_toc(item.children)
