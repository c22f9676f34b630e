"""The domain values: configuration, incidents, maintenance and RCAs, as immutable pydantic models.

These models are the single source of truth for the file formats: the loader validates files against them
and `statusgen schema` writes the published JSON Schemas from them.
"""
from __future__ import annotations

from functools import cached_property

import re
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

LANGUAGES = ("ko", "ja", "en")
Lang = Literal["ko", "ja", "en"]


class Severity(str, Enum):
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4 = "S4"


class Impact(str, Enum):
    none = "none"
    minor = "minor"
    major = "major"
    critical = "critical"


class ComponentStatus(str, Enum):
    operational = "operational"
    degraded_performance = "degraded_performance"
    partial_outage = "partial_outage"
    major_outage = "major_outage"
    under_maintenance = "under_maintenance"


class IncidentStatus(str, Enum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


class MaintenanceStatus(str, Enum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    verifying = "verifying"
    completed = "completed"


# How bad a component status is, for roll-ups: the worst one wins.
COMPONENT_STATUS_RANK = {
    ComponentStatus.operational: 0,
    ComponentStatus.under_maintenance: 1,
    ComponentStatus.degraded_performance: 2,
    ComponentStatus.partial_outage: 3,
    ComponentStatus.major_outage: 4,
}


class StrictTimeError(ValueError):
    pass


def _parse_time(value: object) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise StrictTimeError(
                f"expected an ISO 8601 time with offset (e.g. 2025-10-02T10:14:00+09:00), got {value!r}"
            ) from None
    else:
        raise StrictTimeError(f"expected an ISO 8601 time with offset, got {value!r}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise StrictTimeError(
            f"expected an ISO 8601 time with an explicit UTC offset (e.g. +09:00 or Z), got naive {value!r}"
        )
    return parsed


# A point in time that always carries its UTC offset; naive times are refused.
Timestamp = Annotated[
    datetime,
    BeforeValidator(_parse_time),
    PlainSerializer(lambda v: v.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": r"(Z|[+-]\d{2}:\d{2})$"}),
]

_DURATION = re.compile(r"^(\d+)(m|h|d)$")


def _parse_duration(value: object) -> str:
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError(f"expected a duration like 15m, 4h or 3d, got {value!r}")
    return value


# "15m", "4h", "3d": minutes, hours or days. On a business calendar days are business days.
Duration = Annotated[
    str,
    BeforeValidator(_parse_duration),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(m|h|d)$"}),
]


def duration_parts(text: str) -> tuple[int, str]:
    match = _DURATION.match(text)
    assert match, text
    return int(match.group(1)), match.group(2)


def duration_timedelta(text: str) -> timedelta:
    """Wall-clock length of a duration; days are 24 h (use the SLA calendars for business days)."""
    amount, unit = duration_parts(text)
    return {"m": timedelta(minutes=amount), "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA time zone such as Asia/Seoul, got {value!r}") from None
    return value


ID_CHARS = r"[a-z0-9][a-z0-9._-]*"
ID_MAX_LENGTH = 120
Id = Annotated[str, Field(pattern=rf"^{ID_CHARS}$", max_length=ID_MAX_LENGTH)]


def is_valid_id(text: str) -> bool:
    """Whether `text` could be an id (the `Id` rule), e.g. before a lookup builds a file name from it."""
    return len(text) <= ID_MAX_LENGTH and re.fullmatch(ID_CHARS, text) is not None

_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>\"'`\\]")


def _check_http_url(value: str) -> str:
    """Every address in config and content is a web address: `javascript:`, `data:`, `vbscript:`, `file:`
    and the like are refused here, once, for check, build, publish, verify and the API alike."""
    if _URL_FORBIDDEN.search(value):
        raise ValueError(f"expected an http(s) URL without spaces, quotes or angle brackets, got {value!r}")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError(f"expected an http(s) URL, got {value!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL such as https://status.example.com/, got {value!r}")
    return value


# An absolute http:// or https:// address with a host.
HttpUrl = Annotated[
    str,
    AfterValidator(_check_http_url),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s<>\"'`\\]+$"}),
]


# Unicode control characters (category Cc) other than tab and newline: XML 1.0 forbids most of them, so one
# in any text would make the Atom/RSS feeds invalid; none has a use in a status text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _no_control_characters(value: object) -> object:
    texts = value if isinstance(value, (list, tuple)) else [value]
    for text in texts:
        if isinstance(text, str) and (found := _CONTROL.search(text)):
            raise ValueError(f"expected text without control characters (tab and newline are allowed), "
                             f"got U+{ord(found.group()):04X} at character {found.start() + 1}")
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    # Every text of every file and request goes through here, whichever entry point loaded it.
    _texts_are_printable = field_validator("*", mode="after")(_no_control_characters)


class Texts(Model):
    """One text per language; a published text needs all three (checked by the loader)."""

    ko: str | None = None
    ja: str | None = None
    en: str | None = None

    def get(self, lang: str) -> str | None:
        return getattr(self, lang)

    def missing(self, langs: tuple[str, ...]) -> list[str]:
        return [lang for lang in langs if not (self.get(lang) or "").strip()]


# ---------------------------------------------------------------- configuration


class PageConfig(Model):
    name: Texts
    description: Texts
    url: HttpUrl = Field(description="Public address of the status site, e.g. https://status.example.com/")
    support: Texts | None = Field(default=None, description="How customers reach support (RCA contact).")
    logo: str | None = Field(
        default=None, pattern=r"^(https://\S+|[A-Za-z0-9_][A-Za-z0-9_./-]*\.(svg|png|webp|jpg|jpeg))$",
        description="Header logo and favicon: a file under site/docs (e.g. assets/logo.svg) or an https:// URL; "
                    "default: a built-in status mark in the brand colour")
    brand_color: str = Field(
        default="#1f3a5f", pattern=r"^#[0-9a-fA-F]{6}$",
        description="Colour of the header bar and of links, '#rrggbb'; white text on it and it on white must "
                    "reach the 4.5:1 contrast of WCAG AA (checked)")

    @field_validator("brand_color")
    @classmethod
    def _readable_on_white(cls, value: str) -> str:
        ratio = contrast_with_white(value)
        if ratio < 4.5:
            raise ValueError(f"expected a colour with at least 4.5:1 contrast against white, got {value!r} "
                             f"({ratio:.1f}:1); pick a darker shade")
        return value


def contrast_with_white(hex_colour: str) -> float:
    """WCAG 2 contrast ratio of an `#rrggbb` colour against white."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (luminance + 0.05)


class BusinessHours(Model):
    start: time = Field(description="Start of the business day in the region's time zone, e.g. 09:00")
    end: time = Field(description="End of the business day, e.g. 18:00")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]


def _supported_holiday_countries() -> dict[str, list[str]]:
    import holidays  # imported here: only loading a configuration needs the package's country table

    return holidays.list_supported_countries()


def _check_country(country: str) -> str:
    if country not in _supported_holiday_countries():
        raise ValueError(f"expected an ISO 3166 country code the `holidays` package knows (e.g. KR, JP, US, GB), "
                         f"got {country!r}")
    return country


class HolidaySource(Model):
    country: Annotated[str, AfterValidator(_check_country)] = Field(
        description="ISO 3166 country code for the `holidays` package, e.g. KR or JP")
    subdiv: str | None = Field(
        default=None, description="Subdivision whose holidays apply (`holidays` codes: GB ENG, AU NSW, US CA); "
                                  "a country's subdivisions differ, e.g. England's bank holidays")
    categories: list[str] = Field(default=["public"], description="`holidays` categories to observe")

    @field_validator("subdiv")
    @classmethod
    def _known_subdivision(cls, subdiv: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if subdiv is None or country is None:
            return subdiv
        known = _supported_holiday_countries()[country]
        if subdiv not in known:
            listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "") if known else "none"
            raise ValueError(f"expected a subdivision of {country} ({listed}), got {subdiv!r}")
        return subdiv


class Region(Model):
    id: Annotated[str, Field(pattern=r"^[A-Z]{2,8}$")]
    name: Texts
    timezone: Annotated[str, AfterValidator(_check_zone)]
    business_hours: BusinessHours
    holidays: HolidaySource
    closures: list[date] = Field(default=[], description="Extra company closure days (local dates)")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Service(Model):
    id: Id
    name: Texts


class SeverityPolicy(Model):
    name: Texts
    first_response: Duration
    resolution: Duration
    update_cadence: Duration | None = Field(description="Longest allowed gap between public updates; null: none")
    calendar: Literal["24x7", "business"]
    status_post: Duration | None = Field(
        default=None, description="Post on the status page once the incident has lasted this long"
    )
    rca_due: Duration | None = Field(default=None, description="RCA published within this time of resolution")
    attainment_target: float | None = Field(default=None, description="SLA attainment target in percent")


class OlaPolicy(Model):
    owner_assigned: dict[Severity, Duration] = {}
    secondary_verdict: dict[Severity, Duration] = {}


class SlaConfig(Model):
    policies: dict[Severity, SeverityPolicy]
    ola: OlaPolicy = OlaPolicy()
    maintenance_notice: Duration = Field(description="Planned maintenance announced at least this far ahead")
    update_interval_compliance_target: float = 95.0
    csat_target: float = 4.5


class SignedUrlPolicy(Model):
    """Which query parameters make a URL "signed" and how long such a link may live."""

    max_lifetime: Duration = Field(default="10m", description="Longest lifetime of a signed evidence URL")
    expires_params: list[str] = Field(
        default=["X-Amz-Expires", "X-Goog-Expires"],
        description="Parameters whose value is the lifetime in seconds (S3, GCS)",
    )
    window_params: list[tuple[str, str]] = Field(
        default=[("se", "st")],
        description="[expiry, signed-at] parameter pairs whose values are points in time (Azure SAS)",
    )
    signature_params: list[str] = Field(
        default=["X-Amz-Signature", "X-Goog-Signature", "sig", "Signature"],
        description="Parameters whose presence makes a URL signed",
    )


class GuardrailConfig(Model):
    """The no-raw-logs guardrail: what may never appear in a public text, and which links may."""

    internal_hosts: list[str] = Field(
        default=[], description="Internal host names or fnmatch patterns (e.g. *.corp.example.com) never published"
    )
    dashboard_hosts: list[str] = Field(
        default=[], description="Hosts (fnmatch patterns) whose links may be published as evidence as they are"
    )
    allowed_emails: list[str] = Field(default=[], description="E-mail addresses that may appear (a support mailbox)")
    signed_urls: SignedUrlPolicy = SignedUrlPolicy()


class Limits(Model):
    """Bounds on what one content file may cost to read, so a hostile or broken file fails fast and clearly.

    status.yaml itself is always read with the defaults (its own limits are not known before it is read).
    """

    max_file_bytes: int = Field(default=1_000_000, gt=0,
                                description="Largest content file (incident, maintenance, RCA) in bytes")
    max_text_chars: int = Field(default=20_000, gt=0,
                                description="Longest single text (a title, an update text...) in characters")
    max_depth: int = Field(default=16, gt=0, description="Deepest nesting of lists and mappings in a YAML file")


class NotificationsConfig(Model):
    """Self-service subscriptions and notification timing (statusgen serve, statusgen notify)."""

    api_url: str | None = Field(
        default=None, description="Public address of `statusgen serve`; when set, every page shows a subscribe form")
    database: str = Field(
        default=".statusgen/subscribers.sqlite",
        description="Subscriber database: a SQLite file (relative to the repository) or a PostgreSQL URL "
                    "without password (postgresql://host/db); $STATUSGEN_DATABASE_URL overrides it")
    sender: str = Field(default="status@example.com", description="From: address of mail to subscribers")
    maintenance_reminder: Duration = Field(default="24h", description="Remind subscribers this long before a window")


class Config(Model):
    page: PageConfig
    languages: list[Lang] = Field(description="Published languages; the first is the default served at /")
    regions: list[Region]
    services: list[Service]
    sla: SlaConfig
    guardrail: GuardrailConfig = GuardrailConfig()
    limits: Limits = Limits()
    notifications: NotificationsConfig = NotificationsConfig()
    schema_: str | None = Field(default=None, alias="$schema")

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def region(self, region_id: str) -> Region:
        return next(r for r in self.regions if r.id == region_id)

    @cached_property  # asked for on every page and feed entry; the configuration is immutable
    def components(self) -> list["Component"]:
        return [
            Component(
                id=f"{region.id.lower()}-{service.id}",
                region=region.id,
                service=service.id,
                position=position,
            )
            for position, (region, service) in enumerate(
                (r, s) for r in self.regions for s in self.services
            )
        ]

    def component(self, component_id: str) -> "Component | None":
        return next((c for c in self.components if c.id == component_id), None)


class Component(Model):
    """A region x service pair, e.g. `kr-ingest`."""

    id: str
    region: str
    service: str
    position: int


# ---------------------------------------------------------------- incidents


class ComponentImpact(Model):
    id: str = Field(description="Component id: <region>-<service>, e.g. kr-ingest")
    status: ComponentStatus


class ImpactMetric(Model):
    name: Texts = Field(description="What was measured, per language, e.g. ingest→incident p95 latency")
    value: str = Field(description="Worst observed value, e.g. 18 s or 4.2 %")
    baseline: str | None = Field(default=None, description="Normal value, e.g. 2 s")


class EvidenceLink(Model):
    title: Texts
    url: HttpUrl


class Owner(Model):
    name: str
    assigned_at: Timestamp


class IncidentUpdate(Model):
    at: Timestamp
    status: IncidentStatus
    text: Texts
    next_update_at: Timestamp | None = None


class Incident(Model):
    schema_: str | None = Field(default=None, alias="$schema")
    id: Id
    region: str
    severity: Severity
    impact: Impact
    title: Texts
    summary: Texts | None = None
    components: list[ComponentImpact] = Field(min_length=1)
    started_at: Timestamp | None = Field(default=None, description="When the impact began, if before detection")
    detected_at: Timestamp
    resolved_at: Timestamp | None = None
    owner: Owner | None = None
    secondary_verdict_at: Timestamp | None = Field(
        default=None, description="Secondary verdict by the analysis team (OLA, S2)"
    )
    metrics: list[ImpactMetric] = []
    evidence: list[EvidenceLink] = []
    tickets: list[str] = []
    tenants: list[str] = []
    rca: Id | None = Field(default=None, description="Id of the RCA (rca/<id>.<lang>.md)")
    draft: bool = False
    updates: list[IncidentUpdate] = Field(min_length=1)

    @property
    def status(self) -> IncidentStatus:
        return self.updates[-1].status

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def began_at(self) -> datetime:
        return self.started_at or self.detected_at


# ---------------------------------------------------------------- maintenance


class MaintenanceUpdate(Model):
    at: Timestamp
    status: MaintenanceStatus
    text: Texts


class Emergency(Model):
    reason: Texts


class Maintenance(Model):
    schema_: str | None = Field(default=None, alias="$schema")
    id: Id
    region: str
    title: Texts
    description: Texts
    components: list[str] = Field(min_length=1, description="Component ids under maintenance in the window")
    announced_at: Timestamp
    scheduled_for: Timestamp
    scheduled_until: Timestamp
    emergency: Emergency | None = Field(
        default=None, description="Set with a reason when the notice period could not be kept"
    )
    draft: bool = False
    updates: list[MaintenanceUpdate] = []


# ---------------------------------------------------------------- RCAs


class RcaFrontMatter(Model):
    id: Id
    incident: Id
    title: str
    published_at: Timestamp
    draft: bool = False


class Rca(Model):
    """One language of one RCA: front matter plus the Markdown body."""

    id: str
    lang: Lang
    incident: str
    title: str
    published_at: datetime
    draft: bool
    body: str
    path: str
    body_line: int = Field(default=1, description="Line of the file on which the body starts")


class Repository(Model):
    """Everything loaded and validated from one content repository."""

    config: Config
    incidents: tuple[Incident, ...]
    maintenance: tuple[Maintenance, ...]
    rcas: tuple[Rca, ...]

    def rca(self, rca_id: str, lang: str) -> Rca | None:
        return next((r for r in self.rcas if r.id == rca_id and r.lang == lang), None)
