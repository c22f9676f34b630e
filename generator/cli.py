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
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("public"), show_default=True,
              help="Where the built site goes; replaced only when the whole build succeeded.")
def build(root: Path, now: datetime | None, out: Path) -> None:
    """Validate the content and build the multilingual status site into --out."""
    from .build import BuildFailed, build_site

    try:
        result = build_site(root, out, clock(now))
    except BuildFailed as failed:
        report_problems(failed.problems)
        click.echo(f"error: {failed}", err=True)
        click.echo("the previous site (if any) was left untouched.", err=True)
        sys.exit(1)
    report_problems(list(result.warnings))
    for draft in result.drafts_skipped:
        click.echo(f"skipped draft: {draft}")
    click.echo(f"built {result.pages} pages into {result.out}")


# --- tamper-evident history: verify and publish ------------------------------------------------

since_option = click.option(
    "--since", metavar="REV", envvar="STATUSGEN_VERIFY_SINCE", default=None,
    help="Check commit signatures only after this commit (older history predates signing). "
         "Env: STATUSGEN_VERIFY_SINCE.",
)


def report_failures(what: str, problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"FAIL  {problem}", err=True)
    click.echo(f"{len(problems)} problem(s); {what}", err=True)
    sys.exit(1)


@main.command()
@root_option
@click.option("--allowed-signers", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Trusted signers (default: .github/allowed_signers in --root).")
@click.option("--saved-checkpoint", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A checkpoint kept from an earlier verification; its .sig beside it is checked too.")
@since_option
def verify(root: Path, allowed_signers: Path | None, saved_checkpoint: Path | None, since: str | None) -> None:
    """Check the RCA ledger, its signed checkpoint, the RCA files and the commit signatures."""
    from .verify import verify_repository

    problems = verify_repository(root, allowed_signers=allowed_signers, saved_checkpoint=saved_checkpoint,
                                 since=since)
    if problems:
        report_failures("the history does not verify.", problems)
    click.echo("ok: ledger, checkpoint, RCA files and commit signatures verify")


@main.command()
@root_option
@now_option
@click.option("--branch", default="gh-pages", show_default=True, help="The publish branch.")
@click.option("--key", type=click.Path(dir_okay=False, exists=True, path_type=Path), envvar="STATUSGEN_SIGNING_KEY",
              required=True, help="SSH private key that signs the checkpoint and the commits. "
                                  "Env: STATUSGEN_SIGNING_KEY.")
@click.option("--push", metavar="REMOTE", default=None, help="Push the publish branch (and the ledger commit).")
@since_option
def publish(root: Path, now: datetime | None, branch: str, key: Path, push: str | None, since: str | None) -> None:
    """Verify, build, record the RCA ledger and commit the site, SSH-signed, to --branch."""
    from .publish import PublishRefused, publish as publish_site

    try:
        result = publish_site(root, key, clock(now), branch=branch, push=push, since=since)
    except PublishRefused as refused:
        report_failures(str(refused), refused.problems)
    for entry in result.appended:
        click.echo(f"ledger: {entry.path} revision {entry.revision}")
    if result.ledger_commit:
        click.echo(f"signed ledger commit {result.ledger_commit[:12]} on the source branch")
    if result.unchanged:
        click.echo(f"{branch} is already up to date at {result.commit[:12]}")
    else:
        click.echo(f"published {result.source[:12]} as signed commit {result.commit[:12]} on {branch} "
                   f"(ledger {result.checkpoint.size} entries)")
    if result.pushed:
        click.echo(f"pushed to {result.pushed}")
