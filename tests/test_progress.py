"""Progress of long runs: a bar on a terminal after two seconds, one summary line with each stage's time
otherwise (CI logs)."""
from __future__ import annotations

import io
import os
import time

from click.testing import CliRunner
from rich.console import Console

from conftest import SAMPLE_NOW
from generator.cli import main
from generator.progress import StageTimer, TerminalProgress, progress_for


def terminal(out: io.StringIO) -> Console:
    return Console(file=out, force_terminal=True, width=100)


def test_a_run_longer_than_two_seconds_shows_the_stage_and_its_count_on_a_terminal():
    out = io.StringIO()
    progress = TerminalProgress("build", console=terminal(out))
    with progress.stage("load", 3) as advance:
        advance(1)
        time.sleep(2.5)
        advance(2)
    progress.close()
    drawn = out.getvalue()
    assert "build load" in drawn and "/3" in drawn


def test_a_short_run_draws_nothing():
    out = io.StringIO()
    progress = TerminalProgress("check", console=terminal(out))
    with progress.stage("load", 3) as advance:
        advance(3)
    progress.close()
    assert out.getvalue() == ""
    assert progress.summary().startswith("check: load ")


def test_the_bar_is_for_terminals_outside_ci(monkeypatch):
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as tty:
        monkeypatch.delenv("CI", raising=False)
        shown = progress_for("build", tty)
        shown.close()
        assert isinstance(shown, TerminalProgress)
        monkeypatch.setenv("CI", "true")
        assert type(progress_for("build", tty)) is StageTimer
    os.close(leader)
    assert type(progress_for("build", io.StringIO())) is StageTimer


def test_a_ci_log_gets_one_summary_line_with_the_time_of_each_stage(sample_repo):
    result = CliRunner().invoke(main, ["check", "--root", str(sample_repo), "--now", SAMPLE_NOW.isoformat()])
    assert result.exit_code == 0, result.output
    summaries = [line for line in result.output.splitlines() if line.startswith("check: ")]
    assert len(summaries) == 1
    assert all(f"{stage} " in summaries[0] for stage in ("scan", "load", "checks", "total"))
    assert "\x1b[" not in result.output  # no terminal drawing in a log
