"""Atom and RSS 2.0 feeds per language, site-wide and per component: one entry per public update.

Every incident update is an entry, and so is every maintenance update, with the maintenance's announcement
as its first entry. Entry ids are tag URIs built from our ids and the update's UTC time, so a feed reader
never sees the same update twice across builds or languages. A feed holds the newest `FEED_ENTRIES`.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from ..localtime import format_local_and_utc
from ..content.model import Incident, Maintenance, Repository, Texts
from .api import language_prefix, site_url
from .pages import STRINGS, component_names, render_text
from .status import published_incidents, published_maintenance

FEED_ENTRIES = 100
ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class FeedEntry:
    tag: str  # unique and stable: <kind>/<id>/<UTC time>
    at: datetime
    kind: str  # incident | maintenance
    item: Incident | Maintenance
    status: str  # the update's status, e.g. investigating or in_progress
    text: Texts
    components: tuple[str, ...]


def feed_entries(repository: Repository, now: datetime) -> list[FeedEntry]:
    """Every public update up to `now`, newest first (ties broken by tag, so the order is stable)."""
    entries = []
    for incident in published_incidents(repository):
        components = tuple(c.id for c in incident.components)
        for update in incident.updates:
            if update.at <= now:
                entries.append(FeedEntry(_tag("incident", incident.id, update.at), update.at, "incident", incident,
                                         update.status.value, update.text, components))
    for item in published_maintenance(repository):
        if item.announced_at > now:
            continue
        components = tuple(item.components)
        entries.append(FeedEntry(_tag("maintenance", item.id, item.announced_at), item.announced_at, "maintenance",
                                 item, "scheduled", item.description, components))
        for update in item.updates:
            if update.at <= now:
                entries.append(FeedEntry(_tag("maintenance", item.id, update.at), update.at, "maintenance", item,
                                         update.status.value, update.text, components))
    entries.sort(key=lambda e: (e.at, e.tag), reverse=True)
    return entries


def _tag(kind: str, item_id: str, at: datetime) -> str:
    return f"{kind}/{item_id}/{at.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


class _Writer:
    def __init__(self, repository: Repository, lang: str):
        self.repository = repository
        self.lang = lang
        self.config = repository.config
        self.host = urlsplit(self.config.page.url).hostname or "status.invalid"
        self._html: dict[str, str] = {}  # an entry sits in the site feed and its components' feeds

    def text(self, texts: Texts | None) -> str:
        if texts is None:
            return ""
        return texts.get(self.lang) or texts.get(self.config.default_language) or ""

    def t(self, key: str, **values) -> str:
        text = STRINGS[key][self.lang]
        return text.format(**values) if values else text

    def component_name(self, component_id: str) -> str:
        return component_names(self.config, self.lang)[component_id]

    def entry_id(self, entry: FeedEntry) -> str:
        # RFC 4151 tag URI; the year is fixed so the id never depends on the entry's date format
        return f"tag:{self.host},2025:{entry.tag}"

    def entry_link(self, entry: FeedEntry) -> str:
        folder = "incidents" if entry.kind == "incident" else "maintenance"
        return site_url(self.repository, self.lang, f"{folder}/{entry.item.id}/")

    def entry_title(self, entry: FeedEntry) -> str:
        return f"{self.t(entry.kind + '_' + entry.status)}: {self.text(entry.item.title)}"

    def entry_html(self, entry: FeedEntry) -> str:
        if entry.tag not in self._html:
            self._html[entry.tag] = self._entry_html(entry)
        return self._html[entry.tag]

    def _entry_html(self, entry: FeedEntry) -> str:
        when = format_local_and_utc(entry.at, self.config.region(entry.item.region).tz, self.lang)
        parts = [f"<p><strong>{_escape(when)}</strong></p>", str(render_text(self.text(entry.text)))]
        if entry.kind == "maintenance":
            tz = self.config.region(entry.item.region).tz
            parts.append(f"<p>{_escape(self.t('window'))}: "
                         f"{_escape(format_local_and_utc(entry.item.scheduled_for, tz, self.lang))} – "
                         f"{_escape(format_local_and_utc(entry.item.scheduled_until, tz, self.lang))}</p>")
        names = ", ".join(self.component_name(c) for c in entry.components if self.config.component(c))
        parts.append(f"<p>{_escape(self.t('affected_components'))}: {_escape(names)}</p>")
        return "".join(parts)

    def feed_title(self, component_id: str | None) -> str:
        name = self.text(self.config.page.name)
        return f"{name} — {self.component_name(component_id)}" if component_id else name

    def atom(self, entries: list[FeedEntry], self_path: str, component_id: str | None, fallback: datetime) -> bytes:
        ET.register_namespace("", ATOM_NS)
        feed = ET.Element(f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": self.lang})
        _sub(feed, "id", site_url(self.repository, self.lang, self_path))
        _sub(feed, "title", self.feed_title(component_id))
        _sub(feed, "subtitle", self.text(self.config.page.description))
        _sub(feed, "updated", _utc(entries[0].at if entries else fallback))
        author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
        _sub(author, "name", self.text(self.config.page.name))
        _sub(author, "uri", site_url(self.repository, self.lang))
        ET.SubElement(feed, f"{{{ATOM_NS}}}link", {"rel": "self", "type": "application/atom+xml",
                                                    "href": site_url(self.repository, self.lang, self_path)})
        home = f"components/{component_id}/" if component_id else ""
        ET.SubElement(feed, f"{{{ATOM_NS}}}link", {"rel": "alternate", "type": "text/html",
                                                    "href": site_url(self.repository, self.lang, home)})
        for entry in entries:
            node = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
            _sub(node, "id", self.entry_id(entry))
            _sub(node, "title", self.entry_title(entry))
            _sub(node, "updated", _utc(entry.at))
            _sub(node, "published", _utc(entry.at))
            ET.SubElement(node, f"{{{ATOM_NS}}}link", {"rel": "alternate", "type": "text/html",
                                                        "href": self.entry_link(entry)})
            for component in entry.components:
                ET.SubElement(node, f"{{{ATOM_NS}}}category", {"term": component})
            content = _sub(node, "content", self.entry_html(entry))
            content.set("type", "html")
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)

    def rss(self, entries: list[FeedEntry], self_path: str, component_id: str | None, fallback: datetime) -> bytes:
        rss = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS})
        channel = ET.SubElement(rss, "channel")
        home = f"components/{component_id}/" if component_id else ""
        ET.SubElement(channel, "title").text = self.feed_title(component_id)
        ET.SubElement(channel, "link").text = site_url(self.repository, self.lang, home)
        ET.SubElement(channel, "description").text = self.text(self.config.page.description)
        ET.SubElement(channel, "language").text = self.lang
        ET.SubElement(channel, "lastBuildDate").text = _rfc822(entries[0].at if entries else fallback)
        ET.SubElement(channel, "atom:link", {"href": site_url(self.repository, self.lang, self_path),
                                             "rel": "self", "type": "application/rss+xml"})
        for entry in entries:
            item = ET.SubElement(channel, "item")
            ET.SubElement(item, "title").text = self.entry_title(entry)
            ET.SubElement(item, "link").text = self.entry_link(entry)
            ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = self.entry_id(entry)
            ET.SubElement(item, "pubDate").text = _rfc822(entry.at)
            for component in entry.components:
                ET.SubElement(item, "category").text = component
            ET.SubElement(item, "description").text = self.entry_html(entry)
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(rss, encoding="utf-8", xml_declaration=False)


def _sub(parent: ET.Element, name: str, text: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}")
    node.text = text
    return node


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def feed_paths(component_id: str | None = None) -> tuple[str, str]:
    """(Atom, RSS) paths of a feed, relative to the language's root.

    The site-wide feeds sit at the language's root because mkdocs-material fetches `sitemap.xml` beside the
    target of every `<link rel="alternate">` on the page (for its language switcher): announced from there,
    that is the language's own sitemap, not a 404."""
    if component_id:
        return f"feeds/{component_id}.atom.xml", f"feeds/{component_id}.rss.xml"
    return "atom.xml", "rss.xml"


def write_feeds(repository: Repository, now: datetime, site_dir: Path) -> list[Path]:
    entries = feed_entries(repository, now)
    fallback = min((e.at for e in entries), default=now)
    # The same entries in every language: each feed's newest, chosen once (newest first already).
    scopes: list[tuple[str | None, list[FeedEntry]]] = [(None, entries[:FEED_ENTRIES])]
    newest: dict[str, list[FeedEntry]] = {component.id: [] for component in repository.config.components}
    for entry in entries:
        for component_id in dict.fromkeys(entry.components):  # an entry once per feed
            chosen = newest.get(component_id)
            if chosen is not None and len(chosen) < FEED_ENTRIES:
                chosen.append(entry)
    scopes += [(component.id, newest[component.id]) for component in repository.config.components]
    written = []
    for lang in repository.config.languages:
        writer = _Writer(repository, lang)
        root = Path(site_dir) / language_prefix(repository, lang)
        for component_id, scoped in scopes:
            atom_path, rss_path = feed_paths(component_id)
            for path, render in ((atom_path, writer.atom), (rss_path, writer.rss)):
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(render(scoped, path, component_id, fallback))
                written.append(target)
    return written
