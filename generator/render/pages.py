"""Render the site's Markdown pages, one file per page and language, for mkdocs-static-i18n (suffix layout).

Pages are Markdown files holding HTML blocks: the layout is ours, mkdocs-material provides the frame, the
language switcher and search. Texts written by engineers are rendered from Markdown and sanitized here, so
nothing in a content file can inject markup into the public site.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import markdown
import yaml
from markupsafe import Markup

from ..localtime import format_local_and_utc, format_local_time_and_utc, format_month
from ..content.model import ComponentStatus, Incident, Maintenance, Rca, Repository, Texts
from .sanitize import page_title, sanitize_text_html
from .status import (
    as_of,
    component_states,
    is_active,
    is_upcoming,
    maintenance_state,
    overall_indicator,
    published_incidents,
    published_maintenance,
)
from .uptime import uptime_history

RECENT_COUNT = 5


def _load_strings() -> dict[str, dict[str, str]]:
    text = resources.files(__package__).joinpath("strings.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


STRINGS = _load_strings()
_MARKDOWN = markdown.Markdown(extensions=[])


# Characters that can start Markdown or HTML syntax. Most status texts have none of them and are rendered
# as an escaped paragraph directly: the Markdown parser costs more than the rest of a page.
_MARKUP_CHARS = re.compile(r"[*_`\[\]<>!#&\\|~]|^\s*([-+]|\d+[.)])\s|\n\s*\n|https?://", re.M)


def render_text(text: str | None) -> Markup:
    """An engineer's Markdown text -> sanitized HTML on one line (it sits inside an HTML block)."""
    if not text:
        return Markup("")
    if not _MARKUP_CHARS.search(text):
        return Markup("<p>") + Markup.escape(" ".join(text.split())) + Markup("</p>")
    _MARKDOWN.reset()
    html = _MARKDOWN.convert(text)
    clean = sanitize_text_html(html)
    return Markup(" ".join(clean.split("\n")))


def page_url(page: str) -> str:
    """Site-relative directory URL of a page source path (`incidents/x.md` -> `incidents/x/`)."""
    stem = page.removesuffix(".md")
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def relative_url(from_page: str, to_page: str) -> str:
    """Relative link between two pages of the same language (all languages share one layout)."""
    base = page_url(from_page) or "."
    target = page_url(to_page) or "."
    rel = posixpath.relpath(target, base)
    return "./" if rel == "." else rel + "/"


@dataclass
class PageContext:
    """What a template needs to render one page in one language."""

    repository: Repository
    lang: str
    now: datetime
    page: str

    @cached_property
    def regions(self):
        return {r.id: r for r in self.repository.config.regions}

    def t(self, key: str, **values) -> str:
        text = STRINGS[key][self.lang]
        return text.format(**values) if values else text

    def text(self, texts: Texts | None) -> str:
        if texts is None:
            return ""
        return texts.get(self.lang) or texts.get(self.repository.config.default_language) or ""

    def tz(self, region_id: str) -> ZoneInfo:
        return self.regions[region_id].tz

    def when(self, moment: datetime | None, region_id: str) -> str:
        return format_local_and_utc(moment, self.tz(region_id), self.lang) if moment else ""

    def clock(self, moment: datetime, region_id: str) -> str:
        return format_local_time_and_utc(moment, self.tz(region_id))

    def month(self, moment: datetime, region_id: str) -> str:
        return format_month(moment, self.tz(region_id), self.lang)

    def link(self, to_page: str) -> str:
        return relative_url(self.page, to_page)

    def file(self, path: str) -> str:
        """Relative URL of a generated file (feed, badge, JSON) of this language, e.g. `feeds/atom.xml`."""
        return posixpath.relpath(path, page_url(self.page) or ".")

    def percent(self, value: float) -> str:
        return f"{value:.2f}"

    def duration(self, delta: timedelta) -> str:
        minutes = int(delta.total_seconds() // 60)
        if minutes < 60:
            return self.t("minutes", n=minutes)
        return self.t("hours_minutes", h=minutes // 60, m=minutes % 60)

    def component_name(self, component_id: str) -> str:
        component = self.repository.config.component(component_id)
        if component is None:
            return component_id
        service = next(s for s in self.repository.config.services if s.id == component.service)
        return f"{self.text(self.regions[component.region].name)} · {self.text(service.name)}"

    def rca_for(self, incident: Incident) -> Rca | None:
        if not incident.rca:
            return None
        rca = self.repository.rca(incident.rca, self.lang)
        return rca if rca and not rca.draft else None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("generator.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = render_text
    env.filters["page_title"] = page_title
    return env


@dataclass(frozen=True)
class RenderedPage:
    path: str  # e.g. incidents/2025-10-02-kr-ingest-latency.ko.md
    text: str


def render_site_pages(repository: Repository, now: datetime) -> list[RenderedPage]:
    """Every generated page in every language, as the site looked at `now`."""
    repository = as_of(repository, now)
    env = _environment()
    incidents = published_incidents(repository)
    maintenance = published_maintenance(repository)
    rcas = [r for r in repository.rcas if not r.draft]
    pages: list[RenderedPage] = []
    home = env.get_template("index.md.j2")
    history = env.get_template("history.md.j2")
    incident_page = env.get_template("incident.md.j2")
    maintenance_page = env.get_template("maintenance.md.j2")
    rca_page = env.get_template("rca.md.j2")
    component_page = env.get_template("component.md.j2")
    uptime = uptime_history(repository, now)
    states = component_states(repository, now)
    indicator = overall_indicator(repository, now)
    active = [i for i in incidents if is_active(i, now)]
    upcoming = sorted(
        (m for m in maintenance if is_upcoming(m, now) or maintenance_state(m, now).value in ("in_progress", "verifying")),
        key=lambda m: m.scheduled_for,
    )
    # the latest resolved incidents, however old: a quiet month should not make the history look empty
    recent = [i for i in incidents if not is_active(i, now) and i.detected_at <= now][:RECENT_COUNT]
    months = _history_by_month(incidents, maintenance, now, repository)
    for lang in repository.config.languages:
        def ctx(page: str) -> PageContext:
            return PageContext(repository, lang, now, page)

        pages.append(RenderedPage(f"index.{lang}.md", home.render(
            c=ctx("index.md"), states=states, indicator=indicator, active=active, upcoming=upcoming,
            recent=recent, uptime=uptime)))
        for state in states:
            page = f"components/{state.id}.md"
            pages.append(RenderedPage(f"components/{state.id}.{lang}.md", component_page.render(
                c=ctx(page), state=state, uptime=uptime[state.id],
                under_maintenance=ComponentStatus.under_maintenance)))
        pages.append(RenderedPage(f"history.{lang}.md", history.render(c=ctx("history.md"), months=months)))
        for incident in incidents:
            page = f"incidents/{incident.id}.md"
            pages.append(RenderedPage(f"incidents/{incident.id}.{lang}.md",
                                      incident_page.render(c=ctx(page), incident=incident)))
        for item in maintenance:
            page = f"maintenance/{item.id}.md"
            pages.append(RenderedPage(f"maintenance/{item.id}.{lang}.md", maintenance_page.render(
                c=ctx(page), item=item, state=maintenance_state(item, now))))
        for rca in rcas:
            if rca.lang != lang:
                continue
            incident = next((i for i in incidents if i.id == rca.incident), None)
            pages.append(RenderedPage(f"rca/{rca.id}.{lang}.md",
                                      rca_page.render(c=ctx(f"rca/{rca.id}.md"), rca=rca, incident=incident)))
    return pages


@dataclass(frozen=True)
class HistoryEntry:
    kind: str  # incident | maintenance
    item: Incident | Maintenance
    at: datetime


def _history_by_month(incidents, maintenance, now, repository) -> list[tuple[str, str, list[HistoryEntry]]]:
    """[(month key, region of the first entry, entries)] newest first; months in the default region's zone."""
    default_region = repository.config.regions[0]
    entries = [HistoryEntry("incident", i, i.detected_at) for i in incidents if i.detected_at <= now]
    entries += [HistoryEntry("maintenance", m, m.scheduled_for) for m in maintenance if m.announced_at <= now]
    entries.sort(key=lambda e: e.at, reverse=True)
    months: dict[str, list[HistoryEntry]] = {}
    for entry in entries:
        key = entry.at.astimezone(default_region.tz).strftime("%Y-%m")
        months.setdefault(key, []).append(entry)
    return [(key, default_region.id, items) for key, items in months.items()]


def write_pages(pages: list[RenderedPage], docs_dir: Path) -> None:
    for page in pages:
        target = docs_dir / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page.text, encoding="utf-8")
