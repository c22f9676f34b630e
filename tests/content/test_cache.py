"""The content-addressed cache (`.statusgen-cache/`): warm runs give the cold run's answer, damaged or
outdated entries are never served, and two processes can fill it at once."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from conftest import SAMPLE_NOW
from generator.check import check_repository
from generator.content.cache import CACHE_DIR, Cache, digest

INCIDENT = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
SUMMARY_EN = "  en: In the KR region the delay from ingest to incident creation (p95)"


def leak_a_host(repo: Path, host: str = "kafka-kr-7.prod") -> None:
    """Put an internal host name (refused by the guardrail of the sample's status.yaml) into a summary."""
    file = repo / INCIDENT
    file.write_text(file.read_text(encoding="utf-8").replace(SUMMARY_EN, f"  en: Broker {host} was slow. {SUMMARY_EN[6:]}"),
                    encoding="utf-8")


def errors(problems) -> list[str]:
    return [str(p) for p in problems if p.level == "error"]


def entries(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / CACHE_DIR).rglob("*") if p.is_file())


def test_a_warm_check_reports_exactly_what_the_cold_check_reported(sample_repo):
    leak_a_host(sample_repo)
    cold = check_repository(sample_repo, SAMPLE_NOW)
    assert any("guardrail" in e and INCIDENT in e for e in errors(cold))
    assert entries(sample_repo), "the cold check filled the cache"
    cache = Cache.of(sample_repo)
    warm = check_repository(sample_repo, SAMPLE_NOW, cache=cache)
    assert [str(p) for p in warm] == [str(p) for p in cold]
    assert cache.hits >= 1 and cache.misses == 0


def test_a_corrupted_entry_is_detected_removed_and_rebuilt_never_served(sample_repo):
    leak_a_host(sample_repo)
    cold = [str(p) for p in check_repository(sample_repo, SAMPLE_NOW)]
    damaged = entries(sample_repo)
    for file in damaged:
        data = bytearray(file.read_bytes())
        data[-1] ^= 0xFF  # one flipped bit in the payload, the header (and its checksum) intact
        file.write_bytes(bytes(data))
    cache = Cache.of(sample_repo)
    again = [str(p) for p in check_repository(sample_repo, SAMPLE_NOW, cache=cache)]
    assert again == cold
    assert cache.rejected == len(damaged)
    assert cache.hits == 0
    # the rebuilt entries are sound: the next run is served from them
    third = Cache.of(sample_repo)
    assert [str(p) for p in check_repository(sample_repo, SAMPLE_NOW, cache=third)] == cold
    assert third.rejected == 0 and third.hits >= 1


def test_an_entry_swapped_for_another_valid_pickle_is_refused(sample_repo):
    """An entry whose payload was replaced (here: by "no problems") no longer matches its checksum."""
    leak_a_host(sample_repo)
    cold = [str(p) for p in check_repository(sample_repo, SAMPLE_NOW)]
    for file in entries(sample_repo):
        header = file.read_bytes().split(b"\n", 1)[0]
        file.write_bytes(header + b"\n" + pickle.dumps(([], [])))
    assert [str(p) for p in check_repository(sample_repo, SAMPLE_NOW)] == cold


def test_a_truncated_entry_is_a_miss():
    import tempfile

    cache = Cache(Path(tempfile.mkdtemp()))
    key = digest("some", "inputs")
    cache.put("load", key, {"value": 1})
    assert cache.get("load", key) == {"value": 1}
    file = cache.path("load", key)
    file.write_bytes(file.read_bytes()[:20])
    assert cache.get("load", key) is None
    assert not file.exists() and cache.rejected == 1


def test_an_edited_file_is_checked_again_not_served_from_the_cache(sample_repo):
    check_repository(sample_repo, SAMPLE_NOW)
    leak_a_host(sample_repo)
    assert any("guardrail" in e for e in errors(check_repository(sample_repo, SAMPLE_NOW)))


def test_a_changed_rule_in_status_yaml_rechecks_unchanged_files(sample_repo):
    """The guardrail settings live in status.yaml: the same incident file is judged again under new rules."""
    leak_a_host(sample_repo, host="broker-7.example")
    assert errors(check_repository(sample_repo, SAMPLE_NOW)) == []
    config = sample_repo / "status.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        '    - "kafka-kr-*"\n', '    - "kafka-kr-*"\n    - "broker-*.example"\n'), encoding="utf-8")
    assert any("broker-7.example" not in e and "guardrail" in e and INCIDENT in e
               for e in errors(check_repository(sample_repo, SAMPLE_NOW)))


def test_time_dependent_checks_still_run_on_a_warm_cache(sample_repo):
    """A warm check reuses what does not depend on the time, never the time-dependent warnings."""
    file = sample_repo / INCIDENT  # the worked example as it stood before 11:26: open, 11:50 promised
    text = file.read_text(encoding="utf-8").replace("resolved_at: 2025-10-02T11:26:00+09:00\n", "")
    file.write_text(text[: text.index("  - at: 2025-10-02T11:26:00+09:00")], encoding="utf-8")
    far_off = check_repository(sample_repo, datetime.fromisoformat("2025-10-02T11:30:00+09:00"))
    assert not any(p.level == "warning" for p in far_off)
    later = datetime.fromisoformat("2025-10-02T12:05:00+09:00")
    cache = Cache.of(sample_repo)
    warm = check_repository(sample_repo, later, cache=cache)
    assert cache.hits >= 1
    assert any(p.level == "warning" and "15 min overdue" in p.message for p in warm)
    assert [str(p) for p in warm] == [str(p) for p in check_repository(sample_repo, later, cache=Cache.disabled())]


def test_two_processes_filling_the_cache_at_once_leave_only_sound_entries(sample_repo):
    leak_a_host(sample_repo)
    command = [sys.executable, "-c", "import sys; from generator.cli import main; sys.exit(main())",
               "check", "--root", str(sample_repo), "--now", SAMPLE_NOW.isoformat()]
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [1, 1]
    first, second = ([line for line in err.splitlines() if not line.startswith("check: ")] for _, err in outputs)
    assert first == second and any("guardrail" in line for line in first)
    cache = Cache.of(sample_repo)
    for file in entries(sample_repo):
        assert not file.name.endswith(".tmp"), f"a temporary file was left behind: {file}"
        assert cache.get(file.parent.parent.name, file.name) is not None, f"damaged entry: {file}"
    assert cache.rejected == 0
