"""The one HTML allow-list for what engineers write: incident and maintenance texts, and RCA bodies.

Content is data, never code: whatever Markdown or raw HTML a content file holds, the public page gets only
these tags and attributes, links only to http(s)/mailto or relative addresses (no `javascript:`, `data:`,
`vbscript:`), no event handlers, no `<script>`, `<iframe>`, `<object>`, `<svg>`, `<style>`. Incident texts
get the inline subset; an RCA, a document with sections, also headings, tables, quotes and code blocks.
Values that are plain text (titles, names) are escaped instead: see `page_title`.
"""
from __future__ import annotations

from html import escape

import nh3

URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener nofollow"

# Incident and maintenance texts: a paragraph or a short list, inline emphasis, code and links.
TEXT_TAGS = frozenset({"p", "a", "strong", "em", "code", "ul", "ol", "li", "br", "b", "i"})
TEXT_ATTRIBUTES = {"a": {"href", "title"}}

# RCA bodies: the text subset plus what a document with sections needs (mkdocs' Markdown extensions:
# toc heading ids, tables with alignment, admonitions by class).
DOCUMENT_TAGS = TEXT_TAGS | {
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "blockquote", "pre", "del", "sub", "sup", "dl", "dt", "dd",
    "table", "thead", "tbody", "tr", "th", "td", "div", "span", "time",
}
_HEADING_ATTRIBUTES = {"id"}
DOCUMENT_ATTRIBUTES = {
    "a": {"href", "title"},
    **{f"h{level}": _HEADING_ATTRIBUTES for level in range(1, 7)},
    "th": {"style", "scope"},
    "td": {"style"},
    "div": {"class"},
    "p": {"class"},
    "span": {"class"},
    "code": {"class"},
    "pre": {"class"},
    "ol": {"start"},
    "time": {"datetime"},
}

_TEXT = nh3.Cleaner(tags=set(TEXT_TAGS), attributes=TEXT_ATTRIBUTES, url_schemes=set(URL_SCHEMES),
                    link_rel=LINK_REL)
_DOCUMENT = nh3.Cleaner(tags=set(DOCUMENT_TAGS), attributes=DOCUMENT_ATTRIBUTES, url_schemes=set(URL_SCHEMES),
                        link_rel=LINK_REL, filter_style_properties={"text-align"})


def sanitize_text_html(html: str) -> str:
    """HTML rendered from an incident or maintenance text, reduced to the inline allow-list."""
    return _TEXT.clean(html)


def sanitize_document_html(html: str) -> str:
    """HTML rendered from an RCA body, reduced to the document allow-list."""
    return _DOCUMENT.clean(html)


def page_title(text: str) -> str:
    """A title or name from content, as the theme must receive it.

    mkdocs and mkdocs-material treat a page title as HTML: they write it unescaped into `<title>`, the
    header, the `<h1>`, the navigation and the search index (whose script inserts it as HTML). So a
    title is handed over HTML-escaped, and the reader sees exactly the text that was written.
    """
    return escape(text, quote=True)
