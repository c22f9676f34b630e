"""The Statuspage v2-compatible JSON API: every document valid against the schema written from Statuspage's
documentation, region groups, stable ids, the indicator mapping, and a real Statuspage client reading it."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from conftest import PROJECT, SAMPLE_NOW
from generator.build import build_site
from generator.content.load import load_content
from generator.render.api import DOCUMENTS, api_documents

SCHEMA = json.loads((PROJECT / "schemas/statuspage-v2/statuspage-v2.schema.json").read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA))
PREFIXES = {"ko": "", "ja": "ja/", "en": "en/"}

# An S1 still open at SAMPLE_NOW: the KR API is down.
OPEN_S1 = """\
id: 2025-10-26-kr-api-outage
region: KR
severity: S1
impact: critical
title:
  ko: "[KR] 장애: API 응답 실패"
  ja: "[KR] 障害: API が応答しません"
  en: "[KR] Incident: API requests failing"
components:
  - id: kr-api
    status: major_outage
  - id: kr-console
    status: partial_outage
detected_at: 2025-10-26T11:40:00+09:00
owner:
  name: sre-oncall-kr
  assigned_at: 2025-10-26T11:45:00+09:00
updates:
  - at: 2025-10-26T11:44:00+09:00
    status: investigating
    text:
      ko: KR 리전 API 요청이 실패하고 있습니다. 즉시 완화 조치를 적용 중이며 30분마다 진행 상황을 공유하겠습니다.
      ja: KR リージョンで API リクエストが失敗しています。緩和策を適用中で、30 分ごとに進捗をお知らせします。
      en: API requests in the KR region are failing. Mitigation is being applied; we will share progress every 30 minutes.
    next_update_at: 2025-10-26T12:14:00+09:00
"""


def validator(document: str) -> Draft202012Validator:
    pointer = document.replace("~", "~0").replace("/", "~1")
    return Draft202012Validator({"$ref": f"{SCHEMA['$id']}#/$defs/{pointer}"}, registry=REGISTRY,
                                format_checker=FormatChecker())


def read(site: Path, lang: str, document: str) -> dict:
    return json.loads((site / PREFIXES[lang] / "api/v2" / document).read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("lang", PREFIXES)
@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_document_in_every_language_is_valid_statuspage_v2(built_sample, lang, document):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator(document).iter_errors(read(built_sample, lang, document))]
    assert errors == []


def test_the_schema_rejects_what_statuspage_would_not_send():
    document = {"page": {"id": "x", "name": "x", "url": "https://x/", "time_zone": "UTC",
                         "updated_at": "2025-10-26T12:00:00+09:00"},
                "status": {"indicator": "maintenance", "description": "x"}}
    assert not validator("status.json").is_valid(document)
    document["status"]["indicator"] = "none"
    assert validator("status.json").is_valid(document)


def test_the_sample_reads_all_operational_in_each_language(built_sample):
    expected = {"ko": "모든 시스템이 정상 운영 중입니다", "ja": "すべてのシステムは正常に稼働しています",
                "en": "All systems operational"}
    for lang, description in expected.items():
        summary = read(built_sample, lang, "summary.json")
        assert summary["status"] == {"indicator": "none", "description": description}
        assert summary["incidents"] == []
        assert summary["page"]["url"] == "https://status.example.com/" + PREFIXES[lang]
        assert {c["status"] for c in summary["components"]} == {"operational"}


def test_regions_are_component_groups_that_list_their_members(built_sample):
    components = read(built_sample, "en", "components.json")["components"]
    groups = {c["id"]: c for c in components if c["group"]}
    assert {g: (c["name"], c["components"][:2]) for g, c in groups.items()} == {
        "region-kr": ("Korea", ["kr-console", "kr-api"]),
        "region-jp": ("Japan", ["jp-console", "jp-api"]),
    }
    members = [c for c in components if not c["group"]]
    assert len(members) == 10
    for member in members:
        assert member["id"] in groups[member["group_id"]]["components"]
    ingest = next(c for c in members if c["id"] == "kr-ingest")
    assert (ingest["name"], ingest["position"]) == ("Ingest", 3)


def test_the_worked_example_is_a_resolved_incident_with_its_updates_newest_first(built_sample):
    incidents = read(built_sample, "en", "incidents.json")["incidents"]
    example = next(i for i in incidents if i["id"] == "2025-10-02-kr-ingest-latency")
    assert (example["status"], example["impact"]) == ("resolved", "major")
    assert example["started_at"] == "2025-10-02T10:14:00+09:00"
    assert example["created_at"] == "2025-10-02T10:20:00+09:00"  # first public post
    assert example["monitoring_at"] == "2025-10-02T10:55:00+09:00"
    assert example["resolved_at"] == "2025-10-02T11:26:00+09:00"
    assert example["shortlink"] == "https://status.example.com/en/incidents/2025-10-02-kr-ingest-latency/"
    assert [u["status"] for u in example["incident_updates"]] == [
        "resolved", "monitoring", "monitoring", "identified", "investigating"]
    first = example["incident_updates"][-1]
    assert first["affected_components"] == [{"code": "kr-ingest", "name": "Korea Ingest", "old_status": "operational",
                                             "new_status": "degraded_performance"}]
    assert first["body"].startswith("Since 2025-10-02 10:14 KST")
    assert [c["id"] for c in example["components"]] == ["kr-ingest"]


def test_ids_are_the_same_across_languages_and_builds(sample_repo):
    repository = load_content(sample_repo).repository

    def ids(document: dict) -> list[str]:
        found = []
        for item in document.get("incidents", []) + document.get("scheduled_maintenances", []):
            found += [item["id"]] + [u["id"] for u in item["incident_updates"]]
        return found + [c["id"] for c in document.get("components", [])]

    ko = api_documents(repository, SAMPLE_NOW, "ko")
    en = api_documents(repository, SAMPLE_NOW, "en")
    later = api_documents(repository, SAMPLE_NOW + timedelta(days=3), "ko")
    for name in ("incidents.json", "scheduled-maintenances.json", "components.json"):
        assert ids(ko[name]) == ids(en[name]) == ids(later[name])
        assert len(set(ids(ko[name]))) == len(ids(ko[name]))
    assert ko["status.json"]["page"]["id"] == en["status.json"]["page"]["id"]


@pytest.mark.parametrize("now,status,where", [
    ("2025-10-20T12:00:00+09:00", "scheduled", "upcoming"),
    ("2025-10-25T02:30:00+09:00", "in_progress", "active"),
    ("2025-10-26T12:00:00+09:00", "completed", None),
])
def test_maintenance_status_follows_statuspage_through_the_window(sample_repo, now, status, where):
    repository = load_content(sample_repo).repository
    documents = api_documents(repository, datetime.fromisoformat(now), "en")
    item = documents["scheduled-maintenances.json"]["scheduled_maintenances"][0]
    assert (item["id"], item["status"], item["impact"]) == ("2025-10-25-jp-search-upgrade", status, "maintenance")
    assert (item["scheduled_for"], item["scheduled_until"]) == ("2025-10-25T02:00:00+09:00", "2025-10-25T04:00:00+09:00")
    for name in ("upcoming", "active"):
        listed = [m["id"] for m in documents[f"scheduled-maintenances/{name}.json"]["scheduled_maintenances"]]
        assert listed == (["2025-10-25-jp-search-upgrade"] if name == where else [])
    summary = documents["summary.json"]
    assert [m["id"] for m in summary["scheduled_maintenances"]] == (["2025-10-25-jp-search-upgrade"] if where else [])
    assert validator("summary.json").is_valid(summary)
    if status == "in_progress":
        search = next(c for c in summary["components"] if c["id"] == "jp-search")
        assert search["status"] == "under_maintenance"
        assert summary["status"] == {"indicator": "none", "description": "Service under maintenance"}


def test_incidents_json_holds_the_latest_50(sample_repo):
    repository = load_content(sample_repo).repository
    base = repository.incidents[0]
    copies = tuple(base.model_copy(update={
        "id": f"copy-{n:03d}", "detected_at": base.detected_at - timedelta(days=n),
        "updates": [u.model_copy(update={"at": u.at - timedelta(days=n)}) for u in base.updates],
        "resolved_at": base.resolved_at - timedelta(days=n)}) for n in range(1, 61))
    many = repository.model_copy(update={"incidents": repository.incidents + copies})
    incidents = api_documents(many, SAMPLE_NOW, "en")["incidents.json"]["incidents"]
    assert len(incidents) == 50
    assert [i["id"] for i in incidents[:3]] == ["2025-10-15-jp-search-false-positive", "2025-10-02-kr-ingest-latency",
                                               "copy-001"]


@pytest.fixture(scope="module")
def open_s1_site(tmp_path_factory) -> Path:
    """The sample plus an unresolved S1, built with `build_site` as `statusgen build` does."""
    from conftest import copy_sample, init_git

    repo = copy_sample(tmp_path_factory.mktemp("s1") / "status")
    (repo / "incidents/2025/2025-10-26-kr-api-outage.yaml").write_text(OPEN_S1, encoding="utf-8")
    init_git(repo)
    return build_site(repo, repo / "public", SAMPLE_NOW).out


def test_an_unresolved_s1_makes_the_indicator_critical_and_its_component_major_outage(open_s1_site):
    # indicator = the highest impact among unresolved incidents; the S1 file says impact: critical
    summary = read(open_s1_site, "en", "summary.json")
    assert summary["status"] == {"indicator": "critical", "description": "Major system outage"}
    statuses = {c["id"]: c["status"] for c in summary["components"]}
    assert statuses["kr-api"] == "major_outage"
    assert statuses["kr-console"] == "partial_outage"
    assert statuses["region-kr"] == "major_outage"  # a group shows its worst member
    assert statuses["jp-api"] == "operational"
    assert [i["id"] for i in summary["incidents"]] == ["2025-10-26-kr-api-outage"]
    assert summary["incidents"][0]["status"] == "investigating"
    assert summary["incidents"][0]["resolved_at"] is None
    unresolved = read(open_s1_site, "ja", "incidents/unresolved.json")["incidents"]
    assert [(i["id"], i["name"]) for i in unresolved] == [("2025-10-26-kr-api-outage", "[KR] 障害: API が応答しません")]
    for document in DOCUMENTS:
        assert validator(document).is_valid(read(open_s1_site, "ko", document)), document
    badge = json.loads((open_s1_site / "en/badge/kr-api.json").read_text(encoding="utf-8"))
    assert badge == {"schemaVersion": 1, "label": "KR API", "message": "Major outage", "color": "red"}


def test_a_statuspage_client_reads_our_summary_over_http(open_s1_site, serve, tmp_path, monkeypatch):
    """statuspage-prometheus-exporter polls Atlassian Statuspage summary.json; point it at ours."""
    services = tmp_path / "services.json"
    base = serve(open_s1_site)
    services.write_text(json.dumps({"dbv360": {"name": "DBV360", "url": base + "en/api/v2/summary.json"}}))
    monkeypatch.setenv("SERVICES_JSON_PATH", str(services))
    monkeypatch.chdir(tmp_path)  # its response cache goes to ./cache
    checker = pytest.importorskip("statuspage_prometheus_exporter.service_checker")
    result = checker.check_status_page_service("dbv360", {"name": "DBV360", "url": base + "en/api/v2/summary.json"})
    assert result["success"] is True, result
    assert result["raw_status"] == "critical"
    assert [i["name"] for i in result["incident_metadata"]] == ["[KR] Incident: API requests failing"]
    assert result["incident_metadata"][0]["affected_components"] == ["API", "Console"]
    # members are named by service, as on Statuspage pages with groups: KR's and JP's "API" share a name
    pairs = [(c["name"], c["status"]) for c in result["component_metadata"]]
    assert ("Korea", "major_outage") in pairs and ("Japan", "operational") in pairs
    assert ("API", "major_outage") in pairs and ("Console", "partial_outage") in pairs
