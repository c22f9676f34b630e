"""/v1/subscriptions over real HTTP: webhook subscribers answer a challenge, Slack and Teams subscribers confirm
from the channel, bad input is a field error, and chat messages carry the status colour and the page link."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess

import httpx
import pytest
from click.testing import CliRunner

from api_support import WEBHOOK_SECRET, ServerThread, WebhookReceiver, make_tokens, smtp_sink  # noqa: F401
from conftest import PROJECT, git
from generator.cli import main
from generator.service.api.app import create_app
from generator.service.api.auth import parse_tokens
from generator.service.api.subscriptions import mount_subscriptions
from generator.service.channels import Smtp
from generator.service.subscriptions.store import SubscriberStore

SECRET = "subscription-secret-for-tests-0123456789"
KR_ID = "2025-10-02-kr-ingest-latency"


@pytest.fixture
def subscriptions(sample_repo, smtp_sink, monkeypatch):
    monkeypatch.setenv("STATUSGEN_SUBSCRIPTION_SECRET", SECRET)
    config = sample_repo / "status.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "notifications:\n  api_url: https://api.status.example.com\n",
                      encoding="utf-8")
    git(sample_repo, "commit", "-qam", "Subscriptions on")
    app = create_app(sample_repo, parse_tokens(make_tokens()[2], "tokens.yaml"))
    assert mount_subscriptions(app, sample_repo, Smtp("127.0.0.1", smtp_sink.port)) is None
    with ServerThread(app) as url:
        yield url


def notify(root):
    return CliRunner().invoke(main, ["notify", "--root", str(root), "--backoff", "0.01", KR_ID],
                              env={"STATUSGEN_SUBSCRIPTION_SECRET": SECRET})


def test_a_webhook_subscriber_answers_the_challenge_and_verifies_its_messages_with_its_own_secret(
        sample_repo, subscriptions):
    receiver = WebhookReceiver(secret=None)  # it learns its secret from the answer below
    try:
        answer = httpx.post(f"{subscriptions}/v1/subscriptions", json={
            "kind": "webhook", "target": receiver.url, "language": "en", "regions": ["KR"]})
        assert answer.status_code == 201, answer.text
        secret = answer.json()["secret"]
        assert answer.json()["state"] == "active"
        receiver.secret = secret.encode()  # from now on it refuses anything not signed with it
        result = notify(sample_repo)
    finally:
        receiver.close()
    assert result.exit_code == 0, result.output
    assert [body["event"] for body in receiver.accepted] == [
        "incident.first", "incident.update", "incident.update", "incident.update", "incident.resolution"]
    assert receiver.accepted[0]["lang"] == "en" and receiver.accepted[0]["unsubscribe_url"].startswith(
        "https://api.status.example.com/v1/subscriptions/unsubscribe?token=")


def test_a_webhook_that_does_not_echo_the_challenge_is_not_subscribed(sample_repo, subscriptions):
    refusing = WebhookReceiver(secret=None, fail_first=1)
    try:
        answer = httpx.post(f"{subscriptions}/v1/subscriptions", json={
            "kind": "webhook", "target": refusing.url, "language": "ko"})
    finally:
        refusing.close()
    assert answer.status_code == 422 and "did not answer the challenge" in answer.json()["detail"]
    store = SubscriberStore.open(sample_repo, ".statusgen/subscribers.sqlite")
    assert store.active() == []


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_a_chat_channel_confirms_from_the_link_posted_to_it_then_gets_coloured_cards(
        sample_repo, subscriptions, kind):
    chat = WebhookReceiver(secret=None)
    try:
        answer = httpx.post(f"{subscriptions}/v1/subscriptions", json={
            "kind": kind, "target": chat.url, "language": "ja", "components": ["kr-ingest"]})
        assert answer.status_code == 202, answer.text
        confirmation = chat.accepted[0]
        link = (confirmation["blocks"][1]["elements"][0]["url"] if kind == "slack"
                else confirmation["attachments"][0]["content"]["actions"][0]["url"])
        assert link.startswith("https://api.status.example.com/v1/subscriptions/confirm?token=")
        path = link.removeprefix("https://api.status.example.com")
        assert "購読を開始しました" in httpx.get(subscriptions + path).text
        result = notify(sample_repo)
    finally:
        chat.close()
    assert result.exit_code == 0, result.output
    first, *_, resolution = chat.accepted[1:]
    page = "https://status.example.com/ja/incidents/2025-10-02-kr-ingest-latency/"
    if kind == "slack":
        assert first["text"].startswith("[KR] 障害")
        attachment = first["attachments"][0]
        assert attachment["color"] == "#ef6c00"  # impact major: the site's orange
        assert resolution["attachments"][0]["color"] == "#2e7d32"
        button = next(b for b in attachment["blocks"] if b["type"] == "actions")["elements"][0]
        assert button["url"] == page and button["text"]["text"] == "ステータスページで見る"
    else:
        card = first["attachments"][0]
        assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
        content = card["content"]
        assert content["type"] == "AdaptiveCard" and content["body"][0]["color"] == "warning"
        assert content["actions"][0] == {"type": "Action.OpenUrl", "title": "ステータスページで見る", "url": page}
        assert resolution["attachments"][0]["content"]["body"][0]["color"] == "good"


@pytest.mark.parametrize("body,error", [
    ({"kind": "email", "target": "not-an-address", "language": "en"}, "target: expected an e-mail address"),
    ({"kind": "webhook", "target": "http://example.com/hook", "language": "en"}, "target: expected an https:// URL"),
    ({"kind": "email", "target": "a@example.com", "language": "en", "components": ["kr-nope"]},
     "components: unknown component 'kr-nope'"),
    ({"kind": "email", "target": "a@example.com", "language": "fr"}, "language: Input should be"),
])
def test_bad_subscriptions_are_field_errors(subscriptions, smtp_sink, body, error):
    answer = httpx.post(f"{subscriptions}/v1/subscriptions", json=body)
    assert answer.status_code == 422
    assert any(e.startswith(error) for e in answer.json()["errors"]), answer.json()
    assert smtp_sink.messages == []


def test_a_forged_or_tampered_link_changes_nothing(subscriptions):
    assert httpx.get(f"{subscriptions}/v1/subscriptions/confirm?token=abc").status_code == 400
    assert httpx.post(f"{subscriptions}/v1/subscriptions/unsubscribe?token=abc").status_code == 400


def test_an_address_in_tenants_and_subscribed_gets_each_notice_once_tenants_routing_first(sample_repo, subscriptions, smtp_sink):
    (sample_repo / "tenants.yaml").write_text(
        "tenants:\n  - {id: acme-kr, name: ACME, language: ko, plan: standard, channels: {email: [noc@acme-kr.example.com]}}\n",
        encoding="utf-8")
    store = SubscriberStore.open(sample_repo, ".statusgen/subscribers.sqlite")
    store.add_active([{"kind": "email", "target": "NOC@acme-kr.example.com", "language": "en"},
                      {"kind": "email", "target": "reader@example.com", "language": "en"}])
    result = CliRunner().invoke(main, ["notify", "--root", str(sample_repo), "--smtp-host", "127.0.0.1",
                                       "--smtp-port", str(smtp_sink.port), KR_ID],
                                env={"STATUSGEN_SUBSCRIPTION_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    to_tenant = [m for m in smtp_sink.messages if m["To"].lower() == "noc@acme-kr.example.com"]
    to_reader = [m for m in smtp_sink.messages if m["To"] == "reader@example.com"]
    # Both are honoured, each notice once: the tenant's plan (first notice, resolution, in the tenant's
    # language) and the subscription (every update, in the subscriber's language) for the rest.
    assert [m["Content-Language"] for m in to_tenant] == ["ko", "en", "en", "en", "ko"]
    assert len(to_reader) == 5


def test_the_signature_is_the_documented_hmac(sample_repo):
    # docs/notifications.md: sha256=hex(HMAC-SHA256(secret, "<timestamp>.<body>"))
    from generator.service.webhook import signature

    body, stamp = b'{"event":"incident.first"}', "1759367640"
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert signature(WEBHOOK_SECRET.encode(), stamp, body) == f"sha256={expected}"


def _doc_block(language: str, starts: str) -> str:
    text = (PROJECT / "docs/notifications.md").read_text(encoding="utf-8")
    blocks = re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)
    return next(b for b in blocks if b.lstrip().startswith(starts))


def test_the_documented_python_verification_accepts_a_real_signature_and_refuses_old_or_forged_ones():
    import time

    from generator.service.webhook import signature

    namespace: dict = {}
    exec(_doc_block("python", "import hashlib, hmac, time"), namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify"]
    body, now = b'{"event":"incident.first","lang":"ko","text":"\xec\x9e\xa5\xec\x95\xa0"}', str(int(time.time()))
    headers = {"X-Statusgen-Timestamp": now, "X-Statusgen-Signature": signature(b"k" * 32, now, body)}
    assert verify(b"k" * 32, headers, body)
    assert not verify(b"k" * 32, headers, body + b" ")
    old = str(int(time.time()) - 600)
    assert not verify(b"k" * 32, {**headers, "X-Statusgen-Timestamp": old,
                                  "X-Statusgen-Signature": signature(b"k" * 32, old, body)}, body)


def test_the_documented_openssl_verification_gives_the_documented_signature(tmp_path):
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to check the documented shell snippet")
    (tmp_path / "body.json").write_bytes(b'{"event":"incident.first"}')
    script = _doc_block("sh", "TS=1759367640")
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env={
        "PATH": os.environ["PATH"], "SECRET": WEBHOOK_SECRET,
        "SIGNATURE": "sha256=8cce1d24dde7ea64f5d75e862741f5f51cd6f3ff616dec9cd16d61d4fbe68bb8"})
    assert done.stdout.strip() == "valid", done.stderr


def test_an_unreachable_mail_server_is_a_503_page_not_a_traceback(sample_repo, monkeypatch):
    monkeypatch.setenv("STATUSGEN_SUBSCRIPTION_SECRET", SECRET)
    config = sample_repo / "status.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "notifications:\n  api_url: https://api.status.example.com\n",
                      encoding="utf-8")
    app = create_app(sample_repo, [])
    mount_subscriptions(app, sample_repo, Smtp("127.0.0.1", 1))  # nothing listens on port 1
    with ServerThread(app) as url:
        answer = httpx.post(f"{url}/v1/subscriptions", data={"email": "a@example.com", "language": "ko"})
    assert answer.status_code == 503 and "<h1>잠시 후 다시 시도해 주십시오</h1>" in answer.text
