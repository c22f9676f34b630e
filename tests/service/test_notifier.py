"""`statusgen notify`: real webhooks to a local receiver that checks the HMAC, real e-mail to a local SMTP server."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from api_support import WEBHOOK_SECRET, WebhookReceiver, receiver, smtp_sink  # noqa: F401 - fixtures
from conftest import PROJECT
from generator.service.api.store import IncidentStore
from generator.cli import main
from generator.service.notifier import DELIVERIES_FILE, load_tenants, plan_deliveries

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
    assert not (sample_repo / DELIVERIES_FILE).exists()


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
    write_tenants(sample_repo, [
        {"id": "acme-kr", "name": "ACME", "language": "ko", "plan": "enterprise",
         "channels": {"email": ["noc@acme-kr.example.com"], "webhooks": [{"url": receiver.url}],
                      "slack": [receiver.url]}},
    ])
    first = notify(sample_repo, smtp_sink.port, KR_ID)
    assert first.exit_code == 0, first.output
    assert "15 sent, 0 already sent, 0 failed" in first.output  # 5 updates x 3 channels
    again = notify(sample_repo, smtp_sink.port, KR_ID)
    assert again.exit_code == 0, again.output
    assert "0 sent, 15 already sent, 0 failed" in again.output
    assert len(smtp_sink.messages) == 5 and len(receiver.accepted) == 10
    assert len(set(receiver.deliveries)) == 10
    slack = [body for body in receiver.accepted if set(body) == {"text"}]
    assert len(slack) == 5 and slack[0]["text"].startswith("*[KR] 장애")


def test_dry_run_sends_and_records_nothing(sample_repo, receiver):
    write_tenants(sample_repo, [{"id": "acme-kr", "name": "ACME", "language": "en", "plan": "enterprise",
                                 "channels": {"webhooks": [{"url": receiver.url}]}}])
    result = notify(sample_repo, 1, KR_ID, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.count("would send") == 5 and "Since 2025-10-02 10:14 KST" in result.output
    assert receiver.requests == 0 and not (sample_repo / DELIVERIES_FILE).exists()


@pytest.mark.parametrize("plan,expected", [("enterprise", [0, 1, 2, 3, 4]), ("standard", [0, 4])])
def test_routing_by_plan(sample_repo, plan, expected):
    tenants_file = write_tenants(sample_repo, [{"id": "acme-kr", "name": "ACME", "language": "ko", "plan": plan,
                                                "channels": {"email": ["noc@acme-kr.example.com"]}}])
    store = IncidentStore(sample_repo)
    deliveries, warnings = plan_deliveries(store.get(KR_ID), load_tenants(tenants_file), store.config)
    assert [d.update_index for d in deliveries] == expected
    assert warnings == ["2025-10-02-kr-ingest-latency: tenant 'hanbit-logistics' is not in tenants.yaml; nobody to notify"]


def test_the_shipped_tenants_file_is_valid_and_routes_the_sample_incident():
    root = PROJECT
    store = IncidentStore(root)
    deliveries, warnings = plan_deliveries(store.get(KR_ID), load_tenants(root / "tenants.yaml"), store.config)
    assert warnings == [] and len(deliveries) == 19


def test_an_unknown_plan_is_a_problem_with_its_line(sample_repo):
    write_tenants(sample_repo, [{"id": "acme-kr", "name": "ACME", "language": "ko", "plan": "gold",
                                 "channels": {}}])
    result = notify(sample_repo, 1, KR_ID)
    assert result.exit_code == 1
    assert "tenants.yaml:" in result.output and "tenants[0].plan: expected a plan of routing" in result.output
