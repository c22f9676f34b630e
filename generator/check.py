"""`statusgen check`: every validation that content must pass before it is published, in one run."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .comms_check import communication_problems
from .load import Loaded, LoadFailed, Problem, load_content


def content_checks(loaded: Loaded, now: datetime) -> list[Problem]:
    """Checks that need the whole validated repository (SLA rules, guardrails...)."""
    return communication_problems(loaded)


def check_repository(root: Path, now: datetime) -> list[Problem]:
    try:
        loaded = load_content(root)
    except LoadFailed as failed:
        return failed.problems
    return content_checks(loaded, now)
