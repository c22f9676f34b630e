"""Hostile or broken files fail fast with `path:line: field` errors: YAML bombs, deep nesting, huge files and
texts, YAML tags, bad UTF-8 and directories named like content files (issue 11, items 6 and 8)."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from generator.content.load import LoadFailed, load_repository

INCIDENTS = "incidents/2025"
SAMPLE = f"{INCIDENTS}/2025-10-02-kr-ingest-latency.yaml"
NOW = "2025-10-26T12:00:00+09:00"
# A bound, not a measurement: on an unprotected loader these inputs run for minutes and take gigabytes, so the
# check runs in a child process that is stopped long before that.
CHILD_SECONDS = 120
CHILD_BYTES = 1536 * 1024 * 1024


def _bounded():
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_BYTES, CHILD_BYTES))


def check(repo: Path) -> subprocess.CompletedProcess:
    """`statusgen check` in a child process with bounded memory and time."""
    return subprocess.run([sys.executable, "-m", "generator", "check", "--root", str(repo), "--now", NOW],
                          capture_output=True, text=True, timeout=CHILD_SECONDS, preexec_fn=_bounded)


def problems(repo: Path) -> list[str]:
    with pytest.raises(LoadFailed) as failed:
        load_repository(repo)
    return [str(p) for p in failed.value.problems]


def billion_laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_file_is_refused_at_its_first_alias(sample_repo):
    bomb = f"{INCIDENTS}/lol.yaml"
    (sample_repo / bomb).write_text(billion_laughs(), encoding="utf-8")
    assert len(billion_laughs()) < 1024
    result = check(sample_repo)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert (f"{bomb}:2: a1[0]: expected plain YAML values, got an alias (*name) of the value on line 1; anchors "
            "and aliases (&name, *name) are not accepted: write the value out") in result.stderr


def test_six_hundred_nested_lists_are_a_depth_error_not_a_crash(sample_repo):
    deep = f"{INCIDENTS}/deep.yaml"
    (sample_repo / deep).write_text("id: deep\nupdates: " + "[" * 600 + "]" * 600 + "\n", encoding="utf-8")
    result = check(sample_repo)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr + result.stderr
    assert f"{deep}:2: updates" in result.stderr
    assert "expected lists and mappings nested at most 16 deep (limits.max_depth), got deeper" in result.stderr


def test_a_fifty_megabyte_text_is_refused_by_the_file_size_cap(sample_repo):
    big = sample_repo / INCIDENTS / "big.yaml"
    text = (sample_repo / SAMPLE).read_text(encoding="utf-8")
    big.write_text(text.replace("id: 2025-10-02-kr-ingest-latency", "id: big")
                   + "summary:\n  en: \"" + "x" * (50 * 1024 * 1024) + "\"\n", encoding="utf-8")
    result = check(sample_repo)
    assert result.returncode == 1
    assert (f"{INCIDENTS}/big.yaml:1: expected a file of at most 1000000 bytes (limits.max_file_bytes in "
            "status.yaml), got a larger one") in result.stderr


def test_a_long_text_is_refused_at_its_line_and_field(sample_repo):
    file = sample_repo / SAMPLE
    text = file.read_text(encoding="utf-8")
    long_title = "지연 " * 15_000
    file.write_text(text.replace('en: "[KR] Incident: Ingest→Incident latency ↑"', f'en: "{long_title}"'),
                    encoding="utf-8")
    line = next(n for n, t in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if long_title in t)
    assert problems(sample_repo) == [
        f"{SAMPLE}:{line}: title.en: expected a text of at most 20000 characters (limits.max_text_chars), "
        f"got {len(long_title)}"]


def test_the_limits_are_set_in_status_yaml(sample_repo):
    config = sample_repo / "status.yaml"
    config.write_text(config.read_text(encoding="utf-8")
                      + "limits:\n  max_file_bytes: 2000\n  max_text_chars: 50\n  max_depth: 3\n", encoding="utf-8")
    found = problems(sample_repo)
    assert any(p.startswith(f"{SAMPLE}:1: expected a file of at most 2000 bytes") for p in found)
    config.write_text(config.read_text(encoding="utf-8").replace("max_file_bytes: 2000", "max_file_bytes: 100000"),
                      encoding="utf-8")
    assert any("(limits.max_text_chars)" in p for p in problems(sample_repo))
    config.write_text(config.read_text(encoding="utf-8").replace("max_text_chars: 50", "max_text_chars: 5000"),
                      encoding="utf-8")
    assert any("(limits.max_depth)" in p for p in problems(sample_repo))


def test_an_invalid_limit_is_a_config_error(sample_repo):
    config = sample_repo / "status.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "limits:\n  max_depth: 0\n", encoding="utf-8")
    [problem] = problems(sample_repo)
    assert problem.startswith("status.yaml:") and "limits.max_depth: expected greater than 0" in problem


# ---------------------------------------------------------------- item 8


def test_invalid_utf8_is_reported_at_the_line_of_the_bad_byte(sample_repo):
    file = sample_repo / SAMPLE
    lines = file.read_bytes().split(b"\n")
    number = next(n for n, line in enumerate(lines, 1) if line.startswith(b"impact:"))
    lines[number - 1] = b"impact: maj\xffor"
    file.write_bytes(b"\n".join(lines))
    assert problems(sample_repo) == [
        f"{SAMPLE}:{number}: expected UTF-8 text, got the byte 0xff at column 12, which is not UTF-8; "
        "save the file as UTF-8"]


def test_invalid_utf8_in_an_rca_is_reported_at_its_line(sample_repo):
    file = sample_repo / "rca/2025-10-02-kr-ingest-latency.en.md"
    data = file.read_bytes()
    file.write_bytes(data + b"\nA last line with a Latin-1 \xe9 in it.\n")
    number = data.count(b"\n") + 2
    assert (f"rca/2025-10-02-kr-ingest-latency.en.md:{number}: expected UTF-8 text, got the byte 0xe9 at column 28, "
            "which is not UTF-8; save the file as UTF-8") in problems(sample_repo)


@pytest.mark.parametrize("tagged, shown", [
    ("!!python/name:os.system", "!!python/name:os.system"),
    ("!!python/object/apply:os.system [\"id\"]", "!!python/object/apply:os.system"),
    ("!include secrets.yaml", "!include"),
    ("!Ref Major", "!Ref"),
    ("!!binary aGVsbG8=", "!!binary"),
])
def test_a_yaml_tag_is_refused(sample_repo, tagged, shown):
    file = sample_repo / SAMPLE
    text = file.read_text(encoding="utf-8")
    file.write_text(text.replace("impact: major\n", f"impact: {tagged}\n"), encoding="utf-8")
    number = next(n for n, line in enumerate(text.splitlines(), 1) if line == "impact: major")
    assert problems(sample_repo) == [
        f"{SAMPLE}:{number}: impact: expected plain YAML values, got the tag {shown!r}; YAML tags are not "
        "supported (no includes, no object construction): remove it"]


def test_core_tags_are_still_accepted(sample_repo):
    file = sample_repo / SAMPLE
    text = file.read_text(encoding="utf-8")
    file.write_text(text.replace("impact: major\n", "impact: !!str major\n"), encoding="utf-8")
    assert load_repository(sample_repo).incidents


def test_a_directory_named_like_an_incident_file_is_reported(sample_repo):
    (sample_repo / INCIDENTS / "2025-11-01-kr-api.yaml").mkdir()
    assert problems(sample_repo) == [
        f"{INCIDENTS}/2025-11-01-kr-api.yaml:1: expected a file, found a directory named like one; rename or move it"]


def test_block_style_nesting_is_capped_too():
    from generator.content.yamlsource import YamlSyntaxError, parse_yaml

    text = "".join(f"{'  ' * level}k{level}:\n" for level in range(40)) + "  " * 40 + "leaf: 1\n"
    with pytest.raises(YamlSyntaxError) as refused:
        parse_yaml(text)
    assert refused.value.line == 17
    assert "(limits.max_depth)" in refused.value.message


def test_an_alias_to_a_text_is_refused_at_the_line_using_it():
    from generator.content.yamlsource import YamlSyntaxError, parse_yaml

    with pytest.raises(YamlSyntaxError) as refused:
        parse_yaml("impact: &same major\nsummary:\n  en: x\nseverity: *same\n")
    assert refused.value.line == 4
    assert refused.value.message.startswith("severity: expected plain YAML values, got an alias")
