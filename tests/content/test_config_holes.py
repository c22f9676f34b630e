"""Configuration and naming holes are `path:line: field` errors at check time, before build or sla can trip on
them (issue 11, item 7)."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.content.load import LoadFailed, id_in_use, load_content, load_repository

SAMPLE = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
MAINTENANCE = "maintenance/2025/2025-10-25-jp-search-upgrade.yaml"
NOW = "2025-10-26T12:00:00+09:00"


def problems(repo: Path) -> list[str]:
    with pytest.raises(LoadFailed) as failed:
        load_repository(repo)
    return [str(p) for p in failed.value.problems]


def line_of(file: Path, needle: str) -> int:
    return next(n for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def drop_s4_policy(repo: Path) -> None:
    config = repo / "status.yaml"
    text = config.read_text(encoding="utf-8")
    start = text.index("    S4:\n")
    end = text.index("  ola:\n")
    config.write_text(text[:start] + text[end:], encoding="utf-8")


def test_a_severity_without_sla_policy_is_a_check_error(sample_repo):
    drop_s4_policy(sample_repo)
    line = line_of(sample_repo / "status.yaml", "  policies:")
    assert problems(sample_repo) == [
        f"status.yaml:{line}: sla.policies: expected a policy for every severity (S1, S2, S3, S4), missing: S4"]


def test_check_and_build_report_the_missing_policy_instead_of_crashing(sample_repo, tmp_path):
    drop_s4_policy(sample_repo)
    for command in (["check", "--now", NOW], ["build", "--now", NOW, "--out", str(tmp_path / "public")]):
        result = CliRunner().invoke(main, [*command, "--root", str(sample_repo)])
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "sla.policies: expected a policy for every severity" in result.output


def test_an_incident_id_differing_from_its_file_name_is_an_error(sample_repo):
    renamed = "incidents/2025/2025-10-02-kr-ingest-delay.yaml"
    (sample_repo / SAMPLE).rename(sample_repo / renamed)
    line = line_of(sample_repo / renamed, "id: 2025-10-02-kr-ingest-latency")
    found = problems(sample_repo)
    assert (f"{renamed}:{line}: id: expected the file name's id '2025-10-02-kr-ingest-delay', got "
            "'2025-10-02-kr-ingest-latency'; rename the file or change the id") in found


def test_a_maintenance_id_differing_from_its_file_name_is_an_error(sample_repo):
    file = sample_repo / MAINTENANCE
    file.write_text(file.read_text(encoding="utf-8").replace("id: 2025-10-25-jp-search-upgrade",
                                                             "id: 2025-10-26-jp-search-upgrade"), encoding="utf-8")
    line = line_of(file, "id: 2025-10-26")
    assert problems(sample_repo) == [
        f"{MAINTENANCE}:{line}: id: expected the file name's id '2025-10-25-jp-search-upgrade', got "
        "'2025-10-26-jp-search-upgrade'; rename the file or change the id"]


def test_an_incident_sharing_a_maintenance_id_is_an_error(sample_repo):
    clash = "incidents/2025/2025-10-25-jp-search-upgrade.yaml"
    text = (sample_repo / SAMPLE).read_text(encoding="utf-8")
    (sample_repo / clash).write_text(text.replace("id: 2025-10-02-kr-ingest-latency",
                                                  "id: 2025-10-25-jp-search-upgrade"), encoding="utf-8")
    found = problems(sample_repo)
    assert len(found) == 1
    assert found[0].endswith("id: expected a unique id, got '2025-10-25-jp-search-upgrade' which "
                             f"{clash if found[0].startswith('maintenance') else MAINTENANCE} already uses")


def test_writers_can_ask_whether_an_id_is_taken_by_any_kind(sample_repo):
    loaded = load_content(sample_repo)
    assert id_in_use(loaded, "2025-10-25-jp-search-upgrade") == MAINTENANCE
    assert id_in_use(loaded, "2025-10-02-kr-ingest-latency") == SAMPLE
    assert id_in_use(loaded, "2025-11-01-new") is None
