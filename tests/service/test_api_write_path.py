"""The API's write path at speed: in-process commits, the content watch, the deferred git index, the outbox.

Each write must cost the same at any size of history (issue 12), without giving up what a hand-made commit
guarantees: commits on top of whatever HEAD is, a clean `git status`, files changed by others seen at once.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import yaml
from hypothesis import given, settings, strategies as st

from api_support import api  # noqa: F401 - a fixture
from conftest import git
from generator.service.api.store import SCHEMA_LINE, Author, IncidentStore, incident_yaml
from generator.service.api.watch import ContentWatch
from generator.content.model import Impact, Incident
from generator.service.ticketsync import OUTBOX

SAMPLE_ID = "2025-10-02-kr-ingest-latency"
SAMPLE_FILE = f"incidents/2025/{SAMPLE_ID}.yaml"
JP_FILE = "incidents/2025/2025-10-15-jp-search-false-positive.yaml"
TEXT = {"ko": "추가 안내", "ja": "追加のお知らせ", "en": "Follow-up"}
UPDATE = {"update": {"at": "2025-10-02T11:40:00+09:00", "status": "resolved", "text": TEXT}}
MAINTENANCE_ID = "2025-10-25-jp-search-upgrade"
NEW_INCIDENT = {
    "region": "JP", "severity": "S2", "impact": "major",
    "title": {"ko": "[JP] 장애: API 지연", "ja": "[JP] 障害: API 遅延", "en": "[JP] Incident: API latency"},
    "components": [{"id": "jp-api", "status": "degraded_performance"}],
    "detected_at": "2025-11-03T09:02:00+09:00", "tickets": ["CS-20251103-0009"],
    "update": {"at": "2025-11-03T09:05:00+09:00", "status": "investigating", "text": TEXT},
}


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def test_a_commit_made_by_hand_between_two_api_writes_is_kept_and_staged_work_is_not_committed(api):
    with api.client(api.writer) as client:
        client.patch(f"/v1/status/{SAMPLE_ID}", json=UPDATE).raise_for_status()
    # An engineer commits another incident by hand, and leaves a third change staged.
    jp = api.root / JP_FILE
    jp.write_text(jp.read_text(encoding="utf-8").replace("impact: minor", "impact: critical"), encoding="utf-8")
    git(api.root, "commit", "-q", "-am", "by hand")
    by_hand = head(api.root)
    staged = api.root / "status.yaml"
    staged.write_text(staged.read_text(encoding="utf-8") + "\n# staged, not committed\n", encoding="utf-8")
    git(api.root, "add", "status.yaml")

    with api.client(api.writer) as client:
        response = client.patch(f"/v1/status/{SAMPLE_ID}", json={"severity": "S1"})
    assert response.status_code == 200, response.text
    assert git(api.root, "rev-parse", "HEAD^").strip() == by_hand
    assert git(api.root, "show", "--name-only", "--format=", "HEAD").split() == [SAMPLE_FILE]
    assert "impact: critical" in git(api.root, "show", f"HEAD:{JP_FILE}")
    assert "# staged, not committed" not in git(api.root, "show", "HEAD:status.yaml")
    assert git(api.root, "status", "--porcelain") == "M  status.yaml\n"  # still staged, nothing else differs
    assert git(api.root, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B").strip() == (
        f"Jiyeon Park <jiyeon@example.com>|SRE on call <sre@example.com>|api: {SAMPLE_ID}: severity=S1")
    git(api.root, "fsck", "--no-dangling")


def test_files_in_a_folder_made_after_start_are_seen_and_a_folder_moved_away_is_noticed(api):
    # A folder that did not exist when the server started, holding an incident with the id the client wants.
    later = api.root / "incidents" / "2031"
    later.mkdir()
    hand = yaml.safe_load((api.root / SAMPLE_FILE).read_text(encoding="utf-8"))
    new_id = "2025-11-03-jp-api-latency"
    (later / f"{new_id}.yaml").write_text(
        (api.root / SAMPLE_FILE).read_text(encoding="utf-8").replace(hand["id"], new_id), encoding="utf-8")
    with api.client(api.writer) as client:
        taken = client.post("/v1/status/incidents", json={**NEW_INCIDENT, "id": new_id})
    assert taken.status_code == 409 and f"incidents/2031/{new_id}.yaml" in taken.json()["detail"], taken.text
    shutil.rmtree(later)

    # The maintenance folder moved out of the repository: its id is free again.
    with api.client(api.writer) as client:
        assert client.post("/v1/status/incidents", json={**NEW_INCIDENT, "id": MAINTENANCE_ID}).status_code == 409
        shutil.move(api.root / "maintenance", api.root.parent / "maintenance-elsewhere")
        git(api.root, "add", "-A")
        git(api.root, "commit", "-q", "-m", "maintenance moved out")
        response = client.post("/v1/status/incidents", json={**NEW_INCIDENT, "id": MAINTENANCE_ID})
    assert response.status_code == 201, response.text
    assert git(api.root, "status", "--porcelain") == ""


def test_a_file_changed_in_place_by_hand_is_what_the_next_write_builds_on(api):
    # An engineer edits the incident in the work tree (no commit): the API's next write starts from that text.
    file = api.root / SAMPLE_FILE
    file.write_text(file.read_text(encoding="utf-8").replace("impact: major", "impact: critical"), encoding="utf-8")
    with api.client(api.writer) as client:
        response = client.patch(f"/v1/status/{SAMPLE_ID}", json={"severity": "S1"})
    assert response.status_code == 200 and response.json()["impact"] == "critical", response.text


def test_an_edit_keeping_the_size_and_the_modification_time_is_seen_by_the_next_write(api):
    # The server's index trusts a file's stat stamp: an edit that keeps the size and puts the modification
    # time back still changes the stamp (its change time), so the next write reads the file again.
    import os

    file = api.root / SAMPLE_FILE
    with api.client(api.reader) as client:
        assert client.get(f"/v1/status/{SAMPLE_ID}").json()["impact"] == "major"
    before = file.stat()
    file.write_text(file.read_text(encoding="utf-8").replace("impact: major", "impact: minor"), encoding="utf-8")
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_size == before.st_size and file.stat().st_mtime_ns == before.st_mtime_ns
    with api.client(api.writer) as client:
        response = client.patch(f"/v1/status/{SAMPLE_ID}", json=UPDATE)
    assert response.status_code == 200 and response.json()["impact"] == "minor", response.text
    assert "impact: minor" in git(api.root, "show", f"HEAD:{SAMPLE_FILE}")


def test_the_git_index_a_killed_writer_left_behind_is_set_to_the_commit_on_start(sample_repo, caplog):
    # A write commits and its process dies before writing the git index: the index still holds the old text.
    old_blob = git(sample_repo, "rev-parse", f"HEAD:{SAMPLE_FILE}").strip()
    store = IncidentStore(sample_repo)
    store.index.refresh()
    with store.writing():
        _, incident = store.find(SAMPLE_ID)
        store.replace(sample_repo / SAMPLE_FILE, incident.model_copy(update={"impact": Impact.critical}),
                      Author("Jiyeon Park", "jiyeon@example.com"), "api: test")
    git(sample_repo, "update-index", "--cacheinfo", f"100644,{old_blob},{SAMPLE_FILE}")
    assert git(sample_repo, "status", "--porcelain") != ""

    with caplog.at_level(logging.WARNING, logger="statusgen.api"):
        IncidentStore(sample_repo)
    assert git(sample_repo, "status", "--porcelain") == ""
    assert "impact: critical" in git(sample_repo, "show", f"HEAD:{SAMPLE_FILE}")
    assert any("git index was behind the last commit for 1 file" in r.message for r in caplog.records)


def test_outbox_events_a_sync_appended_between_api_writes_are_not_repeated(api):
    from click.testing import CliRunner

    from generator.cli import main

    with api.client(api.writer) as client:
        client.post("/v1/status/incidents", json=NEW_INCIDENT).raise_for_status()
    assert CliRunner().invoke(main, ["sync", "--root", str(api.root)]).exit_code == 0  # appends the samples' events
    new_id = "2025-11-03-jp-api-latency"
    with api.client(api.writer) as client:
        client.patch(f"/v1/status/{new_id}", json={"update": {
            "at": "2025-11-03T09:30:00+09:00", "status": "identified", "text": TEXT}}).raise_for_status()
    rows = [json.loads(line) for line in (api.root / OUTBOX).read_text(encoding="utf-8").splitlines()]
    assert len({r["id"] for r in rows}) == len(rows)
    mine = [(r["event"], r["status"]) for r in rows if r["incident"] == new_id]
    assert mine == [("incident.opened", "investigating"), ("incident.changed", "identified")]
    again = CliRunner().invoke(main, ["sync", "--root", str(api.root)])
    assert "0 event(s) added" in again.output, again.output


def test_the_content_watch_names_what_changed_and_starts_over_when_it_cannot_tell(tmp_path):
    root = tmp_path / "repo"
    (root / "incidents" / "2025").mkdir(parents=True)
    (root / "incidents" / "2025" / "a.yaml").write_text("a", encoding="utf-8")
    watch = ContentWatch(root, ("incidents", "maintenance"))
    assert watch.changes() == set()

    (root / "incidents" / "2025" / "a.yaml").write_text("changed", encoding="utf-8")
    (root / "incidents" / "2025" / "b.yaml").write_text("new", encoding="utf-8")
    (root / "incidents" / "2026").mkdir()
    (root / "incidents" / "2026" / "c.yaml").write_text("in a new folder", encoding="utf-8")
    assert watch.changes() >= {"incidents/2025/a.yaml", "incidents/2025/b.yaml", "incidents/2026/c.yaml"}
    (root / "incidents" / "2026" / "d.yaml").write_text("watched now", encoding="utf-8")
    assert watch.changes() == {"incidents/2026/d.yaml"}

    (root / "maintenance").mkdir()  # a top folder that did not exist at start: walk, then watch it
    assert watch.changes() is None
    (root / "maintenance" / "m.yaml").write_text("m", encoding="utf-8")
    assert watch.changes() == {"maintenance/m.yaml"}

    shutil.rmtree(root / "incidents" / "2025")  # which files went with it is not in the events: walk
    assert watch.changes() is None
    (root / "incidents" / "2026" / "c.yaml").unlink()
    assert watch.changes() == {"incidents/2026/c.yaml"}
    watch.close()


TEXTS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(
    ["\n", " ", "'", '"', ":", "#", "-", "가", "\t", "|", ">"]), min_size=1, max_size=40).filter(str.strip)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXTS, TEXTS, TEXTS), min_size=1, max_size=4), TEXTS)
def test_an_incident_file_written_from_remembered_updates_is_the_whole_dump(texts, summary):
    # `incident_yaml` dumps each update once and reuses it: the file must be exactly the dump of the whole.
    from generator.service.api.store import _dump

    updates = [{"at": f"2025-10-02T1{n}:00:00+09:00", "status": "identified",
                "text": {"ko": ko, "ja": ja, "en": en}} for n, (ko, ja, en) in enumerate(texts)]
    incident = Incident.model_validate({
        "id": "2025-10-02-kr-x", "region": "KR", "severity": "S2", "impact": "major",
        "title": {"ko": "제목", "ja": "件名", "en": "Title"}, "summary": {"ko": summary, "ja": summary, "en": summary},
        "components": [{"id": "kr-ingest", "status": "degraded_performance"}],
        "detected_at": "2025-10-02T09:00:00+09:00", "updates": updates})
    whole = incident.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"schema_"})
    assert incident_yaml(incident) == SCHEMA_LINE + _dump(whole)
    assert incident_yaml(incident) == SCHEMA_LINE + _dump(whole)  # the second time from remembered updates
