"""The status API through a real HTTP client against a real server writing a real Git repository."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api_support import api  # noqa: F401 - a fixture
from conftest import SAMPLE_NOW, git
from generator.check import check_repository

SAMPLE_ID = "2025-10-02-kr-ingest-latency"

NEW_INCIDENT = {
    "region": "JP",
    "severity": "S1",
    "impact": "critical",
    "title": {"ko": "[JP] 장애: API 오류율 증가", "ja": "[JP] 障害: API エラー率の上昇", "en": "[JP] Incident: API error rate up"},
    "components": [{"id": "jp-api", "status": "major_outage"}],
    "detected_at": "2025-11-03T09:02:00+09:00",
    "tickets": ["CS-20251103-0001"],
    "update": {
        "at": "2025-11-03T09:05:00+09:00",
        "status": "investigating",
        "text": {"ko": "JP API 오류율이 상승했습니다. 조사 중입니다.", "ja": "JP API のエラー率が上昇しています。調査中です。",
                 "en": "The JP API error rate has risen. We are investigating."},
        "next_update_at": "2025-11-03T09:35:00+09:00",
    },
}
NEW_ID = "2025-11-03-jp-api-error-rate-up"


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def test_create_writes_one_file_in_the_sample_layout_and_one_commit_by_the_token_author(api):
    with api.client(api.writer) as client:
        response = client.post("/v1/status/incidents", json=NEW_INCIDENT)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/status/{NEW_ID}"
    body = response.json()
    assert body["id"] == NEW_ID and body["status"] == "investigating"
    assert body["path"] == f"incidents/2025/{NEW_ID}.yaml"
    text = (api.root / body["path"]).read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../schemas/incident.schema.json\n")
    assert "detected_at: 2025-11-03T09:02:00+09:00\n" in text and "  - id: jp-api\n" in text
    assert check_repository(api.root, SAMPLE_NOW) == []
    assert git(api.root, "log", "-1", "--format=%an <%ae>|%H").strip() == f"Jiyeon Park <jiyeon@example.com>|{body['commit']}"
    assert git(api.root, "show", "--name-only", "--format=", "HEAD").split() == [body["path"]]
    assert git(api.root, "status", "--porcelain") == ""


def test_create_from_a_macro_generates_the_three_languages_with_local_and_utc_times(api):
    request = {**NEW_INCIDENT, "update": {
        "at": "2025-11-03T09:05:00+09:00", "status": "investigating",
        "macro": {"name": "s1_first_notice", "variables": {
            "region": "JP", "metric_link": "https://grafana.example.com/d/jp-api-errors",
            "next_update": "2025-11-03T09:35:00+09:00"}}}}
    with api.client(api.writer) as client:
        response = client.post("/v1/status/incidents", json=request)
    assert response.status_code == 201, response.text
    text = response.json()["updates"][0]["text"]
    assert "CS-20251103-0001" in text["en"] and "Ticket ID" in text["en"]
    assert "09:35 JST (00:35 UTC)" in text["ja"] and "09:35 JST (00:35 UTC)" in text["ko"]
    assert set(text) == {"ko", "ja", "en"}


def test_a_macro_with_a_missing_variable_is_a_field_error(api):
    request = {**NEW_INCIDENT, "update": {"at": "2025-11-03T09:05:00+09:00", "status": "investigating",
                                          "macro": {"name": "s1_first_notice", "variables": {}}}}
    with api.client(api.writer) as client:
        response = client.post("/v1/status/incidents", json=request)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "update.macro"
    assert "metric_link" in response.json()["errors"][0]["message"]


def test_creating_an_existing_id_is_a_conflict(api):
    with api.client(api.writer) as client:
        response = client.post("/v1/status/incidents", json={**NEW_INCIDENT, "id": SAMPLE_ID})
    assert response.status_code == 409


def test_patch_appends_an_update_and_changes_only_the_given_fields_and_languages(api):
    with api.client(api.writer) as client:
        client.post("/v1/status/incidents", json=NEW_INCIDENT).raise_for_status()
        response = client.patch(f"/v1/status/{NEW_ID}", json={
            "severity": "S2",
            "title": {"en": "[JP] Incident: API errors"},
            "update": {"at": "2025-11-03T09:30:00+09:00", "status": "identified",
                       "text": {"ko": "원인을 확인했습니다.", "ja": "原因を特定しました。", "en": "We identified the cause."}},
        })
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["severity"] == "S2" and body["status"] == "identified" and len(body["updates"]) == 2
    assert body["title"] == {**NEW_INCIDENT["title"], "en": "[JP] Incident: API errors"}
    assert body["impact"] == "critical"
    assert git(api.root, "log", "-1", "--format=%s").strip() == f"api: {NEW_ID}: update (identified), severity=S2, title"


def test_patch_with_a_resolved_update_resolves_the_incident(api):
    with api.client(api.writer) as client:
        client.post("/v1/status/incidents", json=NEW_INCIDENT).raise_for_status()
        response = client.patch(f"/v1/status/{NEW_ID}", json={
            "components": [{"id": "jp-api", "status": "operational"}],
            "update": {"at": "2025-11-03T10:40:00+09:00", "status": "resolved",
                       "text": {"ko": "해결되었습니다.", "ja": "解決しました。", "en": "Resolved."}},
        })
        fetched = client.get(f"/v1/status/{NEW_ID}").json()
    assert response.status_code == 200, response.text
    assert fetched["resolved_at"] == "2025-11-03T10:40:00+09:00" and fetched["status"] == "resolved"
    assert check_repository(api.root, SAMPLE_NOW) == []


def test_list_and_get_return_the_incidents_in_the_repository(api):
    with api.client(api.reader) as client:
        listed = client.get("/v1/status/incidents").json()["incidents"]
        one = client.get(f"/v1/status/{SAMPLE_ID}").json()
        missing = client.get("/v1/status/no-such-incident")
    assert [i["id"] for i in listed] == ["2025-10-15-jp-search-false-positive", SAMPLE_ID]
    assert one["tickets"] == ["CS-20251002-0042"] and one["status"] == "resolved"
    assert missing.status_code == 404


def test_fifty_concurrent_patches_lose_no_update(api):
    before = commit_count(api.root)

    def patch(n: int) -> int:
        with api.client(api.writer) as client:
            return client.patch(f"/v1/status/{SAMPLE_ID}", json={"update": {
                "at": "2025-10-02T11:30:00+09:00", "status": "resolved",
                "text": {"ko": f"추가 안내 {n}", "ja": f"追加のお知らせ {n}", "en": f"Follow-up {n}"}}}).status_code

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(patch, range(50)))
    assert statuses == [200] * 50
    with api.client(api.reader) as client:
        updates = client.get(f"/v1/status/{SAMPLE_ID}").json()["updates"]
    assert len(updates) == 5 + 50
    assert sorted(u["text"]["en"] for u in updates[5:]) == sorted(f"Follow-up {n}" for n in range(50))
    assert commit_count(api.root) == before + 50
    assert git(api.root, "status", "--porcelain") == ""


PATCH_URL = f"/v1/status/{SAMPLE_ID}"
GOOD_TEXT = {"ko": "안내", "ja": "お知らせ", "en": "Notice"}


@pytest.mark.parametrize("method,url,body,status,field,message", [
    ("PATCH", PATCH_URL, b'{"severity": "S1",', 400, "", "invalid JSON"),
    ("PATCH", PATCH_URL, {"severty": "S1"}, 422, "severty", "did you mean 'severity'"),
    ("PATCH", PATCH_URL, {"update": {"at": "2025-10-02 11:40", "status": "monitoring", "text": GOOD_TEXT}},
     422, "update.at", "naive"),
    ("PATCH", PATCH_URL, {"update": {"at": "2025-10-02T11:40:00+09:00", "status": "resolved",
                                     "text": {"ko": "안내", "en": "Notice"}}},
     422, "updates[5].text", "missing: ja"),
    ("PATCH", PATCH_URL, {"update": {"at": "2025-10-02T09:00:00+09:00", "status": "resolved", "text": GOOD_TEXT}},
     422, "updates[5].at", "time order"),
    ("PATCH", PATCH_URL, {"components": [{"id": "kr-ingset", "status": "operational"}]},
     422, "components[0].id", "did you mean 'kr-ingest'"),
    ("PATCH", PATCH_URL, {"severity": "S9"}, 422, "severity", "expected one of"),
    ("POST", "/v1/status/incidents", {**NEW_INCIDENT, "detected_at": "2025-11-03T09:02:00"},
     422, "detected_at", "naive"),
    ("POST", "/v1/status/incidents", {**NEW_INCIDENT, "title": {"ko": "제목"}}, 422, "title", "missing: ja, en"),
    ("POST", "/v1/status/incidents", {**NEW_INCIDENT, "region": "US"}, 422, "region", "expected one of KR, JP"),
    ("POST", "/v1/status/incidents", {**NEW_INCIDENT, "colour": "red"}, 422, "colour", "unknown field"),
])
def test_a_bad_request_gets_field_errors_and_writes_nothing(api, method, url, body, status, field, message):
    before = head(api.root)
    with api.client(api.writer) as client:
        if isinstance(body, bytes):
            response = client.request(method, url, content=body, headers={"Content-Type": "application/json"})
        else:
            response = client.request(method, url, json=body)
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    assert head(api.root) == before
    assert git(api.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_no_token_or_an_unknown_token_gets_401(api):
    with api.client() as client:
        response = client.get("/v1/status/incidents")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    with api.client("sgt_not-a-real-token") as client:
        assert client.get("/v1/status/incidents").status_code == 401
        assert client.patch(PATCH_URL, json={"severity": "S1"}).status_code == 401


def test_a_read_only_token_cannot_write(api):
    before = head(api.root)
    with api.client(api.reader) as client:
        assert client.get("/v1/status/incidents").status_code == 200
        assert client.patch(PATCH_URL, json={"severity": "S1"}).status_code == 403
        assert client.post("/v1/status/incidents", json=NEW_INCIDENT).status_code == 403
    assert head(api.root) == before


def test_writes_are_signed_when_a_signing_key_is_configured(api, make_key):
    key = make_key("status-api@example.com")
    git(api.root, "config", "gpg.format", "ssh")
    git(api.root, "config", "user.signingkey", str(key.private))
    with api.client(api.writer) as client:
        response = client.patch(PATCH_URL, json={"severity": "S1"})
    assert response.status_code == 200, response.text
    raw = git(api.root, "cat-file", "commit", "HEAD")
    assert "-----BEGIN SSH SIGNATURE-----" in raw
    assert git(api.root, "log", "-1", "--format=%an <%ae>").strip() == "Jiyeon Park <jiyeon@example.com>"


def test_api_writes_emit_ticket_events_to_the_sync_outbox_at_once(api):
    import json

    from generator.service.ticketsync import OUTBOX

    with api.client(api.writer) as client:
        client.post("/v1/status/incidents", json=NEW_INCIDENT).raise_for_status()
        client.patch(f"/v1/status/{NEW_ID}", json={
            "severity": "S2",
            "update": {"at": "2025-11-03T09:30:00+09:00", "status": "identified",
                       "text": {"ko": "원인을 확인했습니다.", "ja": "原因を特定しました。", "en": "We identified the cause."}},
        }).raise_for_status()
    rows = [json.loads(line) for line in (api.root / OUTBOX).read_text(encoding="utf-8").splitlines()]
    mine = [r for r in rows if r["incident"] == NEW_ID]
    assert [(r["event"], r["ticket"], r["status"], r["severity"]) for r in mine] == [
        ("incident.opened", "CS-20251103-0001", "investigating", "S1"),
        ("incident.changed", "CS-20251103-0001", "identified", "S2"),
    ]
    assert mine[1]["changes"] == {"status": {"from": "investigating", "to": "identified"},
                                  "severity": {"from": "S1", "to": "S2"}}
    assert len({r["id"] for r in rows}) == len(rows)  # a later `statusgen sync` adds no duplicate
