"""The `statusgen` mkdocs plugin: generated pages skip the Markdown parser; RCA pages are sanitized.

statusgen renders its pages (home, history, incidents, maintenance, components) to finished, sanitized
HTML. Passing that HTML through Python-Markdown only re-parses every tag, and it was the largest cost of a
build with many incidents. Pages whose front matter says `statusgen: html` hand their body to mkdocs as the
page content directly, without even building a Markdown converter for them; the theme, search, sitemap and
language alternates treat them like any page.

RCA pages (`statusgen: rca`) are real Markdown written by engineers: mkdocs converts them (so headings get
their ids and the table of contents), then the HTML and the table of contents are reduced to the document
allow-list of `render.sanitize`, so no link, attribute (`attr_list`) or raw HTML in an RCA can run script.
Hand-written pages of the site sources are the repository's own theme and are converted as usual.

It also gives every language its own `404.html`: mkdocs-static-i18n builds the languages one after the
other into one site directory, so the root `404.html` would end up in the last language built and the
others would have none.
"""
from __future__ import annotations

import types
from html import unescape
from pathlib import Path

import nh3
from mkdocs.plugins import BasePlugin
from mkdocs.structure.toc import get_toc

from .sanitize import page_title, sanitize_document_html


def _render_finished_html(page, config, files) -> None:
    """`Page.render` for a page that is already HTML: what converting an empty Markdown text leaves (no
    table of contents, no title from a heading, no anchors), with the HTML as the content."""
    page.content = page.statusgen_html
    page.toc = get_toc([])
    page._title_from_render = None
    page.present_anchor_ids = set()


class StatusgenPlugin(BasePlugin):
    def __init__(self) -> None:
        super().__init__()
        self._root_404: str | None = None

    def on_env(self, env, config, files):
        # A build renders each theme template thousands of times; Jinja's default re-checks every
        # template file on disk at each include. Nothing changes during a build, so load them once.
        env.auto_reload = False
        return env

    def on_page_markdown(self, markdown, page, config, files):
        if page.meta.get("statusgen") != "html":
            return markdown
        # Building a Markdown converter with every extension costs more than the page itself.
        page.statusgen_html = markdown
        page.render = types.MethodType(_render_finished_html, page)
        return ""

    def on_page_content(self, html, page, config, files):
        if page.meta.get("statusgen") == "rca":
            _sanitize_toc(page.toc)
            return sanitize_document_html(html)
        return html

    def on_post_template(self, output_content, template_name, config):
        if template_name != "404.html":
            return output_content
        i18n = config.plugins.get("i18n")
        language = config.theme.get("language")
        default = getattr(i18n, "default_language", language) if i18n else language
        if language == default:
            self._root_404 = output_content
            return output_content
        target = Path(config.site_dir) / language / "404.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(output_content, encoding="utf-8")
        # the root one stays in the default language, whichever language is built last
        return self._root_404 if self._root_404 is not None else output_content


def _sanitize_toc(items) -> None:
    """The theme writes table-of-contents titles unescaped: keep their text only, escaped."""
    for item in items:
        item.title = page_title(unescape(nh3.clean(item.title, tags=set())))
        _sanitize_toc(item.children)
