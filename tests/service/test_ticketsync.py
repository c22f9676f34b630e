"""`statusgen sync`: committed status/severity changes become ticket events; ticket updates merge into incidents."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from api_support import WEBHOOK_SECRET, api, receiver  # noqa: F401 - fixtures
from conftest import SAMPLE_NOW, git
from generator.check import check_repository
from generator.cli import main
from generator.service.ticketsync import OUTBOX, SYNC_AUTHOR

KR_ID = "2025-10-02-kr-ingest-latency"  # linked to ticket CS-20251002-0042
TICKET = "CS-20251002-0042"
TEXT = {"ko": "안내", "ja": "お知らせ", "en": "Notice"}


def run_sync(root: Path, *args: str):
    return CliRunner().invoke(main, ["sync", "--root", str(root), *args],
                              env={"STATUSGEN_WEBHOOK_SECRET": WEBHOOK_SECRET})


def outbox(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / OUTBOX).read_text(encoding="utf-8").splitlines()]


def write_inbox(root: Path, *rows: dict) -> Path:
    path = root / "inbox.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_each_status_or_severity_change_is_one_event_per_linked_ticket(api):
    with api.client(api.writer) as client:
        client.patch(f"/v1/status/{KR_ID}", json={"tickets": ["CS-20251002-0043"]}).raise_for_status()
        client.patch(f"/v1/status/{KR_ID}", json={"update": {"at": "2025-10-02T12:00:00+09:00", "status": "monitoring",
                                                             "text": TEXT}}).raise_for_status()
        client.patch(f"/v1/status/{KR_ID}", json={"severity": "S1"}).raise_for_status()
        client.patch(f"/v1/status/{KR_ID}", json={"title": {"en": "[KR] Incident: ingest latency"}}).raise_for_status()
    result = run_sync(api.root)
    assert result.exit_code == 0, result.output
    events = [e for e in outbox(api.root) if e["incident"] == KR_ID]
    assert [(e["event"], e["ticket"], e["changes"]) for e in events] == [
        ("incident.opened", TICKET, {"status": {"from": None, "to": "resolved"}, "severity": {"from": None, "to": "S2"}}),
        ("incident.changed", TICKET, {"status": {"from": "resolved", "to": "monitoring"}}),
        ("incident.changed", "CS-20251002-0043", {"status": {"from": "resolved", "to": "monitoring"}}),
        ("incident.changed", TICKET, {"severity": {"from": "S2", "to": "S1"}}),
        ("incident.changed", "CS-20251002-0043", {"severity": {"from": "S2", "to": "S1"}}),
    ]
    again = run_sync(api.root)
    assert "0 event(s) added" in again.output and len(outbox(api.root)) == len(events) + 1  # + the JP sample


def test_a_ticket_update_is_merged_validated_and_committed_once(sample_repo):
    inbox = write_inbox(sample_repo, {
        "id": "upd-1", "ticket": TICKET, "severity": "S1",
        "evidence": [{"title": {"ko": "EPKG 증거 패키지", "ja": "EPKG エビデンスパッケージ", "en": "EPKG evidence package"},
                      "url": "https://epkg.example.com/p/42?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20251002T011400Z&X-Amz-Expires=600&X-Amz-Signature=0f3a"}]})
    before = int(git(sample_repo, "rev-list", "--count", "HEAD"))
    result = run_sync(sample_repo, "--inbox", str(inbox))
    assert result.exit_code == 0, result.output
    assert f"applied {inbox}:1: {TICKET} -> {KR_ID}" in result.output
    text = (sample_repo / f"incidents/2025/{KR_ID}.yaml").read_text(encoding="utf-8")
    assert "severity: S1\n" in text and "https://epkg.example.com/p/42" in text
    assert "impact: critical\n" in text  # an S1 reads critical, as if it had been filed as S1
    assert check_repository(sample_repo, SAMPLE_NOW) == []
    assert int(git(sample_repo, "rev-list", "--count", "HEAD")) == before + 1
    assert git(sample_repo, "log", "-1", "--format=%ae").strip() == SYNC_AUTHOR.email
    severity_events = [e for e in outbox(sample_repo) if e["changes"].get("severity", {}).get("from") == "S2"]
    assert [(e["ticket"], e["source"]) for e in severity_events] == [(TICKET, "ticket")]
    again = run_sync(sample_repo, "--inbox", str(inbox))
    assert "0 ticket update(s) applied" in again.output
    assert int(git(sample_repo, "rev-list", "--count", "HEAD")) == before + 1


def test_a_ticket_update_that_fails_the_check_is_rejected_and_writes_nothing(sample_repo):
    inbox = write_inbox(sample_repo,
                        {"id": "upd-2", "ticket": TICKET, "evidence": [{"title": {"en": "Dashboard"},
                                                                        "url": "https://grafana.example.com/d/x"}]},
                        {"id": "upd-3", "ticket": "CS-UNKNOWN", "severity": "S3"},
                        {"id": "upd-4", "ticket": TICKET, "severity": "S7"})
    head = git(sample_repo, "rev-parse", "HEAD")
    result = run_sync(sample_repo, "--inbox", str(inbox))
    assert result.exit_code == 1
    assert "evidence[2].title: expected a text in every language (ko, ja, en), missing: ko, ja" in result.output
    assert "no incident lists the ticket 'CS-UNKNOWN'" in result.output
    assert f"{inbox}:3: upd-4: refused severity: Input should be 'S1', 'S2', 'S3' or 'S4'" in result.output
    assert git(sample_repo, "rev-parse", "HEAD") == head
    assert git(sample_repo, "status", "--porcelain", "--", "incidents") == ""


def test_outbox_events_are_posted_signed_to_a_webhook_once(sample_repo, receiver):
    result = run_sync(sample_repo, "--webhook", receiver.url)
    assert result.exit_code == 0, result.output
    assert [e["ticket"] for e in receiver.accepted] == ["CS-20251002-0042", "CS-20251015-0107"]
    again = run_sync(sample_repo, "--webhook", receiver.url)
    assert "0 posted" in again.output and receiver.requests == 2


def test_sync_to_a_webhook_without_a_secret_is_refused_with_the_message_of_notify(sample_repo, receiver):
    result = CliRunner().invoke(main, ["sync", "--root", str(sample_repo), "--webhook", receiver.url], env={})
    notified = CliRunner().invoke(main, ["notify", "--root", str(sample_repo), KR_ID, "--tenants",
                                         str(write_tenants_with_webhook(sample_repo, receiver.url))], env={})
    message = "no HMAC secret: set $STATUSGEN_WEBHOOK_SECRET (statusgen never sends unsigned webhooks)"
    assert result.exit_code == 1 and message in result.output
    assert notified.exit_code == 1 and message in notified.output
    assert receiver.requests == 0 and not (sample_repo / OUTBOX).exists()


def write_tenants_with_webhook(root: Path, url: str) -> Path:
    path = root / "tenants-webhook.yaml"
    path.write_text(json.dumps({"tenants": [{"id": "acme-kr", "name": "ACME", "language": "ko", "plan": "standard",
                                             "channels": {"webhooks": [{"url": url}]}}]}), encoding="utf-8")
    return path


def test_an_update_for_a_ticket_not_linked_yet_stays_pending_and_applies_once_linked(api):
    inbox = write_inbox(api.root, {"id": "upd-9", "ticket": "CS-LATER", "severity": "S1"})
    first = run_sync(api.root, "--inbox", str(inbox))
    assert first.exit_code == 1
    assert f"pending {inbox}:1: upd-9: no incident lists the ticket 'CS-LATER' yet; retried on the next sync" \
        in first.output
    with api.client(api.writer) as client:
        client.patch(f"/v1/status/{KR_ID}", json={"tickets": ["CS-LATER"]}).raise_for_status()
    second = run_sync(api.root, "--inbox", str(inbox))
    assert second.exit_code == 0, second.output
    assert f"applied {inbox}:1: CS-LATER -> {KR_ID} (severity)" in second.output
    assert "severity: S1\n" in (api.root / f"incidents/2025/{KR_ID}.yaml").read_text(encoding="utf-8")
    third = run_sync(api.root, "--inbox", str(inbox))
    assert third.exit_code == 0 and "0 ticket update(s) applied, 0 pending" in third.output


def test_a_valid_severity_applies_although_another_field_is_refused_which_is_named(sample_repo):
    inbox = write_inbox(sample_repo, {"id": "upd-5", "ticket": TICKET, "severity": "S1",
                                      "evidence": [{"title": {"en": "Dashboard"}, "url": "https://grafana.example.com/d/x"}]})
    head = git(sample_repo, "rev-parse", "HEAD").strip()
    result = run_sync(sample_repo, "--inbox", str(inbox))
    assert result.exit_code == 1
    assert f"applied {inbox}:1: {TICKET} -> {KR_ID} (severity)" in result.output
    assert f"pending {inbox}:1: upd-5: refused evidence: " in result.output
    assert "evidence[2].title: expected a text in every language (ko, ja, en), missing: ko, ja" in result.output
    assert git(sample_repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    text = (sample_repo / f"incidents/2025/{KR_ID}.yaml").read_text(encoding="utf-8")
    assert "severity: S1\n" in text and "grafana.example.com/d/x" not in text
    # Reported again on the next run, until discarded; the severity is not applied a second time.
    again = run_sync(sample_repo, "--inbox", str(inbox))
    assert again.exit_code == 1 and "upd-5: refused evidence" in again.output and "0 ticket update(s) applied" in again.output
    discarded = run_sync(sample_repo, "--inbox", str(inbox), "--discard", "upd-5")
    assert discarded.exit_code == 0, discarded.output
    assert "discarded upd-5" in discarded.output and "0 pending" in discarded.output
    assert git(sample_repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"


def test_raising_an_incident_to_s1_through_the_api_makes_it_read_critical(api):
    with api.client(api.writer) as client:
        raised = client.patch(f"/v1/status/{KR_ID}", json={"severity": "S1"})
        chosen = client.patch(f"/v1/status/{KR_ID}", json={"severity": "S2", "impact": "minor"})
    assert raised.json()["impact"] == "critical"
    assert chosen.json()["impact"] == "minor"  # an impact given with the severity is kept
