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
    # A severity change without an impact moves the impact along (docs/formats.md): S1 critical -> S2 major.
    assert body["impact"] == "major"
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


# ---------------------------------------------------------------- issue 11 items 6-9, issue 12 item 3

BROKEN_FILE = "incidents/2025/2025-10-20-kr-broken.yaml"
LEAKY_TEXT = {"ko": "ingest-db-07.corp.example.com (10.12.0.7) 키 AKIAIOSFODNN7EXAMPLE 확인",
              "ja": "ingest-db-07.corp.example.com (10.12.0.7) キー AKIAIOSFODNN7EXAMPLE を確認",
              "en": "Checked ingest-db-07.corp.example.com (10.12.0.7) with key AKIAIOSFODNN7EXAMPLE"}


def break_a_file(root: Path) -> None:
    """An engineer's commit that does not load: a file other than the one the API writes."""
    (root / BROKEN_FILE).write_text("id: 2025-10-20-kr-broken\nregion: KR\nseverity: [\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a broken incident")


def test_a_broken_file_elsewhere_does_not_switch_off_the_guardrail(api):
    break_a_file(api.root)
    before = head(api.root)
    with api.client(api.writer) as client:
        response = client.patch(PATCH_URL, json={"update": {
            "at": "2025-10-02T11:40:00+09:00", "status": "resolved", "text": LEAKY_TEXT}})
    assert response.status_code == 422, response.text
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert "guardrail" in messages and "AKIAIOSFODNN7EXAMPLE" not in response.text
    assert head(api.root) == before and git(api.root, "status", "--porcelain") == ""


def test_a_clean_write_into_a_broken_repository_is_a_409_naming_the_broken_file(api):
    break_a_file(api.root)
    before = head(api.root)
    with api.client(api.writer) as client:
        patched = client.patch(PATCH_URL, json={"severity": "S1"})
        created = client.post("/v1/status/incidents", json=NEW_INCIDENT)
        missing = client.patch("/v1/status/2025-10-20-kr-broken", json={"severity": "S1"})
    for response in (patched, created, missing):
        assert response.status_code == 409, response.text
        assert BROKEN_FILE in response.json()["detail"]
        assert any(e["path"] == BROKEN_FILE and e["line"] >= 3 for e in response.json()["errors"])
    assert head(api.root) == before and git(api.root, "status", "--porcelain") == ""
    git(api.root, "rm", "-q", BROKEN_FILE)
    git(api.root, "commit", "-q", "-m", "fix")
    with api.client(api.writer) as client:
        assert client.patch(PATCH_URL, json={"severity": "S1"}).status_code == 200


def test_an_id_taken_by_a_maintenance_is_a_conflict_and_nothing_is_written(api):
    maintenance_id = "2025-10-25-jp-search-upgrade"
    before = head(api.root)
    with api.client(api.writer) as client:
        response = client.post("/v1/status/incidents", json={**NEW_INCIDENT, "id": maintenance_id})
    assert response.status_code == 409, response.text
    assert "maintenance/2025/2025-10-25-jp-search-upgrade.yaml" in response.json()["detail"]
    assert head(api.root) == before and check_repository(api.root, SAMPLE_NOW) == []


def test_the_write_path_sees_files_committed_after_the_server_started(api):
    # The index re-reads what changed on disk: a maintenance committed by an engineer a moment ago
    # takes its id at once.
    source = api.root / "maintenance/2025/2025-10-25-jp-search-upgrade.yaml"
    copy = source.with_name("2025-11-03-jp-api-error-rate-up.yaml")
    copy.write_text(source.read_text(encoding="utf-8").replace("2025-10-25-jp-search-upgrade", NEW_ID),
                    encoding="utf-8")
    git(api.root, "add", "-A")
    git(api.root, "commit", "-q", "-m", "maintenance")
    with api.client(api.writer) as client:
        response = client.post("/v1/status/incidents", json=NEW_INCIDENT)
    assert response.status_code == 409, response.text
    assert check_repository(api.root, SAMPLE_NOW) == []


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_a_very_long_or_odd_id_is_a_404(api, method):
    with api.client(api.writer) as client:
        for incident_id in ("a" * 5000, "x" * 300 + "*", "..", "%2e%2e"):
            response = client.request(method, f"/v1/status/{incident_id}",
                                      json={"severity": "S1"} if method == "PATCH" else None)
            assert response.status_code == 404, (incident_id[:20], response.text)


def test_a_body_that_is_not_json_is_a_415_that_does_not_echo_it(api):
    secret = "ingest-db-07.corp.example.com password=hunter2"
    before = head(api.root)
    with api.client(api.writer) as client:
        response = client.patch(PATCH_URL, content=secret.encode(), headers={"Content-Type": "text/plain"})
        form = client.post("/v1/status/incidents", data={"region": secret})
    assert response.status_code == 415 and form.status_code == 415
    assert "hunter2" not in response.text and "hunter2" not in form.text
    assert "application/json" in response.json()["detail"]
    assert head(api.root) == before


def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(api):
    from generator.service.api.app import MAX_BODY_BYTES

    huge = {"update": {"at": "2025-10-02T11:40:00+09:00", "status": "resolved",
                       "text": {**GOOD_TEXT, "en": "x" * (MAX_BODY_BYTES + 1)}}}
    before = head(api.root)
    with api.client(api.writer) as client:
        declared = client.patch(PATCH_URL, json=huge)

        def chunks():  # no Content-Length: the limit holds for a streamed body too
            yield b'{"summary": {"en": "'
            for _ in range(MAX_BODY_BYTES // 65536 + 2):
                yield b"y" * 65536
            yield b'"}}'
        streamed = client.patch(PATCH_URL, content=chunks(), headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and streamed.status_code == 413, (declared.text, streamed.text)
    assert "xxxx" not in declared.text
    assert head(api.root) == before


@pytest.mark.parametrize("load_errors", [False, True])
def test_the_write_path_reports_exactly_what_check_reports_for_the_file(sample_repo, load_errors):
    # One validation path: the errors the API computes for a file's new text (that file alone plus the
    # index of the others) are the errors `statusgen check` reports for the file once it is on disk:
    # the guardrail's findings, or (when the file does not load) the load errors.
    from generator.service.api.store import IncidentStore

    store = IncidentStore(sample_repo, now=lambda: SAMPLE_NOW)
    store.index.refresh()
    file = sample_repo / "incidents/2025" / f"{SAMPLE_ID}.yaml"
    text = file.read_text(encoding="utf-8")
    if load_errors:
        text = text.replace("severity: S2", "severity: S2\nrca: no-such-rca", 1)
        text = text.replace("kr-ingest\n", "kr-ingset\n", 1)
    text += ("  - at: 2025-10-02T11:40:00+09:00\n    status: resolved\n    text:\n"
             f"      ko: {LEAKY_TEXT['ko']}\n      ja: {LEAKY_TEXT['ja']}\n      en: {LEAKY_TEXT['en']}\n")
    api_problems, _ = store.problems_of(file, text)
    file.write_text(text, encoding="utf-8")
    rel = file.relative_to(sample_repo).as_posix()
    check_problems = [p for p in check_repository(sample_repo, SAMPLE_NOW) if p.path == rel and p.level == "error"]
    assert api_problems and sorted(map(str, api_problems)) == sorted(map(str, check_problems))
    assert any("guardrail" in p.message for p in api_problems) != load_errors
