"""The `statusgen` command line: thin click commands that hand over to one function each."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from .load import LoadFailed, Problem
from .model import _parse_time


class TimeParam(click.ParamType):
    name = "TIME"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            return _parse_time(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


TIME = TimeParam()
root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=".", show_default=True,
    help="The content repository (holds status.yaml).",
)
now_option = click.option(
    "--now", type=TIME, default=None,
    help="Evaluate as of this time (ISO 8601 with offset) instead of the clock; makes runs reproducible.",
)


def clock(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def report_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


@click.group()
@click.version_option(package_name="statusgen")
def main() -> None:
    """statusgen: a Git-based multilingual (ko/ja/en) status page and SLA toolkit."""


@main.command()
@root_option
@now_option
def check(root: Path, now: datetime | None) -> None:
    """Validate every file; print problems as path:line: field: message; exit 1 on any error."""
    from .check import check_repository

    problems = check_repository(root, clock(now))
    report_problems(problems)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        click.echo(f"{len(errors)} error(s); nothing is published until they are fixed.", err=True)
        sys.exit(1)
    click.echo("ok: all content is valid" + (f" ({len(problems)} warning(s))" if problems else ""))


@main.command()
@root_option
def schema(root: Path) -> None:
    """Write the JSON Schemas of the file formats into schemas/."""
    from .schemas import write_schemas

    for path in write_schemas(root):
        click.echo(f"wrote {path}")


@main.command()
@root_option
@now_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "md"]), default="table", show_default=True,
              help="table for a terminal, md for a report, json for other tools.")
def sla(root: Path, now: datetime | None, fmt: str) -> None:
    """Internal SLA/OLA view of every incident and maintenance (never published on the status site)."""
    from .load import load_repository
    from .sla.report import sla_report

    try:
        repository = load_repository(root)
    except LoadFailed as failed:
        report_problems(failed.problems)
        sys.exit(1)
    click.echo(sla_report(repository, clock(now), fmt))
