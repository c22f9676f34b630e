"""Self-service subscriptions over HTTP: subscribe (form or JSON), confirm, one-click unsubscribe (RFC 8058).

Public routes, no bearer token: anyone may ask, and nothing happens until the address proves itself:
an e-mail subscriber clicks the link mailed to it (double opt-in), a Slack or Teams subscriber clicks the
link posted to the channel, and a webhook subscriber answers a signed challenge. Answers never say whether
an address was subscribed already. The status site's subscribe form posts here without JavaScript, so
every answer to a form is a small HTML page in the visitor's language.
"""
from __future__ import annotations

import html
import ipaddress
import re
import secrets
import smtplib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field, ValidationError

from ...content.load import load_config
from ...content.model import Config, Model
from ..channels import CHANNELS, CONFIRM_TEXT, Smtp, send_mail
from ..subscriptions.store import SubscriberStore
from ..subscriptions.tokens import InvalidToken, Links, MissingSubscriptionSecret, secret_from_env
from ..webhook import post_signed

EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
CHALLENGE_EVENT = "subscription.challenge"


class SubscriptionRequest(Model):
    kind: Literal["email", "webhook", "slack", "teams"] = "email"
    target: str = Field(max_length=2048, description="E-mail address, or the webhook / Slack / Teams URL")
    language: Literal["ko", "ja", "en"]
    components: list[str] = Field(default=[], description="Component ids (kr-ingest...); empty: all")
    regions: list[str] = Field(default=[], description="Region ids (KR, JP); empty: all")


PAGES = {
    "pending": {"ko": ("메일을 확인해 주십시오", "구독 확인 링크를 보냈습니다. 링크를 누르면 구독이 시작됩니다."),
                "ja": ("メールをご確認ください", "購読確認のリンクを送りました。リンクを開くと購読が始まります。"),
                "en": ("Check your inbox", "We sent you a confirmation link. Your subscription starts when you open it.")},
    "confirmed": {"ko": ("구독되었습니다", "이제 상태 변경 알림을 받습니다. 모든 알림에 구독 해지 링크가 있습니다."),
                  "ja": ("購読を開始しました", "ステータスの変更をお知らせします。すべての通知に配信停止のリンクがあります。"),
                  "en": ("You are subscribed", "You will be notified of status changes. Every message has an unsubscribe link.")},
    "unsubscribe": {"ko": ("구독 해지", "아래 버튼을 누르면 더 이상 알림을 받지 않습니다."),
                    "ja": ("配信停止", "下のボタンを押すと、通知は届かなくなります。"),
                    "en": ("Unsubscribe", "Press the button below and you will receive no more notifications.")},
    "unsubscribed": {"ko": ("구독이 해지되었습니다", "더 이상 알림을 보내지 않습니다."),
                     "ja": ("配信を停止しました", "今後、通知はお送りしません。"),
                     "en": ("You are unsubscribed", "You will receive no more notifications.")},
    "invalid": {"ko": ("유효하지 않은 링크", "이 링크는 유효하지 않거나 만료되었습니다. 다시 구독해 주십시오."),
                "ja": ("無効なリンク", "このリンクは無効か期限切れです。もう一度お申し込みください。"),
                "en": ("Invalid link", "This link is not valid or has expired. Please subscribe again.")},
    "unavailable": {"ko": ("잠시 후 다시 시도해 주십시오", "지금은 확인 메일을 보낼 수 없습니다."),
                    "ja": ("しばらくしてからお試しください", "現在、確認メールを送信できません。"),
                    "en": ("Please try again later", "We cannot send the confirmation mail right now.")},
    "refused": {"ko": ("구독할 수 없습니다", "입력을 확인해 주십시오:"),
                "ja": ("購読できません", "入力内容をご確認ください:"),
                "en": ("Cannot subscribe", "Please check what you entered:")},
}
BACK = {"ko": "상태 페이지로 돌아가기", "ja": "ステータスページに戻る", "en": "Back to the status page"}
UNSUBSCRIBE_BUTTON = {"ko": "구독 해지", "ja": "配信を停止する", "en": "Unsubscribe"}
CONFIRM_SUBJECT = {"ko": "[{page}] 구독을 확인해 주십시오", "ja": "[{page}] 購読の確認", "en": "[{page}] Confirm your subscription"}


def _page(config: Config, lang: str, name: str, status: int = 200, extra: str = "", details: list[str] = ()) -> HTMLResponse:
    lang = lang if lang in config.languages else config.default_language
    title, text = PAGES[name][lang]
    prefix = "" if lang == config.default_language else f"{lang}/"
    back = f"{config.page.url.rstrip('/')}/{prefix}"
    items = "".join(f"<li>{html.escape(d)}</li>" for d in details)
    body = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)} · {html.escape(config.page.name.get(lang) or '')}</title></head>"
            f'<body><main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>'
            f'{"<ul>" + items + "</ul>" if items else ""}{extra}'
            f'<p><a href="{html.escape(back)}">{html.escape(BACK[lang])}</a></p></main></body></html>')
    return HTMLResponse(body, status)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _check_target(request: SubscriptionRequest, config: Config) -> list[str]:
    errors = []
    if request.kind == "email":
        if not EMAIL.fullmatch(request.target):
            errors.append(f"target: expected an e-mail address, got {request.target!r}")
    else:
        parts = urlsplit(request.target)
        # Plain http only to this machine (tests, a local relay): a subscriber's messages carry links
        # that must not travel in clear.
        if not (parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname or ""))) \
                or not parts.hostname:
            errors.append(f"target: expected an https:// URL, got {request.target!r}")
    known_components = {c.id for c in config.components}
    errors += [f"components: unknown component {c!r}" for c in request.components if c not in known_components]
    known_regions = {r.id for r in config.regions}
    errors += [f"regions: unknown region {r!r}" for r in request.regions if r not in known_regions]
    return errors


async def _read_request(request: Request) -> tuple[dict, bool]:
    """The subscription fields and whether the visitor posted the site's form (which wants HTML back)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await request.json()
        return (data if isinstance(data, dict) else {}), False
    form = await request.form()
    kind = form.get("kind") or "email"
    target = form.get("email") if kind == "email" else form.get("url")
    return {"kind": kind, "target": (target or "").strip(), "language": form.get("language") or "",
            "components": form.getlist("component"), "regions": form.getlist("region")}, True


def subscription_router(config: Config, store: SubscriberStore, links: Links, smtp: Smtp,
                        client: httpx.Client | None = None) -> APIRouter:
    router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
    page_name = config.page.name

    def answer(form: bool, lang: str, name: str, status: int, data: dict, details: list[str] = ()) -> Response:
        if form:
            return _page(config, lang, name, status, details=details)
        return JSONResponse(data, status)

    @router.post("", summary="Subscribe an e-mail address, a webhook, a Slack or a Teams channel")
    async def subscribe(request: Request) -> Response:
        data, form = await _read_request(request)
        lang = str(data.get("language") or config.default_language)
        try:
            wanted = SubscriptionRequest.model_validate(data)
        except ValidationError as exc:
            details = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)]
            return answer(form, lang, "refused", 422, {"detail": "invalid subscription", "errors": details}, details)
        problems = _check_target(wanted, config)
        if problems:
            return answer(form, lang, "refused", 422, {"detail": "invalid subscription", "errors": problems}, problems)
        secret = secrets.token_urlsafe(32) if wanted.kind == "webhook" else None
        row = await run_in_threadpool(store.subscribe, wanted.kind, wanted.target, wanted.language,
                                      wanted.components, wanted.regions, secret, wanted.kind == "webhook")
        if row.state == "active" and wanted.kind != "webhook":
            # Already confirmed: say the same as for a new address, and send nothing.
            return answer(form, wanted.language, "pending", 202, {"state": "pending"})
        link = links.confirm_url(row.id, row.generation)
        name = page_name.get(wanted.language) or ""
        if wanted.kind == "email":
            text = CONFIRM_TEXT[wanted.language].format(page=name) + f"\n\n{link}\n"
            try:
                await run_in_threadpool(send_mail, smtp, wanted.target,
                                        CONFIRM_SUBJECT[wanted.language].format(page=name), text, wanted.language,
                                        store.now(), message_id_seed=f"confirm-{row.id}-{row.generation}")
            except (OSError, smtplib.SMTPException) as exc:
                # The row stays pending; subscribing again sends a new link.
                return answer(form, wanted.language, "unavailable", 503, {
                    "detail": "the confirmation mail could not be sent; try again later",
                    "errors": [f"{type(exc).__name__}: {exc}"]})
            return answer(form, wanted.language, "pending", 202, {"state": "pending"})
        if wanted.kind == "webhook":
            challenge = secrets.token_urlsafe(24)
            outcome = await run_in_threadpool(_challenge, wanted.target, challenge, secret, client)
            if not outcome:
                return answer(form, wanted.language, "refused", 422, {
                    "detail": "the webhook did not answer the challenge",
                    "errors": [f"target: expected a 2xx answer with {{\"challenge\": ...}} echoing the "
                               f"{CHALLENGE_EVENT} event, got {outcome.error}"]}, [outcome.error])
            await run_in_threadpool(store.confirm, row.id, row.generation)
            # The HMAC key of this subscriber's messages: shown once, kept only in the database.
            return JSONResponse({"state": "active", "id": row.id, "secret": secret}, 201)
        payload = CHANNELS[wanted.kind].confirmation(link, wanted.language, name)
        outcome = await run_in_threadpool(lambda: post_signed(wanted.target, payload, secret=None,
                                                              delivery_id=f"confirm-{row.id}", attempts=2,
                                                              backoff=0.2, client=client))
        if not outcome.ok:
            return answer(form, wanted.language, "refused", 422, {
                "detail": f"the {wanted.kind} URL refused the confirmation message", "errors": [outcome.error]},
                [outcome.error])
        return answer(form, wanted.language, "pending", 202, {"state": "pending"})

    @router.get("/confirm", response_class=HTMLResponse, summary="Confirm a subscription (the mailed link)")
    def confirm(token: str = "") -> Response:
        try:
            subscriber_id, generation = links.read_confirm(token)
        except InvalidToken:
            return _page(config, config.default_language, "invalid", 400)
        row = store.confirm(subscriber_id, generation)
        if row is None:
            return _page(config, config.default_language, "invalid", 400)
        return _page(config, row.language, "confirmed")

    def _subscriber_lang(payload: list) -> str:
        if payload[0] == "s":
            row = store.get(int(payload[1]))
            return row.language if row else config.default_language
        return config.default_language

    @router.get("/unsubscribe", response_class=HTMLResponse, summary="The unsubscribe page (a button)")
    def unsubscribe_page(token: str = "") -> Response:
        # RFC 8058: a GET (a link scanner, a preview) must not unsubscribe; the button POSTs.
        try:
            payload = links.read_unsubscribe(token)
        except InvalidToken:
            return _page(config, config.default_language, "invalid", 400)
        lang = _subscriber_lang(payload)
        button = (f'<form method="post" action="?token={html.escape(token)}">'
                  f'<button type="submit">{html.escape(UNSUBSCRIBE_BUTTON[lang])}</button></form>')
        return _page(config, lang, "unsubscribe", extra=button)

    @router.post("/unsubscribe", summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post)")
    def unsubscribe(token: str = "") -> Response:
        try:
            payload = links.read_unsubscribe(token)
        except InvalidToken:
            return _page(config, config.default_language, "invalid", 400)
        if payload[0] == "s":
            store.unsubscribe(int(payload[1]))
        else:
            store.suppress(str(payload[1]), str(payload[2]))
        return _page(config, _subscriber_lang(payload), "unsubscribed")

    return router


class _Challenge:
    def __init__(self, ok: bool, error: str = ""):
        self.ok, self.error = ok, error

    def __bool__(self) -> bool:
        return self.ok


def _challenge(url: str, challenge: str, secret: str, client: httpx.Client | None) -> _Challenge:
    """POST a signed challenge; the receiver proves it holds the secret's URL by echoing the challenge."""
    from ..webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
    import json
    import time

    body = json.dumps({"event": CHALLENGE_EVENT, "challenge": challenge}, sort_keys=True).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp, DELIVERY_HEADER: f"challenge-{challenge[:8]}",
               SIGNATURE_HEADER: signature(secret.encode(), stamp, body), "User-Agent": "statusgen-notifier"}
    try:
        response = (client or httpx).post(url, content=body, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        return _Challenge(False, f"{type(exc).__name__}: {exc}")
    try:
        echoed = response.json().get("challenge") if response.is_success else None
    except ValueError:
        echoed = None
    if echoed != challenge:
        return _Challenge(False, f"HTTP {response.status_code} without the challenge")
    return _Challenge(True)


def mount_subscriptions(app: FastAPI, root: Path, smtp: Smtp) -> str | None:
    """Add the subscription routes to the status API; returns why they are off, or None when mounted."""
    config = load_config(root)
    if not config.notifications.api_url:
        return "subscriptions are off: status.yaml sets no notifications.api_url"
    try:
        secret = secret_from_env()
    except MissingSubscriptionSecret as exc:
        return f"subscriptions are off: {exc}"
    store = SubscriberStore.open(root, config.notifications.database)
    smtp = Smtp(smtp.host, smtp.port, config.notifications.sender, smtp.user, smtp.password)
    app.include_router(subscription_router(config, store, Links(secret, config.notifications.api_url), smtp))
    return None
