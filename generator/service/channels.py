"""Notification channels: e-mail, signed webhooks, Slack and Microsoft Teams, one class each.

A channel turns one `Delivery` (a notice, in one language, to one address) into what its receiver
expects and sends it. Adding a channel is one subclass of `Channel` with a `kind` and a `send`; the
`@channel` decorator makes it known to `tenants.yaml`, the subscription API and the notifier
(docs/notifications.md).
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Callable, ClassVar

import httpx

from .webhook import Outcome, post_signed, secret_from_env

# The site's status colours (render/theme/docs/assets/status.css), by the notice's tone.
COLOURS = {"critical": "#c62828", "major": "#ef6c00", "minor": "#f9a825", "none": "#2e7d32",
           "resolved": "#2e7d32", "maintenance": "#1565c0"}
# Adaptive Cards name colours instead of taking hex values.
TEAMS_COLOURS = {"critical": "attention", "major": "warning", "minor": "warning", "none": "good",
                 "resolved": "good", "maintenance": "accent"}
OPEN_PAGE = {"ko": "상태 페이지에서 보기", "ja": "ステータスページで見る", "en": "View on the status page"}
UNSUBSCRIBE = {"ko": "구독 해지", "ja": "配信停止", "en": "Unsubscribe"}


@dataclass(frozen=True)
class Message:
    lang: str
    subject: str
    text: str
    url: str


@dataclass(frozen=True)
class Notice:
    """One thing to tell customers (an incident update, a maintenance announcement...), in every language."""

    key: str  # stable across runs: the same notice is the same notice
    subject_id: str  # the incident or maintenance id
    kind: str  # first | update | resolution | announcement | reminder | start | completion
    event: str  # incident.first ... maintenance.completion: the webhook event name
    region: str
    components: tuple[str, ...]
    tenants: tuple[str, ...]  # tenants the incident names; empty: every tenant
    tone: str  # a key of COLOURS
    facts: dict  # machine-readable fields for webhooks: severity, status, at...
    messages: dict[str, Message]


@dataclass(frozen=True)
class Delivery:
    key: str  # the notice to one address: the unit that is claimed, sent and recorded once
    notice: Notice
    recipient: str  # tenant id, or subscriber:<id>
    channel: str
    target: str
    lang: str
    secret_env: str = ""  # tenants.yaml webhooks: the variable holding the HMAC key
    secret: str = ""  # subscribed webhooks: their own HMAC key
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""

    @property
    def message(self) -> Message:
        return self.notice.messages[self.lang]


@dataclass(frozen=True)
class Smtp:
    host: str = "localhost"
    port: int = 25
    sender: str = "status@example.com"
    user: str | None = None
    password: str | None = None


@dataclass
class SendContext:
    """What channels share during one run: the SMTP server, one HTTP client, the retry policy, the clock."""

    smtp: Smtp = field(default_factory=Smtp)
    client: httpx.Client | None = None
    attempts: int = 4
    backoff: float = 0.5
    sleep: Callable[[float], None] | None = None
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def post(self, url: str, payload: dict, secret: bytes | None, delivery_id: str) -> Outcome:
        extra = {"sleep": self.sleep} if self.sleep else {}
        return post_signed(url, payload, secret=secret, delivery_id=delivery_id, attempts=self.attempts,
                           backoff=self.backoff, client=self.client, **extra)


CHANNELS: dict[str, "Channel"] = {}


def channel(cls: type["Channel"]) -> type["Channel"]:
    """Register a channel class under its `kind`."""
    CHANNELS[cls.kind] = cls()
    return cls


class Channel:
    kind: ClassVar[str]
    # Channels a visitor may subscribe with through the API (URLs must be https, or loopback http).
    subscribable: ClassVar[bool] = True

    def send(self, delivery: Delivery, context: SendContext) -> Outcome:
        raise NotImplementedError

    def confirmation(self, link: str, lang: str, page_name: str) -> dict:
        """The message that proves a channel subscriber controls the channel: it carries the confirm link."""
        raise NotImplementedError


@channel
class Email(Channel):
    kind = "email"

    def send(self, delivery: Delivery, context: SendContext) -> Outcome:
        message = delivery.message
        send_mail(context.smtp, delivery.target, message.subject, message.text, message.lang, context.now(),
                  message_id_seed=delivery.key, unsubscribe_url=delivery.unsubscribe_url,
                  unsubscribe_mailto=delivery.unsubscribe_mailto)
        return Outcome(True, 1, None)


def send_mail(smtp: Smtp, to: str, subject: str, text: str, lang: str, now: datetime, *, message_id_seed: str,
              unsubscribe_url: str = "", unsubscribe_mailto: str = "") -> None:
    """One text/plain UTF-8 mail with the headers RFC 5322 and RFC 8058 ask for."""
    mail = EmailMessage()
    mail["From"] = smtp.sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(now.astimezone(timezone.utc))
    mail["Message-ID"] = make_msgid(idstring=message_id_seed, domain=smtp.sender.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    links = [f"<{unsubscribe_url}>"] if unsubscribe_url else []
    links += [f"<{unsubscribe_mailto}>"] if unsubscribe_mailto else []
    if links:
        mail["List-Unsubscribe"] = ", ".join(links)
    if unsubscribe_url.startswith("https://") or unsubscribe_url.startswith("http://"):
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
        client.ehlo()
        if smtp.user:
            client.starttls()
            client.ehlo()
            client.login(smtp.user, smtp.password or "")
        # Korean and Japanese text is 8-bit: announce it (RFC 6152) where the server takes it, else
        # fall back to quoted-printable, which any server relays.
        eight_bit = client.has_extn("8bitmime")
        mail.set_content(text, cte="8bit" if eight_bit else "quoted-printable")
        mail["Content-Language"] = lang  # after set_content, which drops Content-* headers
        client.send_message(mail, mail_options=["BODY=8BITMIME"] if eight_bit else [])


@channel
class Webhook(Channel):
    """JSON POSTed with an HMAC-SHA256 signature (service/webhook.py, docs/notifications.md)."""

    kind = "webhook"

    def payload(self, delivery: Delivery) -> dict:
        message = delivery.message
        return {"event": delivery.notice.event, "id": delivery.notice.subject_id,
                "incident" if delivery.notice.event.startswith("incident.") else "maintenance":
                    delivery.notice.subject_id,
                "recipient": delivery.recipient, "lang": message.lang, "region": delivery.notice.region,
                "components": list(delivery.notice.components), **delivery.notice.facts,
                "subject": message.subject, "text": message.text, "url": message.url,
                **({"unsubscribe_url": delivery.unsubscribe_url} if delivery.unsubscribe_url else {})}

    def send(self, delivery: Delivery, context: SendContext) -> Outcome:
        secret = delivery.secret.encode() if delivery.secret else secret_from_env(delivery.secret_env)
        return context.post(delivery.target, self.payload(delivery), secret, delivery.key)

    def confirmation(self, link: str, lang: str, page_name: str) -> dict:
        raise NotImplementedError("webhook subscribers answer a challenge instead")


@channel
class Slack(Channel):
    """Block Kit through a Slack incoming webhook; the attachment's bar carries the status colour."""

    kind = "slack"

    def payload(self, delivery: Delivery) -> dict:
        message = delivery.message
        body = message.text.removeprefix(message.subject).strip()
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150], "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(body)[:2900]}},
            {"type": "actions", "elements": [{"type": "button", "url": message.url,
                                              "text": {"type": "plain_text", "text": OPEN_PAGE[message.lang]}}]},
        ]
        if delivery.unsubscribe_url:
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"<{delivery.unsubscribe_url}|{UNSUBSCRIBE[message.lang]}>"}]})
        return {"text": message.subject,  # the notification preview and the fallback
                "attachments": [{"color": COLOURS[delivery.notice.tone], "blocks": blocks}]}

    def send(self, delivery: Delivery, context: SendContext) -> Outcome:
        # Slack's incoming webhooks do not check signatures; the URL itself is the secret.
        return context.post(delivery.target, self.payload(delivery), None, delivery.key)

    def confirmation(self, link: str, lang: str, page_name: str) -> dict:
        text = CONFIRM_TEXT[lang].format(page=page_name)
        return {"text": text, "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(text)}},
            {"type": "actions", "elements": [{"type": "button", "url": link, "style": "primary",
                                              "text": {"type": "plain_text", "text": CONFIRM_BUTTON[lang]}}]}]}


@channel
class Teams(Channel):
    """An Adaptive Card through a Microsoft Teams Workflows webhook URL."""

    kind = "teams"

    def card(self, title: str, body: str, colour: str, actions: list[tuple[str, str]]) -> dict:
        return {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium",
                          "color": colour, "wrap": True},
                         {"type": "TextBlock", "text": body, "wrap": True}],
                "actions": [{"type": "Action.OpenUrl", "title": label, "url": url} for label, url in actions],
            }}]}

    def send(self, delivery: Delivery, context: SendContext) -> Outcome:
        message = delivery.message
        actions = [(OPEN_PAGE[message.lang], message.url)]
        if delivery.unsubscribe_url:
            actions.append((UNSUBSCRIBE[message.lang], delivery.unsubscribe_url))
        card = self.card(message.subject, message.text.removeprefix(message.subject).strip(),
                         TEAMS_COLOURS[delivery.notice.tone], actions)
        return context.post(delivery.target, card, None, delivery.key)

    def confirmation(self, link: str, lang: str, page_name: str) -> dict:
        return self.card(CONFIRM_TEXT[lang].format(page=page_name), "", "accent", [(CONFIRM_BUTTON[lang], link)])


CONFIRM_TEXT = {
    "ko": "{page}의 알림 구독을 요청하셨습니다. 아래 버튼으로 구독을 확인해 주십시오. 요청하지 않으셨다면 이 메시지를 무시하십시오.",
    "ja": "{page} の通知の購読が申し込まれました。下のボタンで購読を確認してください。お心当たりがない場合はこのメッセージを無視してください。",
    "en": "Someone asked to subscribe this address to {page}. Confirm with the link below; if it was not you, ignore this message.",
}
CONFIRM_BUTTON = {"ko": "구독 확인", "ja": "購読を確認", "en": "Confirm subscription"}


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats &, < and > as control characters (https://api.slack.com/reference/surfaces/formatting).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
