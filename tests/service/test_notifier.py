"""`statusgen notify`: real webhooks to a local receiver that checks the HMAC, real e-mail to a local SMTP server."""
from __future__ import annotations

from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from api_support import WEBHOOK_SECRET, WebhookReceiver, receiver, smtp_sink  # noqa: F401 - fixtures
from conftest import PROJECT
from generator.service.api.store import IncidentStore
from generator.cli import main
from generator.service.notifier import (incident_notices, load_tenants, plan_deliveries, tenant_recipients,
                                        unknown_tenants)
from generator.service.subscriptions.store import SubscriberStore


def sent_keys(root: Path) -> set[str]:
    store = SubscriberStore.open(root, ".statusgen/subscribers.sqlite")
    try:
        return store.sent_keys()
    finally:
        store.close()

KR_ID = "2025-10-02-kr-ingest-latency"  # five updates, tenants acme-kr and hanbit-logistics


def write_tenants(root: Path, tenants: list[dict]) -> Path:
    path = root / "tenants.yaml"
    path.write_text(yaml.safe_dump({"sender": "status@example.com", "tenants": tenants}, allow_unicode=True))
    return path


def notify(root: Path, smtp_port: int = 1, *args: str, secret: str = WEBHOOK_SECRET):
    return CliRunner().invoke(main, ["notify", "--root", str(root), "--smtp-host", "127.0.0.1",
                                     "--smtp-port", str(smtp_port), "--backoff", "0.01", *args],
                              env={"STATUSGEN_WEBHOOK_SECRET": secret})


def test_webhook_is_retried_after_two_failures_and_the_receiver_verifies_the_hmac(sample_repo):
    flaky = WebhookReceiver(fail_first=2)
    try:
        write_tenants(sample_repo, [{"id": "hanbit-logistics", "name": "Hanbit", "language": "ko", "plan": "standard",
                                     "channels": {"webhooks": [{"url": flaky.url}]}}])
        result = notify(sample_repo, 1, KR_ID)
    finally:
        flaky.close()
    assert result.exit_code == 0, result.output
    assert "after 3 attempts" in result.output
    assert flaky.requests == 2 + 2  # two refusals, then the first notice and the resolution
    assert [body["event"] for body in flaky.accepted] == ["incident.first", "incident.resolution"]
    assert flaky.accepted[0]["lang"] == "ko" and "조사 중" in flaky.accepted[0]["text"]


def test_a_receiver_that_refuses_the_signature_gets_no_retry_and_nothing_is_recorded(sample_repo, receiver):
    write_tenants(sample_repo, [{"id": "hanbit-logistics", "name": "Hanbit", "language": "ko", "plan": "standard",
                                 "channels": {"webhooks": [{"url": receiver.url}]}}])
    result = notify(sample_repo, 1, KR_ID, secret="the-wrong-secret")
    assert result.exit_code == 1
    assert "refused with HTTP 401" in result.output
    assert receiver.requests == 2 and receiver.accepted == []
    assert sent_keys(sample_repo) == set()


def test_email_goes_over_smtp_in_the_tenants_language(sample_repo, smtp_sink):
    write_tenants(sample_repo, [{"id": "hanbit-logistics", "name": "Hanbit", "language": "ja", "plan": "standard",
                                 "channels": {"email": ["ops@hanbit.example.com"]}}])
    result = notify(sample_repo, smtp_sink.port, KR_ID)
    assert result.exit_code == 0, result.output
    first, resolution = smtp_sink.messages
    assert first["To"] == "ops@hanbit.example.com" and first["From"] == "status@example.com"
    assert first["Subject"] == "[KR] 障害: 取り込み→インシデント遅延 ↑ — 調査中"
    assert first["Content-Language"] == "ja"
    body = first.get_content()
    assert "10:20 KST (01:20 UTC)" in body and "原因を調査中" in body
    assert "https://status.example.com/ja/incidents/2025-10-02-kr-ingest-latency/" in body
    assert "解決済み" in resolution["Subject"]


def test_a_rerun_sends_nothing_twice(sample_repo, receiver, smtp_sink):
    chat = WebhookReceiver(secret=None)
    write_tenants(sample_repo, [
        {"id": "acme-kr", "name": "ACME", "language": "ko", "plan": "enterprise",
         "channels": {"email": ["noc@acme-kr.example.com"], "webhooks": [{"url": receiver.url}],
                      "slack": [chat.url]}},
    ])
    first = notify(sample_repo, smtp_sink.port, KR_ID)
    assert first.exit_code == 0, first.output
    assert "15 sent, 0 already sent, 0 failed" in first.output  # 5 updates x 3 channels
    again = notify(sample_repo, smtp_sink.port, KR_ID)
    assert again.exit_code == 0, again.output
    assert "0 sent, 15 already sent, 0 failed" in again.output
    chat.close()
    assert len(smtp_sink.messages) == 5 and len(receiver.accepted) == 5 and len(chat.accepted) == 5
    assert len(set(receiver.deliveries + chat.deliveries)) == 10
    assert [body["event"] for body in receiver.accepted] == [
        "incident.first", "incident.update", "incident.update", "incident.update", "incident.resolution"]
    assert chat.accepted[0]["text"].startswith("[KR] 장애")


def test_dry_run_sends_and_records_nothing(sample_repo, receiver):
    write_tenants(sample_repo, [{"id": "acme-kr", "name": "ACME", "language": "en", "plan": "enterprise",
                                 "channels": {"webhooks": [{"url": receiver.url}]}}])
    result = notify(sample_repo, 1, KR_ID, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.count("would send") == 5 and "Since 2025-10-02 10:14 KST" in result.output
    assert receiver.requests == 0 and sent_keys(sample_repo) == set()


@pytest.mark.parametrize("plan,expected", [("enterprise", [0, 1, 2, 3, 4]), ("standard", [0, 4])])
def test_routing_by_plan(sample_repo, plan, expected):
    tenants_file = write_tenants(sample_repo, [{"id": "acme-kr", "name": "ACME", "language": "ko", "plan": plan,
                                                "channels": {"email": ["noc@acme-kr.example.com"]}}])
    store = IncidentStore(sample_repo)
    incident, tenants = store.get(KR_ID), load_tenants(tenants_file)
    deliveries = plan_deliveries(incident_notices(incident, store.config), tenant_recipients(tenants), store.config)
    assert [d.notice.facts["update"] for d in deliveries] == expected
    assert unknown_tenants(incident, tenants) == ["2025-10-02-kr-ingest-latency: tenant 'hanbit-logistics' is not in tenants.yaml; nobody to notify"]


def test_the_shipped_tenants_file_is_valid_and_routes_the_sample_incident():
    root = PROJECT
    store = IncidentStore(root)
    incident, tenants = store.get(KR_ID), load_tenants(root / "tenants.yaml")
    deliveries = plan_deliveries(incident_notices(incident, store.config), tenant_recipients(tenants), store.config)
    assert unknown_tenants(incident, tenants) == [] and len(deliveries) == 19


def test_an_unknown_plan_is_a_problem_with_its_line(sample_repo):
    write_tenants(sample_repo, [{"id": "acme-kr", "name": "ACME", "language": "ko", "plan": "gold",
                                 "channels": {}}])
    result = notify(sample_repo, 1, KR_ID)
    assert result.exit_code == 1
    assert "tenants.yaml:" in result.output and "tenants[0].plan: expected a plan of routing" in result.output


def test_a_draft_incident_is_never_sent(sample_repo, smtp_sink, receiver):
    file = sample_repo / f"incidents/2025/{KR_ID}.yaml"
    file.write_text(file.read_text(encoding="utf-8").replace("impact: major\n", "impact: major\ndraft: true\n"),
                    encoding="utf-8")
    write_tenants(sample_repo, [{"id": "acme-kr", "name": "ACME", "language": "ko", "plan": "enterprise",
                                 "channels": {"email": ["noc@acme-kr.example.com"],
                                              "webhooks": [{"url": receiver.url}]}}])
    result = notify(sample_repo, smtp_sink.port, KR_ID)
    dry = notify(sample_repo, smtp_sink.port, KR_ID, "--dry-run")
    assert result.exit_code == 1 and dry.exit_code == 1
    assert f"error: {KR_ID} is a draft: drafts are never sent to customers" in result.output
    assert "would send" not in dry.output
    assert smtp_sink.messages == [] and receiver.requests == 0


def test_a_draft_gives_no_notice_to_any_caller_of_the_planner(sample_repo):
    store = IncidentStore(sample_repo)
    draft = store.get(KR_ID).model_copy(update={"draft": True})
    assert incident_notices(draft, store.config) == []


def test_mail_has_a_date_8bitmime_and_one_click_unsubscribe(sample_repo, smtp_sink, monkeypatch):
    config = sample_repo / "status.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "notifications:\n  api_url: https://api.status.example.com/\n",
                      encoding="utf-8")
    write_tenants(sample_repo, [{"id": "hanbit-logistics", "name": "Hanbit", "language": "ko", "plan": "standard",
                                 "channels": {"email": ["ops@hanbit.example.com"]}}])
    result = CliRunner().invoke(main, ["notify", "--root", str(sample_repo), "--smtp-host", "127.0.0.1",
                                       "--smtp-port", str(smtp_sink.port), KR_ID],
                                env={"STATUSGEN_SUBSCRIPTION_SECRET": "s" * 32})
    assert result.exit_code == 0, result.output
    mail = smtp_sink.messages[0]
    assert parsedate_to_datetime(mail["Date"]).tzinfo is not None  # RFC 5322 3.6: Date is required
    assert "BODY=8BITMIME" in smtp_sink.mail_options[0]  # Hangul in an 8bit body, announced (RFC 6152)
    assert mail["Content-Transfer-Encoding"] == "8bit"
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://api.status.example.com/v1/subscriptions/unsubscribe?token=")
    assert "<mailto:status@example.com?subject=unsubscribe%20hanbit-logistics>" in unsubscribe
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058


def test_a_maintenance_is_announced_reminded_started_and_completed_once_each(sample_repo, smtp_sink):
    write_tenants(sample_repo, [{"id": "sakura-retail", "name": "Sakura", "language": "ja", "plan": "enterprise",
                                 "channels": {"email": ["sre@sakura-retail.example.com"]}}])
    maintenance = "2025-10-25-jp-search-upgrade"  # announced 10-17 11:00, window 10-25 02:00-04:00 JST

    def run(now: str):
        return CliRunner().invoke(main, ["notify", "--root", str(sample_repo), "--smtp-host", "127.0.0.1",
                                         "--smtp-port", str(smtp_sink.port), "--now", now, maintenance])

    before = run("2025-10-17T10:00:00+09:00")
    assert before.exit_code == 0 and "0 sent" in before.output  # not published yet
    announced = run("2025-10-20T09:00:00+09:00")
    reminded = run("2025-10-24T03:00:00+09:00")
    done = run("2025-10-25T05:00:00+09:00")
    again = run("2025-10-25T06:00:00+09:00")
    assert [r.exit_code for r in (announced, reminded, done, again)] == [0, 0, 0, 0]
    subjects = [m["Subject"] for m in smtp_sink.messages]
    assert subjects == [
        "[JP] 定期メンテナンス: 検索クラスタのアップグレード — 予定",
        "メンテナンスのお知らせ（リマインダー）: [JP] 定期メンテナンス: 検索クラスタのアップグレード — 予定",
        "[JP] 定期メンテナンス: 検索クラスタのアップグレード — 作業中",
        "[JP] 定期メンテナンス: 検索クラスタのアップグレード — 完了",
    ]
    assert "0 sent, 3 already sent" in again.output  # a reminder is no longer due once the window began
    body = smtp_sink.messages[0].get_content()
    assert "検索クラスタを新バージョンへアップグレードします" in body
    assert "https://status.example.com/ja/maintenance/2025-10-25-jp-search-upgrade/" in body


def test_a_dry_run_needs_no_secret_but_a_real_run_refuses_without_one(sample_repo, receiver):
    write_tenants(sample_repo, [{"id": "acme-kr", "name": "ACME", "language": "en", "plan": "standard",
                                 "channels": {"webhooks": [{"url": receiver.url}]}}])
    dry = notify(sample_repo, 1, KR_ID, "--dry-run", secret="")
    real = notify(sample_repo, 1, KR_ID, secret="")
    assert dry.exit_code == 0 and dry.output.count("would send") == 2
    assert real.exit_code == 1 and "no HMAC secret: set $STATUSGEN_WEBHOOK_SECRET" in real.output
    assert receiver.requests == 0


def test_deliveries_recorded_by_an_older_version_are_not_sent_again(sample_repo, smtp_sink):
    write_tenants(sample_repo, [{"id": "hanbit-logistics", "name": "Hanbit", "language": "ja", "plan": "standard",
                                 "channels": {"email": ["ops@hanbit.example.com"]}}])
    legacy = sample_repo / ".statusgen/deliveries.jsonl"
    legacy.parent.mkdir(parents=True, exist_ok=True)
    # What the JSONL notifier wrote for the first notice (update 0) before the database existed.
    legacy.write_text('{"key": "0f", "incident": "%s", "update": 0, "kind": "first", "tenant": "hanbit-logistics", '
                      '"channel": "email", "target": "ops@hanbit.example.com", "lang": "ja", "attempts": 1}\n' % KR_ID,
                      encoding="utf-8")
    result = notify(sample_repo, smtp_sink.port, KR_ID)
    assert result.exit_code == 0, result.output
    assert "1 sent, 1 already sent" in result.output
    assert [m["Subject"] for m in smtp_sink.messages] == ["[KR] 障害: 取り込み→インシデント遅延 ↑ — 解決済み"]
