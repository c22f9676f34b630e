"""Customer notifications (mission section G): incident updates and maintenance notices, in each recipient's
language, over e-mail, signed webhooks, Slack and Teams (service/channels.py), never twice.

Recipients are the operator's `tenants.yaml` (routed by plan) and the self-service subscribers of the
database (filtered by region and component); an address in both gets one message. `incident_notices`,
`maintenance_notices` and `plan_deliveries` are pure. `send_deliveries` is the shell: each delivery is
claimed atomically in the database before it is sent (service/subscriptions/store.py), so two runs at once,
or a run after a killed one, deliver each message exactly once. Drafts are never sent, and a message the
no-raw-logs guardrail flags is refused.
"""
from __future__ import annotations

import hashlib
import smtplib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import httpx
from pydantic import Field, ValidationError

from ..comms.guardrail import scan_text
from ..content.load import LoadFailed, Problem, problems_from_validation
from ..content.model import (Config, HttpUrl, Id, Incident, IncidentStatus, Lang, Maintenance, MaintenanceStatus,
                             Model, duration_timedelta, is_valid_id)
from ..content.yamlsource import YamlSyntaxError, parse_yaml
from ..localtime import format_local_and_utc
from .channels import CHANNELS, Delivery, Message, Notice, SendContext, Smtp
from .webhook import SECRET_ENV, MissingSecret

__all__ = ["Delivery", "Message", "Notice", "Smtp", "load_tenants", "incident_notices", "maintenance_notices",
           "plan_deliveries", "send_deliveries", "TENANTS_FILE", "SECRET_ENV"]

TENANTS_FILE = "tenants.yaml"
Rule = Literal["every_update", "first_and_resolution"]


class Webhook(Model):
    url: HttpUrl
    secret_env: str = Field(default=SECRET_ENV, description="Environment variable holding the HMAC secret")


class Channels(Model):
    email: list[str] = []
    webhooks: list[Webhook] = []
    slack: list[HttpUrl] = Field(default=[], description="Slack incoming-webhook URLs (Block Kit messages)")
    teams: list[HttpUrl] = Field(default=[], description="Microsoft Teams Workflows webhook URLs (Adaptive Cards)")


class Tenant(Model):
    id: Id
    name: str
    language: Lang
    plan: str
    channels: Channels


class TenantsConfig(Model):
    sender: str = Field(default="status@example.com", description="From: address of notification e-mail")
    routing: dict[str, Rule] = {"enterprise": "every_update", "standard": "first_and_resolution"}
    tenants: list[Tenant]


def load_tenants(file: Path) -> TenantsConfig:
    rel = file.name
    try:
        doc = parse_yaml(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LoadFailed([Problem(rel, 1, "", f"cannot read the tenants file: {exc.strerror}")]) from None
    except YamlSyntaxError as exc:
        raise LoadFailed([Problem(rel, exc.line, "", exc.message)]) from None
    try:
        config = TenantsConfig.model_validate(doc.value)
    except ValidationError as exc:
        raise LoadFailed(problems_from_validation(exc, TenantsConfig, doc, rel)) from None
    problems = [Problem(rel, doc.line_of(("tenants", i, "plan")), f"tenants[{i}].plan",
                        f"expected a plan of routing ({', '.join(config.routing)}), got {t.plan!r}")
                for i, t in enumerate(config.tenants) if t.plan not in config.routing]
    if problems:
        raise LoadFailed(problems)
    return config


# ---------------------------------------------------------------- what to tell (pure)


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def update_kind(incident: Incident, index: int) -> str:
    if incident.updates[index].status is IncidentStatus.resolved:
        return "resolution"
    return "first" if index == 0 else "update"


def routed(rule: Rule, kind: str) -> bool:
    """`first_and_resolution` plans hear of an incident's start and end, and of every maintenance's
    announcement and completion; `every_update` plans (and subscribers) hear of everything."""
    return rule == "every_update" or kind in ("first", "resolution", "announcement", "completion")


def page_url(config: Config, section: str, item_id: str, lang: str) -> str:
    prefix = "" if lang == config.default_language else f"{lang}/"
    return f"{config.page.url.rstrip('/')}/{prefix}{section}/{item_id}/"


def incident_url(config: Config, incident_id: str, lang: str) -> str:
    return page_url(config, "incidents", incident_id, lang)


def _strings():
    from ..render.pages import STRINGS

    return STRINGS


def render_message(incident: Incident, index: int, lang: str, config: Config) -> Message:
    strings = _strings()
    update = incident.updates[index]
    tz = config.region(incident.region).tz
    status = strings[f"incident_{update.status.value}"][lang]
    url = incident_url(config, incident.id, lang)
    lines = [incident.title.get(lang) or "", "",
             f"{strings['status'][lang]}: {status} · {format_local_and_utc(update.at, tz, lang)}", "",
             update.text.get(lang) or ""]
    if update.next_update_at:
        lines += ["", f"{strings['next_update'][lang]}: {format_local_and_utc(update.next_update_at, tz, lang)}"]
    lines += ["", url]
    return Message(lang, f"{incident.title.get(lang)} — {status}", "\n".join(lines), url)


def incident_notices(incident: Incident, config: Config) -> list[Notice]:
    """One notice per timeline entry; none for a draft, which never leaves the repository."""
    if incident.draft:
        return []
    notices = []
    for index, update in enumerate(incident.updates):
        kind = update_kind(incident, index)
        tone = "resolved" if kind == "resolution" else incident.impact.value
        notices.append(Notice(
            key=_key("incident", incident.id, update.at.isoformat(), update.status.value),
            subject_id=incident.id, kind=kind, event=f"incident.{kind}", region=incident.region,
            components=tuple(c.id for c in incident.components), tenants=tuple(incident.tenants), tone=tone,
            facts={"severity": incident.severity.value, "impact": incident.impact.value,
                   "status": update.status.value, "at": update.at.isoformat(), "update": index},
            messages={lang: render_message(incident, index, lang, config) for lang in config.languages}))
    return notices


REMINDER = {"ko": "점검 사전 안내", "ja": "メンテナンスのお知らせ（リマインダー）", "en": "Reminder"}
WINDOW = {"ko": "점검 시간", "ja": "作業時間", "en": "Window"}


def maintenance_notices(item: Maintenance, config: Config, now: datetime) -> tuple[list[Notice], list[str]]:
    """The notices of a maintenance due as of `now`: its announcement once published (and only when it keeps
    the notice rule or is an emergency), a reminder `maintenance_reminder` before the window, its start and
    its completion. Warnings say why an announcement is held back."""
    from ..sla.calendar import region_calendar
    from ..sla.engine import Status, maintenance_notice

    if item.draft:
        return [], []
    strings = _strings()
    tz = config.region(item.region).tz

    def message(kind: str, lang: str, status: str, text: str) -> Message:
        url = page_url(config, "maintenance", item.id, lang)
        title = item.title.get(lang) or ""
        head = f"{REMINDER[lang]}: {title}" if kind == "reminder" else title
        window = (f"{WINDOW[lang]}: {format_local_and_utc(item.scheduled_for, tz, lang)} – "
                  f"{format_local_and_utc(item.scheduled_until, tz, lang)}")
        body = "\n".join([head, "", f"{strings['status'][lang]}: {status}", window, "", text, "", url])
        return Message(lang, f"{head} — {status}", body, url)

    due: list[tuple[str, str, str, dict]] = []  # kind, status, text per language source, facts
    warnings = []
    if now >= item.announced_at:
        notice = maintenance_notice(region_calendar(config, item.region), config.sla.maintenance_notice,
                                    item.announced_at, item.scheduled_for, now, emergency=item.emergency is not None)
        if notice.status is Status.breached and item.emergency is None:
            warnings.append(f"{item.id}: not announced: the notice period of {config.sla.maintenance_notice} is "
                            f"not kept and no emergency reason is given (statusgen check)")
        else:
            due.append(("announcement", "scheduled", "description", {"at": item.announced_at.isoformat()}))
            remind_at = item.scheduled_for - duration_timedelta(config.notifications.maintenance_reminder)
            if remind_at <= now < item.scheduled_for and item.announced_at < remind_at:
                due.append(("reminder", "scheduled", "description", {"at": remind_at.isoformat()}))
    started = next((u for u in item.updates if u.status is MaintenanceStatus.in_progress), None)
    completed = next((u for u in item.updates if u.status is MaintenanceStatus.completed), None)
    for kind, update in (("start", started), ("completion", completed)):
        if update is not None and now >= update.at:
            due.append((kind, update.status.value, kind, {"at": update.at.isoformat()}))

    notices = []
    for kind, status, source, facts in due:
        def text(lang: str) -> str:
            if source == "description":
                return item.description.get(lang) or ""
            return (started if kind == "start" else completed).text.get(lang) or ""

        notices.append(Notice(
            key=_key("maintenance", item.id, kind, facts["at"]), subject_id=item.id, kind=kind,
            event=f"maintenance.{kind}", region=item.region, components=tuple(item.components), tenants=(),
            tone="resolved" if kind == "completion" else "maintenance",
            facts={"status": status, **facts, "scheduled_for": item.scheduled_for.isoformat(),
                   "scheduled_until": item.scheduled_until.isoformat()},
            messages={lang: message(kind, lang, strings[f"maintenance_{status}"][lang], text(lang))
                      for lang in config.languages}))
    return notices, warnings


@dataclass(frozen=True)
class Recipient:
    """Anyone who may receive a notice: a tenants.yaml channel or a confirmed subscriber."""

    id: str  # tenant id or subscriber:<n>
    channel: str
    target: str
    lang: str
    rule: Rule = "every_update"
    tenant: str = ""  # set for tenants.yaml recipients
    regions: tuple[str, ...] = ()  # empty: every region
    components: tuple[str, ...] = ()  # empty: every component
    secret_env: str = ""
    secret: str = ""
    subscriber_id: int | None = None

    def wants(self, notice: Notice) -> bool:
        if self.tenant:
            return (not notice.tenants or self.tenant in notice.tenants) and routed(self.rule, notice.kind)
        return ((not self.regions or notice.region in self.regions)
                and (not self.components or bool(set(self.components) & set(notice.components))))


def tenant_recipients(tenants: TenantsConfig) -> list[Recipient]:
    recipients = []
    for tenant in tenants.tenants:
        rule = tenants.routing[tenant.plan]
        base = dict(id=tenant.id, lang=tenant.language, rule=rule, tenant=tenant.id)
        recipients += [Recipient(channel="email", target=a, **base) for a in tenant.channels.email]
        recipients += [Recipient(channel="webhook", target=w.url, secret_env=w.secret_env, **base)
                       for w in tenant.channels.webhooks]
        recipients += [Recipient(channel="slack", target=u, **base) for u in tenant.channels.slack]
        recipients += [Recipient(channel="teams", target=u, **base) for u in tenant.channels.teams]
    return recipients


def subscriber_recipients(subscribers) -> list[Recipient]:
    """Confirmed subscribers (rows of the database) as recipients."""
    return [Recipient(id=f"subscriber:{s.id}", channel=s.kind, target=s.target, lang=s.language,
                      regions=tuple(s.regions or ()), components=tuple(s.components or ()), secret=s.secret or "",
                      subscriber_id=s.id) for s in subscribers]


def _address(channel: str, target: str) -> tuple[str, str]:
    return channel, target.strip().lower() if channel == "email" else target.strip()


def plan_deliveries(notices: list[Notice], recipients: list[Recipient], config: Config, *,
                    suppressed: set[tuple[str, str]] = frozenset(), links=None,
                    sender: str = "") -> list[Delivery]:
    """Every delivery due: each notice to each recipient who wants it, once per address (the first recipient
    listed wins, so tenants.yaml routing, listed first, takes precedence over a subscription of the same
    address); unsubscribe links signed by `links` (subscriptions/tokens.py) when given."""
    deliveries = []
    for notice in notices:
        seen: set[tuple[str, str]] = set()
        for recipient in recipients:
            address = _address(recipient.channel, recipient.target)
            if address in seen or address in suppressed or not recipient.wants(notice):
                continue
            seen.add(address)
            lang = recipient.lang if recipient.lang in notice.messages else config.default_language
            unsubscribe = ""
            if links is not None:
                unsubscribe = links.unsubscribe_url(recipient.channel, recipient.target, recipient.subscriber_id)
            mailto = f"mailto:{sender}?subject=unsubscribe%20{recipient.id}" if sender and recipient.tenant else ""
            deliveries.append(Delivery(
                key=_key(notice.key, recipient.channel, address[1]), notice=notice, recipient=recipient.id,
                channel=recipient.channel, target=recipient.target, lang=lang, secret_env=recipient.secret_env,
                secret=recipient.secret, unsubscribe_url=unsubscribe, unsubscribe_mailto=mailto))
    return deliveries


def unknown_tenants(incident: Incident, tenants: TenantsConfig) -> list[str]:
    known = {t.id for t in tenants.tenants}
    return [f"{incident.id}: tenant {t!r} is not in {TENANTS_FILE}; nobody to notify" for t in incident.tenants
            if t not in known]


# ---------------------------------------------------------------- sending (the shell)


@dataclass
class Report:
    sent: list[tuple[Delivery, int]] = field(default_factory=list)  # with the number of attempts
    skipped: list[Delivery] = field(default_factory=list)  # sent by an earlier run
    busy: list[Delivery] = field(default_factory=list)  # being sent by another run at this moment
    failed: list[tuple[Delivery, str]] = field(default_factory=list)


def send_deliveries(ledger, deliveries: list[Delivery], context: SendContext, *, workers: int = 8) -> Report:
    """Send every delivery not sent yet; `ledger` (a SubscriberStore) claims each one atomically first.

    One address's deliveries go in order (an update never overtakes the first notice); different
    addresses go in parallel over `workers` threads."""
    report = Report()
    # One query instead of a claim per delivery for what earlier runs sent: a rerun costs almost nothing.
    # A delivery sent since this query is still refused by its claim.
    done = ledger.sent_keys()
    report.skipped.extend(d for d in deliveries if d.key in done)
    deliveries = [d for d in deliveries if d.key not in done]
    own_client = context.client is None
    if own_client:
        context.client = httpx.Client(timeout=10.0, limits=httpx.Limits(max_connections=workers * 2))
    by_address: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_address[_address(delivery.channel, delivery.target)].append(delivery)

    def send_in_order(queue: list[Delivery]) -> None:
        for delivery in queue:
            _send_one(ledger, delivery, context, report)

    try:
        if workers <= 1 or len(by_address) <= 1:
            for queue in by_address.values():
                send_in_order(queue)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(send_in_order, by_address.values()))
    finally:
        if own_client:
            context.client.close()
            context.client = None
    return report


def _send_one(ledger, delivery: Delivery, context: SendContext, report: Report) -> None:
    findings = scan_text(delivery.message.text)
    if findings:
        kinds = ", ".join(sorted({f.kind for f in findings}))
        report.failed.append((delivery, f"refused by the no-raw-logs guardrail ({kinds})"))
        return
    notice = f"{delivery.notice.event} {delivery.notice.subject_id}"
    claim = ledger.claim(delivery.key, notice, delivery.channel, delivery.target)
    if not claim.claimed:
        (report.skipped if claim.state == "sent" else report.busy).append(delivery)
        return
    try:
        outcome = CHANNELS[delivery.channel].send(delivery, context)
        attempts, error = outcome.attempts, outcome.error
    except (OSError, smtplib.SMTPException, MissingSecret) as exc:
        attempts, error = 1, f"{type(exc).__name__}: {exc}" if not isinstance(exc, MissingSecret) else str(exc)
    if error:
        ledger.release(delivery.key)
        report.failed.append((delivery, error))
        return
    ledger.mark_sent(delivery.key, attempts)
    report.sent.append((delivery, attempts))


# ---------------------------------------------------------------- one `statusgen notify` run

LEGACY_RECORD = ".statusgen/deliveries.jsonl"  # where versions before the database recorded sent messages


def adopt_legacy_record(root: Path, deliveries: list[Delivery], ledger) -> int:
    """Mark as sent the deliveries an older statusgen recorded in `.statusgen/deliveries.jsonl`, so an
    upgrade sends nothing again; returns how many were adopted. The file is left in place."""
    import json

    path = root / LEGACY_RECORD
    if not path.exists():
        return 0
    sent = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            sent.add((row["incident"], int(row["update"]), row["channel"], row["target"]))
        except (ValueError, KeyError, TypeError):
            continue  # a torn line from a crash: that delivery was never recorded as sent
    adopted = 0
    for d in deliveries:
        index = d.notice.facts.get("update")
        if d.notice.event.startswith("incident.") and (d.notice.subject_id, index, d.channel, d.target) in sent:
            adopted += ledger.adopt_sent(d.key, f"{d.notice.event} {d.notice.subject_id}", d.channel, d.target)
    return adopted



class NotifyRefused(Exception):
    """The run cannot start; nothing was sent."""


@dataclass
class Prepared:
    item: Incident | Maintenance
    deliveries: list[Delivery]
    warnings: list[str]
    ledger: object  # SubscriberStore
    sender: str


def find_item(root: Path, item_id: str) -> Incident | Maintenance | None:
    """The incident or maintenance with this id, as its file is now (None when there is none)."""
    from ..content.load import MAINTENANCE_DIR, content_files
    from .api.store import IncidentStore, NotFound

    try:
        return IncidentStore(root).get(item_id)
    except NotFound:
        pass
    if not is_valid_id(item_id):
        return None
    for file in content_files(Path(root), MAINTENANCE_DIR, (".yaml", ".yml")):
        try:
            item = Maintenance.model_validate(parse_yaml(file.read_text(encoding="utf-8")).value)
        except (OSError, UnicodeDecodeError, YamlSyntaxError, ValueError):
            continue  # reported by `statusgen check`
        if item.id == item_id:
            return item
    return None


def prepare(root: Path, item_id: str, now: datetime, tenants_file: Path | None, config: Config,
            dry_run: bool = False) -> Prepared:
    """Everything `notify` will send for `item_id`, claimed nowhere yet; raises NotifyRefused or LoadFailed."""
    from .subscriptions.store import SubscriberStore
    from .subscriptions.tokens import Links, MissingSubscriptionSecret, secret_from_env as subscription_secret

    item = find_item(root, item_id)
    if item is None:
        raise NotifyRefused(f"no incident or maintenance with id {item_id!r} in {root}")
    if item.draft:
        raise NotifyRefused(f"{item_id} is a draft: drafts are never sent to customers "
                            f"(fill every text, delete `draft: true`, commit, then notify)")
    default_tenants = Path(root) / TENANTS_FILE
    operator_routing = bool(tenants_file) or default_tenants.exists()
    tenants = (load_tenants(tenants_file or default_tenants) if operator_routing
               else TenantsConfig(sender=config.notifications.sender, tenants=[]))
    ledger = SubscriberStore.open(root, config.notifications.database)
    subscribers = ledger.active()
    links = None
    if config.notifications.api_url:
        try:
            links = Links(subscription_secret(), config.notifications.api_url)
        except MissingSubscriptionSecret as exc:
            if subscribers:
                raise NotifyRefused(f"{exc}: subscribers' messages must carry a working unsubscribe link") from None
    elif subscribers:
        raise NotifyRefused("the database has subscribers but status.yaml sets no notifications.api_url for "
                            "their unsubscribe links")
    if isinstance(item, Incident):
        notices = incident_notices(item, config)
        warnings = unknown_tenants(item, tenants) if operator_routing else []
    else:
        notices, warnings = maintenance_notices(item, config, now)
    recipients = tenant_recipients(tenants) + subscriber_recipients(subscribers)
    deliveries = plan_deliveries(notices, recipients, config, suppressed=ledger.suppressed(), links=links,
                                 sender=tenants.sender)
    if not dry_run:
        adopt_legacy_record(Path(root), deliveries, ledger)
    webhook_envs = {d.secret_env or SECRET_ENV for d in deliveries if d.channel == "webhook" and not d.secret}
    for env in sorted(webhook_envs) if not dry_run else ():  # a dry run shows the messages, signs nothing
        try:
            from .webhook import secret_from_env

            secret_from_env(env)
        except MissingSecret as exc:
            raise NotifyRefused(str(exc)) from None
    return Prepared(item, deliveries, warnings, ledger, tenants.sender)
