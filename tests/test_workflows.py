"""The CI workflows: the right triggers, no racing publishes, and the signing key only ever as a secret."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def load(name: str) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); map it back to the name GitHub uses.
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def commands(workflow: dict) -> str:
    return "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])


def test_check_runs_on_pull_requests_with_check_and_the_tests():
    check = load("check.yml")

    assert "pull_request" in check["on"]
    assert "statusgen check" in commands(check)
    assert "bash scripts/test" in commands(check)


def test_publish_runs_on_pushes_to_main_and_never_races():
    publish = load("publish.yml")

    assert publish["on"]["push"]["branches"] == ["main"]
    assert publish["concurrency"]["group"]
    assert publish["concurrency"]["cancel-in-progress"] is False
    assert publish["permissions"]["contents"] == "write"


def test_publish_checks_out_the_whole_history_and_builds_publishes_verifies_then_pushes():
    publish = load("publish.yml")
    steps = publish["jobs"]["publish"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))

    assert checkout["with"]["fetch-depth"] == 0
    run = commands(publish)
    order = [run.index(cmd) for cmd in ("statusgen build", "statusgen publish", "statusgen verify", "git push")]
    assert order == sorted(order)


def test_the_signing_key_is_a_secret_written_to_a_0600_file_and_never_inlined():
    text = (WORKFLOWS / "publish.yml").read_text(encoding="utf-8")
    steps = load("publish.yml")["jobs"]["publish"]["steps"]
    key_step = next(s for s in steps if "secrets.STATUSGEN_SIGNING_KEY" in str(s.get("env", {})))

    # Through env only: a secret expanded inside `run` would become part of the script text.
    assert "secrets." not in key_step["run"]
    assert "umask 077" in key_step["run"] and "chmod 600" in key_step["run"]
    assert "PRIVATE KEY" not in text
    assert not re.search(r"AAAA[0-9A-Za-z+/]{20,}", text)
