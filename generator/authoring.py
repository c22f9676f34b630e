"""Writing communication during an outage: rendered macros, new incident drafts, appended updates and RCA
drafts in ko/ja/en, so nobody writes three languages from scratch.

Every writer edits files as text (never re-dumping a whole file, so comments and layout survive), then
loads and checks the repository again; a file that no longer validates is put back byte for byte.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Mapping

import yaml

from .comms.checks import guardrail_of
from .content.macrofiles import MACRO_DIR
from .comms.guardrail import mask_text
from .content.load import CONFIG_FILE, INCIDENT_DIR, RCA_DIR, LoadFailed, Loaded, Problem, load_config, load_content
from .localtime import format_local_and_utc
from .comms.macros import MacroError, placeholders, render_macro
from .content.model import LANGUAGES, Config, Incident, Severity, duration_timedelta
from .comms.rca import PERMANENT_ACTIONS, SECTIONS

INCIDENT_WORD = {"ko": "장애", "ja": "障害", "en": "Incident"}
FIRST_NOTICE = {Severity.S1: "s1_first_notice"}
DEFAULT_FIRST_NOTICE = "s2_first_notice"
IMPACT = {Severity.S1: "critical", Severity.S2: "major", Severity.S3: "minor", Severity.S4: "none"}
COMPONENT_STATUS = {Severity.S1: "major_outage", Severity.S2: "degraded_performance",
                    Severity.S3: "degraded_performance", Severity.S4: "operational"}
_SLUG = re.compile(r"[^a-z0-9]+")
_DATED = re.compile(r"^\d{4}-\d\d-\d\d-")


class AuthoringError(Exception):
    """The request cannot be carried out; `problems` are the validation problems, if that was the reason."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


# ---------------------------------------------------------------- variables and macros


def parse_variables(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`key=value` pairs; `key.ko=value` sets the value for one language only."""
    variables: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise AuthoringError(f"expected --var key=value (or key.ko=value), got {pair!r}")
        variables[key.strip()] = value
    return variables


def variables_for(variables: Mapping[str, str], lang: str) -> dict[str, str]:
    """The variables one language sees: plain keys, overridden by `key.<lang>` keys."""
    chosen = {k: v for k, v in variables.items() if "." not in k}
    chosen.update({k.split(".", 1)[0]: v for k, v in variables.items() if k.endswith(f".{lang}")})
    return chosen


def render_texts(root: Path, name: str, variables: Mapping[str, str], tz: tzinfo,
                 keep_missing: bool = False, languages: tuple[str, ...] = LANGUAGES) -> dict[str, str]:
    """The macro `name` in every language. With `keep_missing`, missing variables stay as `{name}` (for drafts,
    which `check` refuses to publish until they are filled); otherwise they are an error."""
    macro_dir = Path(root) / MACRO_DIR
    texts = {}
    for lang in languages:
        values = variables_for(variables, lang)
        if keep_missing:
            path = macro_dir / f"{name}.{lang}.txt"
            if path.is_file():
                wanted = placeholders(path.read_text(encoding="utf-8"))
                values = {**{key: "{" + key + "}" for key in wanted}, **values}
        missing = sorted(placeholders(_macro_text(macro_dir, name, lang)) - set(values))
        if missing:
            flags = " ".join(f"--var {key}=..." for key in missing)
            raise AuthoringError(f"{MACRO_DIR}/{name}.{lang}.txt needs {', '.join(missing)}: pass {flags} "
                                 f"(or key.{lang}=... for one language), or choose another --macro")
        try:
            texts[lang] = render_macro(macro_dir, name, lang, values, tz)
        except MacroError as error:
            raise AuthoringError(str(error)) from None
    return texts


def _macro_text(macro_dir: Path, name: str, lang: str) -> str:
    path = macro_dir / f"{name}.{lang}.txt"
    if not path.is_file():
        known = sorted({p.name.split(".")[0] for p in macro_dir.glob("*.txt")})
        raise AuthoringError(f"{MACRO_DIR}/{name}.{lang}.txt: no macro {name!r} in {lang}; "
                             f"known: {', '.join(known)}")
    return path.read_text(encoding="utf-8")


def render_one(root: Path, name: str, lang: str, variables: Mapping[str, str], region: str | None) -> str:
    """`statusgen macro`: one macro in one language; times in the region's zone (UTC without a region)."""
    tz: tzinfo = timezone.utc
    region = region or variables.get("region")
    if region and (Path(root) / CONFIG_FILE).is_file():
        config = load_config(Path(root))
        known = {r.id: r for r in config.regions}
        if region in known:
            tz = known[region].tz
    values = variables_for(variables, lang)
    if region:
        values.setdefault("region", region)
    try:
        return render_macro(Path(root) / MACRO_DIR, name, lang, values, tz)
    except MacroError as error:
        raise AuthoringError(str(error)) from None


def mask(root: Path, text: str) -> str:
    """`statusgen mask`: the text with every guardrail finding masked, using the repository's settings."""
    settings = {}
    if (Path(root) / CONFIG_FILE).is_file():
        try:
            guardrail = guardrail_of(load_config(Path(root)))
            settings = dict(internal_hosts=guardrail.internal_hosts, allowed_emails=guardrail.allowed_emails,
                            evidence_policy=guardrail.policy)
        except LoadFailed:
            pass  # masking must work even when the configuration is being fixed
    return mask_text(text, **settings)


# ---------------------------------------------------------------- YAML text


def yaml_scalar(text: str, indent: int) -> str:
    """A string as YAML: plain or quoted on one line, a `|-` block (indented by `indent`) for several lines."""
    if "\n" in text:
        pad = " " * indent
        return "|-\n" + "\n".join(pad + line if line else "" for line in text.splitlines())
    dumped = yaml.safe_dump(text, allow_unicode=True, width=10**9, default_flow_style=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _texts_block(texts: Mapping[str, str], indent: int) -> str:
    pad = " " * indent
    return "\n".join(f"{pad}{lang}: {yaml_scalar(texts[lang], indent + 2)}" for lang in LANGUAGES if lang in texts)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes") if moment.second == 0 else moment.isoformat(timespec="seconds")


def local_moment(moment: datetime, tz: tzinfo) -> datetime:
    """A time from the clock as it is written into a file: in the region's offset, to whole seconds (the
    file's other times are local, and microseconds mean nothing on a status page)."""
    return moment.astimezone(tz).replace(microsecond=0)


# Customer prose never carries a raw URL: the evidence stays a link in its own field, and a macro's
# `{metric_link}` points there instead.
EVIDENCE_POINTER = {"ko": "이 페이지의 증거 링크 참조", "ja": "このページのエビデンスリンクを参照",
                    "en": "see the evidence links on this page"}
# A status that is not the end promises the next update; with no --next the SLA cadence decides when.
STATUS_MACRO = {"investigating": "progress", "identified": "progress", "monitoring": "mitigated"}
RESOLVED_MACRO = "resolved"
RESOLVED_BEFORE_RCA_MACRO = "resolved_rca_pending"


# ---------------------------------------------------------------- new incident


@dataclass
class IncidentRequest:
    region: str
    severity: Severity
    components: list[str]
    detected_at: datetime | None  # None: now
    ticket: str
    now: datetime
    tenants: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    slug: str | None = None
    macro: str | None = None
    next_in: str | None = None  # e.g. "30m"; default: the severity's update cadence


def resolve_components(config: Config, region: str, names: list[str]) -> list[str]:
    """Component ids from `kr-ingest` or a service id (`ingest`) in the incident's region."""
    known = {c.id for c in config.components}
    ids = []
    for name in names:
        candidate = name if name in known else f"{region.lower()}-{name}"
        if candidate not in known:
            raise AuthoringError(f"unknown component {name!r}; expected one of: {', '.join(sorted(known))}")
        ids.append(candidate)
    return ids


def _service_names(config: Config, component_ids: list[str], lang: str) -> str:
    names = []
    for component_id in component_ids:
        component = config.component(component_id)
        service = next(s for s in config.services if s.id == component.service)
        names.append(service.name.get(lang) or service.id)
    return (", " if lang == "en" else "、" if lang == "ja" else ", ").join(names)


def new_incident(root: Path, request: IncidentRequest) -> Path:
    """Write `incidents/<year>/<date>-<region>-<slug>.yaml` as a draft pre-filled from the first-notice macro."""
    root = Path(root)
    config = load_config(root)
    regions = {r.id: r for r in config.regions}
    if request.region not in regions:
        raise AuthoringError(f"unknown region {request.region!r}; expected one of: {', '.join(regions)}")
    region = regions[request.region]
    components = resolve_components(config, region.id, request.components)
    now = local_moment(request.now, region.tz)
    detected_at = request.detected_at or now
    if detected_at > now:
        raise AuthoringError(f"--detected {detected_at.isoformat()} is after now ({now.isoformat()}); "
                             "leave --detected out to use the current time")
    # A promised time given as --var next_update=... is the one the text announces: the field must agree.
    next_update = _next_update(config, request.severity, now, request.next_in,
                               _promised_next_update(request.variables), "investigating")
    local = detected_at.astimezone(region.tz)
    slug = _SLUG.sub("-", (request.slug or "-".join(c.split("-", 1)[1] for c in components)).lower()).strip("-")
    incident_id = f"{local.date().isoformat()}-{region.id.lower()}-{slug}"
    path = root / INCIDENT_DIR / str(local.year) / f"{incident_id}.yaml"
    if path.exists():
        hint = "choose another --slug" if request.slug else "name the new incident with --slug"
        raise AuthoringError(f"{path.relative_to(root)} already exists (incident {incident_id}); {hint}, "
                             f"or add to it with `statusgen update {incident_id}`")

    base = {
        "region": region.id,
        "id": request.ticket,
        "start": _iso(detected_at),
        "next_update": _iso(next_update),
        **_evidence_pointer(bool(request.evidence)),
    }
    for lang in LANGUAGES:
        base.setdefault(f"component.{lang}", _service_names(config, components, lang))
    variables = {**base, **{k: v for k, v in request.variables.items() if k != "next_update"}}
    macro = request.macro or FIRST_NOTICE.get(request.severity, DEFAULT_FIRST_NOTICE)
    languages = tuple(config.languages)  # a repository publishes only its own languages
    texts = render_texts(root, macro, variables, region.tz, keep_missing=True, languages=languages)
    titles = {
        lang: request.titles.get(lang)
        or incident_title(region.id, lang, _service_names(config, components, lang),
                          variables_for(variables, lang).get("metric"))
        for lang in languages
    }
    lines = [
        "# yaml-language-server: $schema=../../schemas/incident.schema.json",
        "# Draft written by `statusgen new incident`. Review the texts in all three languages, fill every",
        "# {placeholder}, then delete `draft: true` to publish (until then check lists it and build skips it).",
        f"id: {incident_id}",
        "draft: true",
        f"region: {region.id}",
        f"severity: {request.severity.value}",
        f"impact: {IMPACT[request.severity]}",
        "title:",
        _texts_block(titles, 2),
        "components:",
        *[f"  - id: {c}\n    status: {COMPONENT_STATUS[request.severity]}" for c in components],
        f"detected_at: {_iso(detected_at)}",
    ]
    metric = {lang: variables_for(variables, lang).get("metric") for lang in languages}
    if all(metric.values()) and "value" in variables:
        lines += ["metrics:", "  - name:", _texts_block(metric, 6), f"    value: {yaml_scalar(variables['value'], 6)}"]
    elif all(metric.values()) and all(f"value.{lang}" in variables for lang in languages):
        lines += ["metrics:", "  - name:", _texts_block(metric, 6),
                  f"    value: {yaml_scalar(variables[f'value.{languages[0]}'], 6)}"]
    if request.evidence:
        lines.append("evidence:")
        for url in request.evidence:
            host = re.sub(r"^https?://([^/?#]+).*$", r"\1", url)
            title = {lang: text for lang, text in
                     (("ko", f"증거: {host}"), ("ja", f"エビデンス: {host}"), ("en", f"Evidence: {host}")) if lang in languages}
            lines += ["  - title:", _texts_block(title, 6), f"    url: {yaml_scalar(url, 6)}"]
    lines.append(f"tickets: [{yaml_scalar(request.ticket, 0)}]")
    if request.tenants:
        lines.append("tenants: [" + ", ".join(yaml_scalar(t, 0) for t in request.tenants) + "]")
    lines += [
        "updates:",
        _update_item(now, "investigating", texts, next_update, indent=2),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _validate_or_restore(root, path, None, now)
    return path


def incident_title(region_id: str, lang: str, services: str, metric: str | None) -> str:
    """`[KR] Incident: Ingest→incident p95 latency`: the service is named once, not again before a metric
    that already names it (`Ingest ingest→incident ...`, `수집 수집→...`)."""
    if not metric:
        return f"[{region_id}] {INCIDENT_WORD[lang]}: {services}"
    names = [name.strip().lower() for name in re.split(r"[,、]", services) if name.strip()]
    subject = metric if any(name in metric.lower() for name in names) else f"{services} {metric}"
    return f"[{region_id}] {INCIDENT_WORD[lang]}: {subject[:1].upper()}{subject[1:]}"


def _evidence_pointer(has_evidence: bool) -> dict[str, str]:
    if not has_evidence:
        return {}
    return {f"metric_link.{lang}": EVIDENCE_POINTER[lang] for lang in LANGUAGES}


def _next_update(config: Config, severity: Severity, now: datetime, next_in: str | None,
                 promised: datetime | None, status: str) -> datetime | None:
    """When the next update is promised: --next, else a --var next_update, else the SLA cadence (none once
    resolved). A promise already in the past cannot be made and is refused with what to pass instead."""
    if status == "resolved":
        return None
    if next_in:
        return now + duration_timedelta(next_in)
    if promised is not None:
        if promised <= now:
            raise AuthoringError(f"--var next_update={promised.isoformat()} is not after this update "
                                 f"({now.isoformat()}); pass a later time or --next 30m")
        return promised.astimezone(now.tzinfo)
    policy = config.sla.policies.get(severity)
    cadence = duration_timedelta(policy.update_cadence) if policy and policy.update_cadence else timedelta(hours=1)
    return now + cadence


def _update_item(at: datetime, status: str, texts: Mapping[str, str], next_update: datetime | None,
                 indent: int) -> str:
    pad = " " * indent
    lines = [f"{pad}- at: {_iso(at)}", f"{pad}  status: {status}", f"{pad}  text:", _texts_block(texts, indent + 4)]
    if next_update is not None:
        lines.append(f"{pad}  next_update_at: {_iso(next_update)}")
    return "\n".join(lines)


# ---------------------------------------------------------------- update


def _rca_link(config: Config, rca_id: str, lang: str) -> str:
    base = config.page.url.rstrip("/") + "/"
    prefix = "" if lang == config.default_language else f"{lang}/"
    return f"{base}{prefix}rca/{rca_id}/"


def _load_incident(root: Path, incident_id: str, doing: str):
    """The validated repository and the incident `incident_id` in it, or an error that says what to fix.

    Besides the full id, the id without its date (`kr-ingest-delay` for `2026-11-30-kr-ingest-delay`) is
    accepted when exactly one incident has it: an on-call engineer should not have to look the date up."""
    try:
        loaded = load_content(root)
    except LoadFailed as failed:
        raise AuthoringError(f"the repository has errors; fix them before {doing}", failed.problems) from None
    incidents = loaded.repository.incidents
    incident = next((i for i in incidents if i.id == incident_id), None)
    if incident is None:
        matches = [i for i in incidents if _DATED.match(i.id) and i.id[11:] == incident_id]
        if len(matches) == 1:
            return loaded, matches[0]
        if matches:
            raise AuthoringError(f"{incident_id!r} names several incidents: "
                                 f"{', '.join(i.id for i in matches)}; give the full id")
        known = ", ".join(i.id for i in incidents)
        raise AuthoringError(f"no incident {incident_id!r}; known: {known}")
    return loaded, incident


def macro_for_status(status: str, has_rca: bool) -> str:
    """The macro an update with `status` is written from unless --macro says otherwise."""
    if status == "resolved":
        return RESOLVED_MACRO if has_rca else RESOLVED_BEFORE_RCA_MACRO
    return STATUS_MACRO[status]


def append_update(root: Path, incident_id: str, status: str, macro: str | None, next_in: str | None,
                  variables: Mapping[str, str], now: datetime) -> Path:
    """Append an update (ko/ja/en from `macro`, by default the status's macro) at the end of the incident's
    `updates:` list."""
    root = Path(root)
    loaded, incident = _load_incident(root, incident_id, "adding an update")
    config = loaded.repository.config
    region = config.region(incident.region)
    now = local_moment(now, region.tz)
    macro = macro or macro_for_status(status, bool(incident.rca))
    next_update = _next_update(config, incident.severity, now, next_in, _promised_next_update(dict(variables)), status)
    variables = {k: v for k, v in variables.items() if k != "next_update"}
    base: dict[str, str] = {
        "region": region.id,
        "start": _iso(incident.began_at),
        "mitigated_at": _iso(now),
        "resolved_at": _iso(now),
        "received_at": _iso(now),
    }
    if incident.tickets:
        base["id"] = incident.tickets[0]
    base.update(_evidence_pointer(bool(incident.evidence)))
    if next_update is not None:
        base["next_update"] = _iso(next_update)
    components = [c.id for c in incident.components]
    for lang in LANGUAGES:
        base[f"component.{lang}"] = _service_names(config, components, lang)
        if incident.rca:
            base[f"rca_link.{lang}"] = _rca_link(config, incident.rca, lang)
        if incident.metrics:
            base[f"metric.{lang}"] = incident.metrics[0].name.get(lang) or ""
    texts = render_texts(root, macro, {**base, **dict(variables)}, region.tz, keep_missing=incident.draft,
                         languages=tuple(config.languages))

    path = root / loaded.sources[incident.id].path
    original = path.read_bytes()
    text = original.decode("utf-8")
    updated = insert_update(text, _update_item(now, status, texts, next_update, indent=0))
    if status == "resolved" and incident.resolved_at is None:
        updated = _insert_top_level_after(updated, "detected_at", f"resolved_at: {_iso(now)}")
    path.write_text(updated, encoding="utf-8")
    _validate_or_restore(root, path, original, now)
    return path


def insert_update(text: str, item: str) -> str:
    """`text` with the list item `item` (written at indent 0) appended to the top-level `updates:` list,
    every other byte unchanged."""
    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    updates = next((v for k, v in getattr(node, "value", []) if getattr(k, "value", None) == "updates"), None)
    if not isinstance(updates, yaml.SequenceNode) or not updates.value:
        raise AuthoringError("expected a non-empty block list `updates:` in the incident file")
    if updates.flow_style:
        raise AuthoringError("cannot append to a flow-style `updates: [...]` list; write it as a block list")
    lines = text.splitlines(keepends=True)
    first = updates.value[0].start_mark
    head = lines[first.line][: first.column].rstrip()
    dash = len(head) - 1 if head.endswith("-") else max(0, first.column - 2)
    after = _last_line(updates.value[-1]) + 1
    block = "".join(" " * dash + line + "\n" if line else "\n" for line in item.split("\n"))
    if after > 0 and not lines[after - 1].endswith("\n"):
        lines[after - 1] += "\n"
    return "".join(lines[:after]) + block + "".join(lines[after:])


def _last_line(node: yaml.Node) -> int:
    """0-based line of the last character of `node`."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    end = node.end_mark
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">") and end.column == 0:
        return end.line - 1
    return end.line


def _insert_top_level_after(text: str, key: str, line: str) -> str:
    lines = text.splitlines(keepends=True)
    for index, current in enumerate(lines):
        if current.startswith(f"{key}:"):
            return "".join(lines[: index + 1]) + line + "\n" + "".join(lines[index + 1:])
    return text + line + "\n"


def _validate_or_restore(root: Path, path: Path, original: bytes | None, now: datetime) -> None:
    """Load and check the repository; if `path` now has errors, restore it (or remove a new file)."""
    from .check import content_checks

    rel = path.relative_to(root).as_posix()
    try:
        loaded = load_content(root)
        problems = content_checks(loaded, now)
    except LoadFailed as failed:
        problems = failed.problems
    errors = [p for p in problems if p.level == "error" and p.path == rel]
    if errors:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)
        left = "nothing was written" if original is None else f"{rel} was left as it was"
        raise AuthoringError(f"the result would not validate; {left}", errors)


# ---------------------------------------------------------------- RCA drafts

RCA_LABELS = {
    "ko": {"period": "기간", "impact": "영향", "components": "영향받은 구성 요소", "customers": "영향받은 고객",
           "direct": "직접 원인", "factors": "기여 요인", "immediate": "즉시 조치", "due": "기한", "owner": "담당",
           "guardrail": "가드레일 이슈", "release": "릴리스 노트", "ongoing": "진행 중", "minutes": "분",
           "usual": "평소", "epkg": "증거 패키지(EPKG)는 10분간 유효한 서명 URL로 지원 티켓 {ticket}에서 제공합니다."},
    "ja": {"period": "期間", "impact": "影響", "components": "影響を受けたコンポーネント",
           "customers": "影響を受けたお客様", "direct": "直接原因", "factors": "寄与要因", "immediate": "即時対応",
           "due": "期限", "owner": "担当", "guardrail": "ガードレール課題", "release": "リリースノート",
           "ongoing": "継続中", "minutes": "分", "usual": "通常",
           "epkg": "エビデンスパッケージ（EPKG）は、有効期間 10 分の署名付き URL としてサポートチケット {ticket} でご提供します。"},
    "en": {"period": "Period", "impact": "Impact", "components": "Affected components",
           "customers": "Affected customers", "direct": "Direct cause", "factors": "Contributing factors",
           "immediate": "Immediate actions", "due": "due", "owner": "owner", "guardrail": "guardrail issue",
           "release": "release notes", "ongoing": "ongoing", "minutes": " minutes", "usual": "usual",
           "epkg": "The evidence package (EPKG) is provided on support ticket {ticket} as a signed URL valid "
                   "for 10 minutes."},
}
_STATUS_WORDS = {
    "ko": {"degraded_performance": "성능 저하", "partial_outage": "부분 장애", "major_outage": "전면 장애",
           "under_maintenance": "점검 중", "operational": "정상"},
    "ja": {"degraded_performance": "パフォーマンス低下", "partial_outage": "部分的な障害", "major_outage": "全面障害",
           "under_maintenance": "メンテナンス中", "operational": "正常"},
    "en": {"degraded_performance": "degraded performance", "partial_outage": "partial outage",
           "major_outage": "major outage", "under_maintenance": "under maintenance", "operational": "operational"},
}


def new_rca(root: Path, incident_id: str, now: datetime, force: bool = False) -> list[Path]:
    """Write `rca/<id>.<lang>.md` for ko/ja/en as drafts with the sections and the incident's facts."""
    root = Path(root)
    loaded, incident = _load_incident(root, incident_id, "writing an RCA")
    rca_id = incident.rca or incident.id
    now = local_moment(now, loaded.repository.config.region(incident.region).tz)
    languages = tuple(loaded.repository.config.languages)
    paths = [root / RCA_DIR / f"{rca_id}.{lang}.md" for lang in languages]
    existing = [p.relative_to(root).as_posix() for p in paths if p.exists()]
    if existing and not force:
        raise AuthoringError(f"{', '.join(existing)} already exist(s); pass --force to overwrite")
    originals = {p: p.read_bytes() if p.exists() else None for p in paths}
    for path, lang in zip(paths, languages):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rca_text(loaded, incident, rca_id, lang, now), encoding="utf-8")
    try:
        for path in paths:
            _validate_or_restore(root, path, originals[path], now)
    except AuthoringError:
        for path, original in originals.items():
            if original is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(original)
        raise
    return paths


def _paren(lang: str, *parts: str) -> str:
    if lang == "ja":
        return "（" + "、".join(parts) + "）"
    return "(" + ", ".join(parts) + ")"


def rca_text(loaded: Loaded, incident: Incident, rca_id: str, lang: str, now: datetime) -> str:
    config = loaded.repository.config
    tz = config.region(incident.region).tz
    words = RCA_LABELS[lang]
    titles = SECTIONS[lang]
    begin = format_local_and_utc(incident.began_at, tz, lang)
    if incident.resolved_at:
        minutes = int((incident.resolved_at - incident.began_at).total_seconds() // 60)
        period = f"{begin} ~ {format_local_and_utc(incident.resolved_at, tz, lang)} ({minutes}{words['minutes']})"
    else:
        period = f"{begin} ~ ({words['ongoing']})"
    impacts = [
        f"{m.name.get(lang) or m.name.en}: {m.value}" + (f" ({words['usual']} {m.baseline})" if m.baseline else "")
        for m in incident.metrics
    ] or ["{impact}"]
    components = ", ".join(
        f"{_service_names(config, [c.id], lang)} ({c.id}, {_STATUS_WORDS[lang][c.status.value]})"
        for c in incident.components
    )
    evidence = [f"- [{link.title.get(lang) or link.url}]({link.url})" for link in incident.evidence]
    ticket = incident.tickets[0] if incident.tickets else "{ticket}"
    support = config.page.support.get(lang) if config.page.support else None
    title = (incident.title.get(lang) or incident.title.en or incident.id)
    body = [
        f"## {titles['overview']}", "",
        f"- **{words['period']}**: {period}",
        f"- **{words['impact']}**: " + "; ".join(impacts),
        f"- **{words['components']}**: {components}",
        f"- **{words['customers']}**: {{affected_customers}}", "",
        f"## {titles['cause']}", "",
        f"- **{words['direct']}**: {{direct_cause}}",
        f"- **{words['factors']}**: {{contributing_factors}}", "",
        f"## {titles['mitigation']}", "",
        f"- **{words['immediate']}**: {{immediate_actions}}",
        f"- **{PERMANENT_ACTIONS[lang]}**: {{permanent_action}} "
        + _paren(lang, f"{words['due']} {{due_date}}", f"{words['owner']} {{owner}}"), "",
        f"## {titles['prevention']}", "",
        f"- {{prevention}} " + _paren(lang, f"{words['guardrail']} {{guardrail_issue}}"), "",
        f"## {titles['evidence']}", "",
        *evidence,
        "- " + words["epkg"].format(ticket=ticket), "",
        f"## {titles['contact']}", "",
        support or "{contact}", "",
    ]
    front = [
        "---",
        f"id: {rca_id}",
        f"incident: {incident.id}",
        f"title: {yaml_scalar('RCA: ' + title, 0)}",
        f"published_at: {_iso(now)}",
        "draft: true  # written by `statusgen rca new`: fill every {placeholder}, then delete this line",
        "---",
        "",
    ]
    return "\n".join(front + body)


def _promised_next_update(variables: dict[str, str]) -> datetime | None:
    value = variables.get("next_update")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise AuthoringError(f"--var next_update: expected an ISO 8601 time with offset, got {value!r}") from None
    if moment.tzinfo is None:
        raise AuthoringError(f"--var next_update: expected a time with a UTC offset (e.g. +09:00), got {value!r}")
    return moment
