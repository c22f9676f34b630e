"""The `statusgen` mkdocs plugin: generated pages skip the Markdown parser.

statusgen renders its pages (home, history, incidents, maintenance, components) to finished, sanitized
HTML. Passing that HTML through Python-Markdown only re-parses every tag, and it was the largest cost of a
build with many incidents. Pages whose front matter says `statusgen: html` hand their body to mkdocs as the
page content directly; the theme, search, sitemap and language alternates treat them like any page.
Hand-written pages and RCAs (real Markdown) are converted as usual.
"""
from __future__ import annotations

from mkdocs.plugins import BasePlugin


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
        stored = self._html.pop(page.file.src_uri, None)
        return html if stored is None else stored
