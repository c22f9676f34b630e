"""Incremental `check`: after any edit, a check that reuses `.statusgen-cache/` (its stat index of verdicts)
reports exactly what a check without the cache reports, problems across files included, and an edit that
leaves a file's size and modification time as they were is still seen."""
from __future__ import annotations

import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import SAMPLE_NOW
from generator.check import ItemVerdict, _settings, check_repository, verdict_context
from generator.content.cache import Cache
from generator.content.index import FileIndex

INCIDENT = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
OTHER = "incidents/2025/2025-10-15-jp-search-false-positive.yaml"
RCA = "rca/2025-10-02-kr-ingest-latency"


def let_the_clock_pass(repo: Path) -> None:
    """Wait until a file written now gets a later time than every file of `repo` (a few milliseconds): the
    files are then old enough for the stat index to trust their stamps instead of reading them again."""
    newest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in repo.rglob("*") if p.is_file())
    probe = repo.parent / "clock-probe"
    while True:
        probe.write_bytes(b"now")
        if probe.stat().st_mtime_ns > newest:
            return
        time.sleep(0.005)


def warm_and_cold(repo: Path, now: datetime = SAMPLE_NOW) -> tuple[list[str], list[str]]:
    warm = check_repository(repo, now, cache=Cache.of(repo))
    cold = check_repository(repo, now, cache=Cache.disabled())
    return [str(p) for p in warm], [str(p) for p in cold]


def checked_and_settled(repo: Path, now: datetime = SAMPLE_NOW) -> None:
    """A check that fills the cache, with every file's stamp trusted by the next check."""
    let_the_clock_pass(repo)
    check_repository(repo, now)
    index = FileIndex.open(Cache.of(repo), "check", verdict_context(_settings(repo)))
    assert index.entries and all(stamp is not None for stamp, _, _ in index.entries.values())
    assert all(isinstance(verdict, ItemVerdict) for rel, (_, _, verdict) in index.entries.items()
               if rel.startswith(("incidents/", "maintenance/")))


def edit(repo: Path, rel: str, old: str, new: str) -> None:
    file = repo / rel
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def duplicate_the_id(repo: Path) -> None:
    (repo / "incidents/2024").mkdir()
    shutil.copy(repo / INCIDENT, repo / "incidents/2024" / Path(INCIDENT).name)


def remove_the_rca(repo: Path) -> None:
    for file in (repo / "rca").glob(Path(RCA).name + ".*.md"):
        file.unlink()


def remove_a_component(repo: Path) -> None:
    edit(repo, "status.yaml", "  - id: ingest\n", "  - id: ingestion\n")


def leak_a_host(repo: Path) -> None:
    edit(repo, INCIDENT, "  en: In the KR region", "  en: Broker kafka-kr-7.prod was slow. In the KR region")


def point_the_rca_elsewhere(repo: Path) -> None:
    edit(repo, RCA + ".en.md", "incident: 2025-10-02-kr-ingest-latency", "incident: 2025-10-03-kr-nothing")


def delete_the_incident_of_the_rca(repo: Path) -> None:
    (repo / INCIDENT).unlink()


def break_the_yaml(repo: Path) -> None:
    edit(repo, OTHER, "severity: S3", "severity: [S3")


def make_a_draft(repo: Path) -> None:
    edit(repo, OTHER, "severity: S3", "draft: true\nseverity: S3")


def forbid_a_word_in_the_glossary(repo: Path) -> None:
    edit(repo, "glossary.yaml", "en: [intake]", "en: [intake, results]")


EDITS = {
    "a duplicate id": (duplicate_the_id, "expected a unique id"),
    "a removed RCA": (remove_the_rca, "expected the id of an RCA in rca/"),
    "a component removed from status.yaml": (remove_a_component, "expected a known component"),
    "a leaked host": (leak_a_host, "guardrail: internal host"),
    "an RCA of an unknown incident": (point_the_rca_elsewhere, "expected the id of an incident in incidents/"),
    "the incident of an RCA deleted": (delete_the_incident_of_the_rca, "expected the id of an incident"),
    "a YAML syntax error": (break_the_yaml, "YAML syntax error"),
    "a draft": (make_a_draft, "checked but not published"),
    "a glossary change": (forbid_a_word_in_the_glossary, "results"),
}


@pytest.mark.parametrize("change", EDITS, ids=list(EDITS))
def test_a_warm_check_after_one_edit_reports_what_a_cold_check_reports(sample_repo, change):
    mutate, expected = EDITS[change]
    checked_and_settled(sample_repo)
    mutate(sample_repo)
    warm, cold = warm_and_cold(sample_repo)
    assert warm == cold
    assert any(expected in problem for problem in warm), warm
    # and once more, now that the edit is in the index
    assert warm_and_cold(sample_repo) == (cold, cold)


def test_undoing_an_edit_gives_the_first_answer_again(sample_repo):
    first = [str(p) for p in check_repository(sample_repo, SAMPLE_NOW)]
    original = (sample_repo / INCIDENT).read_bytes()
    checked_and_settled(sample_repo)
    leak_a_host(sample_repo)
    assert [str(p) for p in check_repository(sample_repo, SAMPLE_NOW)] != first
    (sample_repo / INCIDENT).write_bytes(original)
    assert [str(p) for p in check_repository(sample_repo, SAMPLE_NOW)] == first


def test_an_edit_keeping_the_size_and_the_modification_time_is_still_seen(sample_repo):
    file = sample_repo / OTHER
    checked_and_settled(sample_repo)
    before = os.stat(file)
    edit(sample_repo, OTHER, "severity: S3", "severity: S9")  # same length
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(file)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    warm, cold = warm_and_cold(sample_repo)
    assert warm == cold and any(f"{OTHER}:" in p and "severity" in p and "S9" in p for p in warm), warm


def test_time_dependent_checks_run_on_items_judged_from_the_index(sample_repo):
    """An open incident's verdict comes from the index, but its update-due warning is computed at each `now`."""
    edit(sample_repo, INCIDENT, "resolved_at: 2025-10-02T11:26:00+09:00\n", "")
    text = (sample_repo / INCIDENT).read_text(encoding="utf-8")
    (sample_repo / INCIDENT).write_text(text[: text.index("  - at: 2025-10-02T11:26:00+09:00")], encoding="utf-8")
    early = datetime.fromisoformat("2025-10-02T11:30:00+09:00")
    checked_and_settled(sample_repo, early)
    assert not any(p.level == "warning" for p in check_repository(sample_repo, early))
    later = datetime.fromisoformat("2025-10-02T12:05:00+09:00")
    warm, cold = warm_and_cold(sample_repo, later)
    assert warm == cold and any("15 min overdue" in p for p in warm)


def test_a_damaged_index_is_rebuilt_not_served(sample_repo):
    leak_a_host(sample_repo)
    checked_and_settled(sample_repo)
    cache = Cache.of(sample_repo)
    index = cache.path("index", FileIndex(cache, "check")._key())
    data = bytearray(index.read_bytes())
    data[-5] ^= 0x01
    index.write_bytes(bytes(data))
    damaged = Cache.of(sample_repo)
    warm = [str(p) for p in check_repository(sample_repo, SAMPLE_NOW, cache=damaged)]
    assert damaged.rejected == 1
    assert warm == [str(p) for p in check_repository(sample_repo, SAMPLE_NOW, cache=Cache.disabled())]
    assert any("guardrail" in p for p in warm)
    rebuilt = Cache.of(sample_repo)
    assert [str(p) for p in check_repository(sample_repo, SAMPLE_NOW, cache=rebuilt)] == warm
    assert rebuilt.rejected == 0
