"""The CI workflows: the right triggers, no racing publishes, the signing key only ever as a secret, a hardened
supply chain (zizmor runs here) and a publish path that builds once from cached environments."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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
    assert publish["jobs"]["publish"]["permissions"] == {"contents": "write"}


def test_publish_checks_out_the_whole_history_and_publishes_verifies_then_pushes():
    publish = load("publish.yml")
    steps = publish["jobs"]["publish"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))

    assert checkout["with"]["fetch-depth"] == 0
    run = commands(publish)
    order = [run.index(cmd) for cmd in ("statusgen publish", "statusgen verify", "push --atomic")]
    assert order == sorted(order)


def test_publish_builds_the_site_once():
    run = commands(load("publish.yml"))

    # `statusgen publish` builds the site itself; a separate build step only doubled the time
    assert "statusgen build" not in run
    assert run.count("statusgen publish") == 1


def test_publish_restores_the_environment_and_the_build_cache_from_the_actions_cache():
    steps = load("publish.yml")["jobs"]["publish"]["steps"]
    caches = {step["with"]["path"]: step for step in steps if step.get("uses", "").startswith("actions/cache@")}

    assert set(caches) == {".venv", ".statusgen-cache"}
    assert "hashFiles('pyproject.toml'" in caches[".venv"]["with"]["key"]
    assert "python-version" in caches[".venv"]["with"]["key"]
    build_key = caches[".statusgen-cache"]["with"]["key"]
    assert "hashFiles('pyproject.toml')" in build_key and "steps.previous.outputs.commit" in build_key
    assert caches[".statusgen-cache"]["with"]["restore-keys"].strip() == build_key.rsplit("-${{", 1)[0] + "-"
    names = [step.get("name") or step.get("uses") for step in steps]
    # restored before the step that uses it
    assert names.index("Restore the environment") < names.index("Install")
    assert names.index("Fetch the publish branch") < names.index("Restore the build cache") < names.index(
        "Sign and publish")


def test_every_step_that_does_work_prints_its_own_timing():
    for name in ("check.yml", "publish.yml"):
        for job in load(name)["jobs"].values():
            for step in job["steps"]:
                run = step.get("run", "")
                if re.search(r"statusgen |scripts/|git (fetch|push)|\bpush --atomic", run):
                    assert re.search(r"(^|\n)\s*time ", run), (name, step.get("name"))


# ---------------------------------------------------------------- supply chain

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$")


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_tag_in_a_comment(path):
    refs = [USES.match(line) for line in path.read_text(encoding="utf-8").splitlines() if USES.match(line)]

    assert refs
    for ref in refs:
        action, _, version = ref["ref"].partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", version), f"{path.name}: {ref['ref']} is not pinned to a commit SHA"
        assert re.fullmatch(r"\s*#\s*v\d+(\.\d+)*\s*", ref["comment"]), f"{path.name}: {action} has no tag comment"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_least_privilege_no_persisted_credentials_and_no_expressions_in_scripts(path):
    workflow = load(path.name)

    assert workflow["permissions"] == {}  # nothing by default; each job asks for what it needs
    for job_name, job in workflow["jobs"].items():
        assert "permissions" in job, job_name
        pushes = any("git" in step.get("run", "") and "push" in step.get("run", "") for step in job["steps"])
        if not pushes:
            assert all(level == "read" for level in job["permissions"].values()), job_name
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, job_name
            assert "${{" not in step.get("run", ""), (job_name, step.get("name"))


def test_zizmor_reports_nothing_of_medium_or_higher_severity():
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    assert zizmor, "zizmor is part of the test extra: pip install -e '.[test]'"
    done = subprocess.run([zizmor, "--offline", "--format", "json", "--min-severity", "medium", str(WORKFLOWS)],
                          capture_output=True, text=True, timeout=120)
    findings = json.loads(done.stdout or "[]")
    assert [(f["ident"], f["locations"][0]["symbolic"]["key"]) for f in findings] == [], done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_signing_key_is_a_secret_written_to_a_0600_file_and_never_inlined():
    text = (WORKFLOWS / "publish.yml").read_text(encoding="utf-8")
    steps = load("publish.yml")["jobs"]["publish"]["steps"]
    key_step = next(s for s in steps if "secrets.STATUSGEN_SIGNING_KEY" in str(s.get("env", {})))

    # Through env only: a secret expanded inside `run` would become part of the script text.
    assert "secrets." not in key_step["run"]
    assert "umask 077" in key_step["run"] and "chmod 600" in key_step["run"]
    assert "PRIVATE KEY" not in text
    assert not re.search(r"AAAA[0-9A-Za-z+/]{20,}", text)
