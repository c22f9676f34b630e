"""Render the site's Markdown pages, one file per page and language, for mkdocs-static-i18n (suffix layout).

Pages are Markdown files holding HTML blocks: the layout is ours, mkdocs-material provides the frame, the
language switcher and search. Texts written by engineers are rendered from Markdown and sanitized here, so
nothing in a content file can inject markup into the public site.
"""
from __future__ import annotations

import html
import posixpath
import re
from urllib.parse import urlsplit
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import jinja2
import markdown
import yaml
from markupsafe import Markup

from ..content.cache import Cache, CacheMap, code_version, digest
from ..localtime import format_day, format_local_and_utc, format_local_time_and_utc, format_month
from ..content.model import ComponentStatus, Incident, Maintenance, Rca, Repository, Texts
from .sanitize import page_title, sanitize_text_html
from .status import (
    as_of,
    component_states,
    is_active,
    is_upcoming,
    maintenance_state,
    page_banner,
    published_incidents,
    published_maintenance,
)
from .uptime import ComponentUptime, uptime_history

RECENT_COUNT = 5


def _load_strings() -> dict[str, dict[str, str]]:
    text = resources.files(__package__).joinpath("strings.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


STRINGS = _load_strings()
_MARKDOWN = markdown.Markdown(extensions=[])


# Characters that can start Markdown or HTML syntax. Most status texts have none of them and are rendered
# as an escaped paragraph directly: the Markdown parser costs more than the rest of a page.
_MARKUP_CHARS = re.compile(r"[*_`\[\]<>!#&\\|~]|^\s*([-+]|\d+[.)])\s|\n\s*\n|https?://", re.M)


# A URL typed into prose (not already a Markdown link or autolink). Customers should read a named link, not
# a 120-character dashboard address: it becomes a link labelled with the evidence title it matches, else
# with its host name. Closing punctuation (ASCII or CJK) is not part of the URL.
_BARE_URL = re.compile(r"(?<!\]\()(?<![<\"'=])\bhttps?://[^\s<>()\[\]（）「」、。]+")


def _link_bare_urls(text: str, labels: dict[str, str] | None) -> str:
    def link(match: re.Match) -> str:
        url = match.group(0).rstrip(".,;:!?")
        trail = match.group(0)[len(url):]
        label = (labels or {}).get(url) or urlsplit(url).hostname or url
        label = re.sub(r"([\\\[\]*_`])", r"\\\1", label)
        return f"[{label}]({url}){trail}"

    return _BARE_URL.sub(link, text)


def render_text(text: str | None, labels: dict[str, str] | None = None) -> Markup:
    """An engineer's Markdown text -> sanitized HTML on one line (it sits inside an HTML block).

    `labels` names known URLs (an incident's evidence: url -> title) for the links made of bare URLs."""
    if not text:
        return Markup("")
    if not _MARKUP_CHARS.search(text):
        return Markup("<p>") + Markup.escape(" ".join(text.split())) + Markup("</p>")
    _MARKDOWN.reset()
    html = _MARKDOWN.convert(_link_bare_urls(text, labels))
    clean = sanitize_text_html(html)
    return Markup(" ".join(clean.split("\n")))


# How the macros and engineers announce the next update inside an update's text, per language. When the
# update also has `next_update_at`, the page shows that time once, in its own field (local time and UTC),
# and the sentence repeating it is left out of the prose.
NEXT_UPDATE_PHRASES = {
    "ko": ("다음 업데이트",),
    "ja": ("次回更新", "次回の更新"),
    "en": ("next update",),
}
_SENTENCE_END = {"ja": re.compile(r"(?<=[。！？])|\n+"), "default": re.compile(r"(?<=[.!?])\s+|\n+")}


def without_next_update(text: str, lang: str) -> str:
    """`text` without the sentences that announce the next update (see NEXT_UPDATE_PHRASES)."""
    phrases = NEXT_UPDATE_PHRASES.get(lang, ())
    if not text or not any(p in text.lower() for p in phrases):
        return text
    splitter = _SENTENCE_END.get(lang, _SENTENCE_END["default"])
    kept = [s.strip() for s in splitter.split(text) if s and s.strip()]
    kept = [s for s in kept if not any(p in s.lower() for p in phrases)]
    return ("" if lang == "ja" else " ").join(kept)


LANGUAGE_NAMES = {"ko": "한국어", "ja": "日本語", "en": "English"}
# Interface strings the page frame (theme/overrides/main.html, 404.html) uses.
THEME_STRINGS = (
    "skip_to_content", "nav_main", "nav_status", "nav_history", "nav_verify", "nav_search", "nav_language",
    "subscribe_title", "subscribe_feed", "subscribe_calendar", "subscribe_api", "subscribe_badge", "badge",
    "footer_support", "times_note", "not_found_title", "not_found_text", "not_found_other", "history",
)
DEFAULT_LOGO = "assets/logo.svg"


def language_prefix(repository: Repository, lang: str) -> str:
    """`` for the default language, `ja/` for the others (as `render.api.language_prefix`, which imports us)."""
    return "" if lang == repository.config.default_language else f"{lang}/"


def theme_context(repository: Repository) -> dict:
    """What the page frame needs from status.yaml and strings.yaml, per language (plain values: mkdocs
    copies its configuration). The templates escape every value; `support_html` is sanitized HTML."""
    config = repository.config
    languages = {}
    for lang in config.languages:
        def text(texts: Texts | None) -> str:
            if texts is None:
                return ""
            return texts.get(lang) or texts.get(config.default_language) or ""

        support = text(config.page.support)
        languages[lang] = {
            "prefix": language_prefix(repository, lang),
            "language_name": LANGUAGE_NAMES.get(lang, lang),
            "name": text(config.page.name),
            "description": text(config.page.description),
            "support_html": str(render_text(support)).removeprefix("<p>").removesuffix("</p>") if support else "",
            "t": {key: STRINGS[key][lang] for key in THEME_STRINGS},
        }
    site_url = config.page.url if config.page.url.endswith("/") else config.page.url + "/"
    return {
        "site_url": site_url,
        "brand_color": config.page.brand_color,
        "logo": config.page.logo or DEFAULT_LOGO,
        "default_language": config.default_language,
        "languages": languages,
    }


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

    @property
    def prefix(self) -> str:
        return language_prefix(self.repository, self.lang)

    def asset(self, path: str) -> str:
        """Relative URL of a file at the site's root (shared by all languages), e.g. the search index."""
        rel = posixpath.relpath(path or ".", (self.prefix + page_url(self.page)) or ".")
        return rel if path else rel + "/"

    def file(self, path: str) -> str:
        """Relative URL of a generated file (feed, badge, JSON) of this language, e.g. `feeds/atom.xml`."""
        return posixpath.relpath(path, page_url(self.page) or ".")

    def day(self, which) -> str:
        """A calendar day, localized: `2025년 10월 2일 (목)`."""
        return format_day(which, self.lang)

    def minutes_text(self, minutes: int) -> str:
        return self.duration(timedelta(minutes=minutes))

    @staticmethod
    def notable_days(uptime) -> list[tuple[int, object]]:
        """(grid column from 1, day) of the days the uptime bar shows as elements."""
        return [(n, d) for n, d in enumerate(uptime.days, start=1) if d.notable]

    @staticmethod
    def component_minutes(uptime, item_id: str) -> int:
        """How long an incident or maintenance affected one component within the 90 days, in minutes."""
        return sum(d.minutes_of(item_id) for d in uptime.days)

    @staticmethod
    def history_components(entries) -> list[str]:
        """Every component named by a month's entries, for the history page's component filter."""
        found: set[str] = set()
        for entry in entries:
            found.update(c.id if hasattr(c, "id") else c for c in entry.item.components)
        return sorted(found)

    def evidence_labels(self, incident: Incident) -> dict[str, str]:
        """url -> title of an incident's evidence, to name the URLs written into its texts."""
        return {link.url: self.text(link.title) for link in incident.evidence}

    def update_text(self, update, incident: Incident) -> Markup:
        """An update's text for the page: the next-update sentence left out when the page shows the time in its
        own field, bare URLs turned into named links."""
        text = self.text(update.text)
        if getattr(update, "next_update_at", None):
            text = without_next_update(text, self.lang)
        return render_text(text, self.evidence_labels(incident))

    def percent(self, value: float) -> str:
        return f"{value:.2f}"

    def duration(self, delta: timedelta) -> str:
        minutes = int(delta.total_seconds() // 60)
        if minutes < 60:
            return self.t("minutes", n=minutes)
        return self.t("hours_minutes", h=minutes // 60, m=minutes % 60)

    def component_name(self, component_id: str) -> str:
        return component_names(self.repository.config, self.lang).get(component_id, component_id)

    def rca_for(self, incident: Incident) -> Rca | None:
        if not incident.rca:
            return None
        rca = self.repository.rca(incident.rca, self.lang)
        return rca if rca and not rca.draft else None


def component_names(config, lang: str) -> dict[str, str]:
    """component id -> "region · service" in `lang` (every page names components: looked up once)."""
    known = _NAMES_SEEN.get((id(config), lang))
    if known is not None and known[0] is config:
        return known[1]
    regions = {r.id: r for r in config.regions}
    services = {s.id: s for s in config.services}

    def text(texts) -> str:
        return texts.get(lang) or texts.get(config.default_language) or ""
    names = {c.id: f"{text(regions[c.region].name)} · {text(services[c.service].name)}" for c in config.components}
    if len(_NAMES_SEEN) > 16:
        _NAMES_SEEN.clear()
    _NAMES_SEEN[(id(config), lang)] = (config, names)
    return names


_NAMES_SEEN: dict[tuple[int, str], tuple] = {}


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The page templates, compiled once per process: the templates ship with the package and never change
    while it runs, so Jinja need not re-check their files at every `{% import %}` (auto_reload off)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("generator.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["md"] = render_text
    env.filters["page_title"] = page_title
    return env


# What an incident's or maintenance's page derives from besides the model: the templates, texts and code
# that render it (the configuration is part of each key).
_HERE = Path(__file__).parent
RENDER_RULES = code_version(str(_HERE / "templates"), str(_HERE / "strings.yaml"), str(_HERE / "pages.py"),
                            str(_HERE / "status.py"), str(_HERE.parent / "localtime.py"))


class RenderedPage:
    """One generated page: its path (e.g. `incidents/2025-10-02-kr-ingest-latency.ko.md`) and Markdown text.

    `standalone`: finished HTML outside the navigation (incidents, maintenance, components): the engine
    may reuse its built form while its text and the site's frame are unchanged.
    `search`: the page's search entries ({"title", "text"}), from the model: the search plugin skips the
    page's HTML (its front matter says `search: exclude`). Kept small: title, summary, components, month.
    `key`: for a page whose text is a function of cached inputs, the hash of those inputs; its text is then
    made (or read from the cache) only when asked for, so a page the engine reuses is never read at all."""

    __slots__ = ("path", "standalone", "search", "key", "_text", "_make")

    def __init__(self, path: str, text: str | None = None, standalone: bool = False, search: tuple = (),
                 key: str | None = None, make: Callable[[], str] | None = None):
        if text is None and make is None:
            raise ValueError("a page needs its text or a way to make it")
        self.path, self.standalone, self.search, self.key = path, standalone, search, key
        self._text, self._make = text, make

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._make()
            self._make = None
        return self._text

    def __repr__(self) -> str:
        return f"RenderedPage({self.path!r})"


def render_site_pages(repository: Repository, now: datetime, cache: Cache | None = None) -> list[RenderedPage]:
    """Every generated page in every language, as the site looked at `now`. With a `cache`, an incident's or
    maintenance's page is reused while its data (as of `now`), its RCA, the configuration and the templates
    are unchanged; the pages that list them (home, history, components) are always rendered."""
    cache = cache or Cache.disabled()
    repository = as_of(repository, now)
    env = _environment()
    settings = repository.config.model_dump_json()
    incidents = published_incidents(repository)
    maintenance = published_maintenance(repository)
    rcas = [r for r in repository.rcas if not r.draft]
    pages: list[RenderedPage] = []
    home = env.get_template("index.md.j2")
    history = env.get_template("history.md.j2")
    history_month = env.get_template("history_month.j2")
    incident_page = env.get_template("incident.md.j2")
    maintenance_page = env.get_template("maintenance.md.j2")
    rca_page = env.get_template("rca.md.j2")
    component_page = env.get_template("component.md.j2")
    search_page = env.get_template("search.md.j2")
    uptime = uptime_history(repository, now)
    states = component_states(repository, now)
    active = [i for i in incidents if is_active(i, now)]
    banner = page_banner(states, active)
    upcoming = sorted(
        (m for m in maintenance if is_upcoming(m, now) or maintenance_state(m, now).value in ("in_progress", "verifying")),
        key=lambda m: m.scheduled_for,
    )
    # the latest resolved incidents, however old: a quiet month should not make the history look empty
    recent = [i for i in incidents if not is_active(i, now) and i.detected_at <= now][:RECENT_COUNT]
    months = _history_by_month(incidents, maintenance, now, repository)
    # each item's data as of `now`, serialized once for the keys of its pages in every language
    facts = {item.id: item.model_dump_json() for item in [*incidents, *maintenance]}
    fact_keys = {item_id: digest(text) for item_id, text in facts.items()}
    # The search entry of an incident's or maintenance's page is a function of the page's key: the entries of
    # the last build, kept in one cache entry, spare making 3 x thousands of them again.
    searches = CacheMap(cache, "search-entries", RENDER_RULES)
    uptime_keys = {component: _uptime_key(history, fact_keys) for component, history in uptime.items()}
    month_keys = {key: digest(region_id, *(f"{e.kind} {fact_keys[e.item.id]}" for e in entries))
                  for key, region_id, entries in months}
    for lang in repository.config.languages:
        def ctx(page: str) -> PageContext:
            return PageContext(repository, lang, now, page)

        # What every page of this language derives from besides its own data (hashed once, not per page).
        inputs = digest(RENDER_RULES, settings, lang)

        home_context = ctx("index.md")
        pages.append(RenderedPage(f"index.{lang}.md", home.render(
            c=home_context, states=states, banner=banner, active=active, upcoming=upcoming,
            recent=recent, uptime=uptime), search=(_entry(home_context.text(repository.config.page.name),
                                                          home_context.text(repository.config.page.description)),)))
        for state in states:
            page = f"components/{state.id}.md"
            context = ctx(page)
            key = digest(inputs, "component", repr(state), uptime_keys[state.id])
            pages.append(RenderedPage(f"components/{state.id}.{lang}.md", key=key, make=partial(
                _cached, cache, key, partial(component_page.render, c=context, state=state, uptime=uptime[state.id],
                                             under_maintenance=ComponentStatus.under_maintenance)),
                standalone=True, search=(_entry(context.component_name(state.id)),)))
        history_context = ctx("history.md")
        # Each month's section is kept while its entries are unchanged: one changed incident re-renders its
        # month, not the whole history.
        sections = {key: Markup(_cached(cache, digest(inputs, "history month", key, month_keys[key]),
                                        partial(history_month.render, c=history_context, key=key,
                                                region_id=region_id, entries=entries)))
                    for key, region_id, entries in months}
        pages.append(RenderedPage(f"history.{lang}.md", history.render(c=history_context, months=months,
                                                                       sections=sections),
                                  search=(_entry(history_context.t("history")),)))
        pages.append(RenderedPage(f"search.{lang}.md", search_page.render(
            c=ctx("search.md"), others=[language_prefix(repository, other)
                                        for other in repository.config.languages if other != lang])))
        for incident in incidents:
            page = f"incidents/{incident.id}.md"
            context = ctx(page)
            rca = context.rca_for(incident)
            key = digest(inputs, "incident", fact_keys[incident.id], rca.model_dump_json() if rca else "")
            pages.append(RenderedPage(f"incidents/{incident.id}.{lang}.md", key=key, make=partial(
                                      _cached, cache, key, partial(incident_page.render, c=context, incident=incident)),
                                      standalone=True,
                                      search=_search_entries(searches, key, partial(
                                          _search_entry, context, incident.title, incident.summary,
                                          [c.id for c in incident.components], incident.detected_at, incident.region))))
        for item in maintenance:
            page = f"maintenance/{item.id}.md"
            context = ctx(page)
            state = maintenance_state(item, now)
            key = digest(inputs, "maintenance", fact_keys[item.id], state.value)
            pages.append(RenderedPage(f"maintenance/{item.id}.{lang}.md", key=key, make=partial(
                _cached, cache, key, partial(maintenance_page.render, c=context, item=item, state=state,
                                             under_maintenance=ComponentStatus.under_maintenance)),
                standalone=True,
                search=_search_entries(searches, key, partial(_search_entry, context, item.title, item.description, item.components,
                                                 item.scheduled_for, item.region))))
        for rca in rcas:
            if rca.lang != lang:
                continue
            incident = next((i for i in incidents if i.id == rca.incident), None)
            pages.append(RenderedPage(f"rca/{rca.id}.{lang}.md",
                                      rca_page.render(c=ctx(f"rca/{rca.id}.md"), rca=rca, incident=incident)))
    searches.save()
    return pages


def _search_entries(searches: CacheMap, key: str, make: Callable[[], dict]) -> tuple:
    """The search entries of the page with `key`: from the last build, or made now."""
    entries = searches.get(key) or (make(),)
    searches.keep(key, entries)
    return entries


def _uptime_key(history: ComponentUptime, facts: dict[str, str]) -> str:
    """Hash of everything a component's page shows of its uptime: each day's colour, items and minutes,
    the availability, and the data of every item named."""
    parts = [repr((history.component_id, history.counted_minutes, history.downtime_minutes))]
    named: set[str] = set()
    for day in history.days:
        ids = [i.id for i in day.incidents] + [m.id for m in day.maintenance]
        named.update(ids)
        parts.append(f"{day.day} {day.status.value} {' '.join(ids)} {day.minutes!r}")
    parts += [facts.get(item_id, item_id) for item_id in sorted(named)]
    return digest(*parts)


def _cached(cache: Cache, key: str, render) -> str:
    stored = cache.get_bytes("pages", key)
    if stored is not None:
        return stored.decode("utf-8")
    text = render()
    cache.put_bytes("pages", key, text.encode("utf-8"))
    return text


def _search_entry(c: PageContext, title: Texts, summary: Texts | None, components, moment: datetime,
                  region: str) -> dict:
    """An incident's or maintenance's search entry: findable by its words, components and month. Escaped as
    the search plugin escapes the text it takes from pages: the browser shows entries as HTML."""
    names = component_names(c.repository.config, c.lang)
    words = [" ".join(c.text(summary).split()), " ".join(names.get(i, i) for i in components),
             c.month(moment, region)]
    return _entry(c.text(title), " ".join(w for w in words if w))


def _entry(title: str, text: str = "") -> dict:
    return {"title": html.escape(title, quote=False), "text": html.escape(text, quote=False)}


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
