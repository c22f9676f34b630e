"""Customer notifications (mission section G): each tenant gets the incident's updates in its language,
routed by plan, over its channels (e-mail, signed webhooks, Slack-compatible webhooks).

`plan_deliveries` is pure: incident + tenants -> the messages due. `send_deliveries` sends them and
records each success in `.statusgen/deliveries.jsonl` (outside the published site and the commits), so a
rerun sends nothing twice. A message the no-raw-logs guardrail flags is never sent.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Callable, Literal

from pydantic import Field, ValidationError

from ..comms.guardrail import scan_text
from ..content.load import LoadFailed, Problem, problems_from_validation
from ..localtime import format_local_and_utc
from ..content.model import Config, HttpUrl, Id, Incident, IncidentStatus, Lang, Model
from .webhook import post_signed
from ..content.yamlsource import YamlSyntaxError, parse_yaml

TENANTS_FILE = "tenants.yaml"
DELIVERIES_FILE = ".statusgen/deliveries.jsonl"
SECRET_ENV = "STATUSGEN_WEBHOOK_SECRET"
Rule = Literal["every_update", "first_and_resolution"]


class Webhook(Model):
    url: HttpUrl
    secret_env: str = Field(default=SECRET_ENV, description="Environment variable holding the HMAC secret")


class Channels(Model):
    email: list[str] = []
    webhooks: list[Webhook] = []
    slack: list[HttpUrl] = Field(default=[], description="Slack-compatible incoming-webhook URLs")


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


# ---------------------------------------------------------------- what is due (pure)


@dataclass(frozen=True)
class Message:
    lang: str
    subject: str
    text: str
    url: str


@dataclass(frozen=True)
class Delivery:
    key: str  # stable across runs: the same update to the same address is the same delivery
    incident: str
    update_index: int
    kind: str  # first | update | resolution
    tenant: str
    channel: Literal["email", "webhook", "slack"]
    target: str
    message: Message
    secret_env: str = ""


def update_kind(incident: Incident, index: int) -> str:
    if incident.updates[index].status is IncidentStatus.resolved:
        return "resolution"
    return "first" if index == 0 else "update"


def routed(rule: Rule, kind: str) -> bool:
    return rule == "every_update" or kind in ("first", "resolution")


def incident_url(config: Config, incident_id: str, lang: str) -> str:
    prefix = "" if lang == config.default_language else f"{lang}/"
    return f"{config.page.url.rstrip('/')}/{prefix}incidents/{incident_id}/"


def render_message(incident: Incident, index: int, lang: str, config: Config) -> Message:
    from ..render.pages import STRINGS

    update = incident.updates[index]
    tz = config.region(incident.region).tz
    status = STRINGS[f"incident_{update.status.value}"][lang]
    url = incident_url(config, incident.id, lang)
    lines = [
        incident.title.get(lang) or "",
        "",
        f"{STRINGS['status'][lang]}: {status} · {format_local_and_utc(update.at, tz, lang)}",
        "",
        update.text.get(lang) or "",
    ]
    if update.next_update_at:
        lines += ["", f"{STRINGS['next_update'][lang]}: {format_local_and_utc(update.next_update_at, tz, lang)}"]
    lines += ["", url]
    return Message(lang, f"{incident.title.get(lang)} — {status}", "\n".join(lines), url)


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def plan_deliveries(incident: Incident, tenants: TenantsConfig, config: Config) -> tuple[list[Delivery], list[str]]:
    """Every delivery the routing rules call for, and warnings (tenants the incident names but nobody knows)."""
    known = {t.id: t for t in tenants.tenants}
    wanted = incident.tenants or list(known)  # an incident that names no tenant concerns every tenant
    warnings = [f"{incident.id}: tenant {t!r} is not in {TENANTS_FILE}; nobody to notify" for t in wanted
                if t not in known]
    deliveries = []
    for tenant in (known[t] for t in wanted if t in known):
        rule = tenants.routing[tenant.plan]
        for index, update in enumerate(incident.updates):
            kind = update_kind(incident, index)
            if not routed(rule, kind):
                continue
            message = render_message(incident, index, tenant.language, config)
            targets = [("email", a, "") for a in tenant.channels.email]
            targets += [("webhook", w.url, w.secret_env) for w in tenant.channels.webhooks]
            targets += [("slack", s, "") for s in tenant.channels.slack]
            for channel, target, secret_env in targets:
                key = _key(incident.id, update.at.isoformat(), update.status.value, tenant.id, channel, target)
                deliveries.append(Delivery(key, incident.id, index, kind, tenant.id, channel, target, message,
                                           secret_env))
    return deliveries, warnings


# ---------------------------------------------------------------- sending (the shell)


@dataclass(frozen=True)
class Smtp:
    host: str = "localhost"
    port: int = 25
    sender: str = "status@example.com"
    user: str | None = None
    password: str | None = None


@dataclass
class Report:
    sent: list[tuple[Delivery, int]] = field(default_factory=list)  # with the number of attempts
    skipped: list[Delivery] = field(default_factory=list)  # sent by an earlier run
    failed: list[tuple[Delivery, str]] = field(default_factory=list)


class DeliveryLog:
    """The append-only record of sent notifications."""

    def __init__(self, root: Path):
        self.path = Path(root) / DELIVERIES_FILE

    def sent_keys(self) -> set[str]:
        if not self.path.exists():
            return set()
        keys = set()
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                keys.add(json.loads(line)["key"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a crash: that delivery is simply retried
        return keys

    def record(self, delivery: Delivery, attempts: int, now: datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"key": delivery.key, "incident": delivery.incident, "update": delivery.update_index,
                 "kind": delivery.kind, "tenant": delivery.tenant, "channel": delivery.channel,
                 "target": delivery.target, "lang": delivery.message.lang, "attempts": attempts,
                 "sent_at": now.isoformat()}
        with open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def webhook_payload(delivery: Delivery, incident: Incident) -> dict:
    update = incident.updates[delivery.update_index]
    return {"event": f"incident.{delivery.kind}", "incident": incident.id, "tenant": delivery.tenant,
            "lang": delivery.message.lang, "severity": incident.severity.value, "status": update.status.value,
            "at": update.at.isoformat(), "subject": delivery.message.subject, "text": delivery.message.text,
            "url": delivery.message.url}


def send_email(delivery: Delivery, smtp: Smtp) -> None:
    mail = EmailMessage()
    mail["From"] = smtp.sender
    mail["To"] = delivery.target
    mail["Subject"] = delivery.message.subject
    mail["Message-ID"] = make_msgid(idstring=delivery.key, domain=smtp.sender.rpartition("@")[2] or None)
    mail.set_content(delivery.message.text)
    mail["Content-Language"] = delivery.message.lang  # after set_content, which drops Content-* headers
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
        if smtp.user:
            client.starttls()
            client.login(smtp.user, smtp.password or "")
        client.send_message(mail)


def send_deliveries(root: Path, incident: Incident, deliveries: list[Delivery], smtp: Smtp, *,
                    backoff: float = 0.5, attempts: int = 4, sleep: Callable[[float], None] | None = None,
                    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> Report:
    log = DeliveryLog(root)
    done = log.sent_keys()
    report = Report()
    for delivery in deliveries:
        if delivery.key in done:
            report.skipped.append(delivery)
            continue
        findings = scan_text(delivery.message.text)
        if findings:
            kinds = ", ".join(sorted({f.kind for f in findings}))
            report.failed.append((delivery, f"refused by the no-raw-logs guardrail ({kinds})"))
            continue
        tries = 1
        try:
            if delivery.channel == "email":
                send_email(delivery, smtp)
                error = ""
            else:
                secret = os.environ.get(delivery.secret_env or SECRET_ENV, "").encode() or None
                if delivery.channel == "webhook" and secret is None:
                    raise RuntimeError(f"no HMAC secret: set ${delivery.secret_env or SECRET_ENV}")
                payload = (webhook_payload(delivery, incident) if delivery.channel == "webhook"
                           else {"text": f"*{delivery.message.subject}*\n{delivery.message.text}"})
                outcome = post_signed(delivery.target, payload, secret=secret, delivery_id=delivery.key,
                                      attempts=attempts, backoff=backoff,
                                      **({"sleep": sleep} if sleep else {}))
                tries, error = outcome.attempts, outcome.error
        except (OSError, smtplib.SMTPException, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        if error:
            report.failed.append((delivery, error))
            continue
        log.record(delivery, tries, now())
        done.add(delivery.key)
        report.sent.append((delivery, tries))
    return report
