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


# ---------------------------------------------------------------- status API, notifier, ticket sync


@main.command()
@root_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--tokens", "tokens_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML file of hashed API tokens (else $STATUSGEN_API_TOKENS_FILE or $STATUSGEN_API_TOKENS).")
def serve(root: Path, host: str, port: int, tokens_file: Path | None) -> None:
    """Serve the status API (POST /v1/status/incidents, PATCH /v1/status/{id}, GET); each write is a commit."""
    import uvicorn

    from .api.app import create_app
    from .api.auth import TokenError, load_tokens

    try:
        tokens = load_tokens(tokens_file)
        app = create_app(root, tokens)
    except (TokenError, LoadFailed) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if not tokens:
        click.echo("warning: no API tokens configured; every request will get 401 (see `statusgen token`)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


@main.command()
@click.option("--name", required=True, help="Commit author name for writes made with this token.")
@click.option("--email", required=True, help="Commit author e-mail.")
@click.option("--scope", "scopes", type=click.Choice(["read", "write"]), multiple=True, default=["read"],
              show_default=True)
def token(name: str, email: str, scopes: tuple[str, ...]) -> None:
    """Make an API token: prints it once (stderr) and the hashed entry for the tokens file (stdout)."""
    import yaml

    from .api.auth import new_token, token_entry

    secret = new_token()
    click.echo(f"token (shown once, keep it secret): {secret}", err=True)
    click.echo(yaml.safe_dump([token_entry(secret, name, email, sorted(set(scopes)))], sort_keys=False,
                              allow_unicode=True), nl=False)


@main.command()
@root_option
@click.argument("incident_id")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and record nothing.")
@click.option("--tenants", "tenants_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Tenants and routing (default: <root>/tenants.yaml).")
@click.option("--smtp-host", envvar="STATUSGEN_SMTP_HOST", default="localhost", show_default=True)
@click.option("--smtp-port", envvar="STATUSGEN_SMTP_PORT", type=int, default=25, show_default=True)
@click.option("--backoff", type=float, default=0.5, show_default=True,
              help="Seconds before the first webhook retry; doubles on each further retry.")
def notify(root: Path, incident_id: str, dry_run: bool, tenants_file: Path | None, smtp_host: str, smtp_port: int,
           backoff: float) -> None:
    """Send an incident's updates to its tenants, in their language, routed by plan; never twice."""
    import os

    from .api.store import IncidentStore, NotFound
    from .notifier import TENANTS_FILE, Smtp, load_tenants, plan_deliveries, send_deliveries

    try:
        store = IncidentStore(root)
        incident = store.get(incident_id)
        tenants = load_tenants(tenants_file or root / TENANTS_FILE)
    except LoadFailed as failed:
        report_problems(failed.problems)
        sys.exit(1)
    except NotFound:
        click.echo(f"error: no incident with id {incident_id!r} in {root}/incidents", err=True)
        sys.exit(1)
    deliveries, warnings = plan_deliveries(incident, tenants, store.config)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if dry_run:
        for d in deliveries:
            click.echo(f"would send {d.kind} #{d.update_index} to {d.tenant} by {d.channel} {d.target} ({d.message.lang})")
            click.echo("  " + d.message.text.replace("\n", "\n  "))
        return
    smtp = Smtp(smtp_host, smtp_port, tenants.sender, os.environ.get("STATUSGEN_SMTP_USER"),
                os.environ.get("STATUSGEN_SMTP_PASSWORD"))
    report = send_deliveries(root, incident, deliveries, smtp, backoff=backoff)
    for d, attempts in report.sent:
        click.echo(f"sent {d.kind} #{d.update_index} to {d.tenant} by {d.channel} {d.target}"
                   + (f" after {attempts} attempts" if attempts > 1 else ""))
    for d, error in report.failed:
        click.echo(f"failed {d.kind} #{d.update_index} to {d.tenant} by {d.channel} {d.target}: {error}", err=True)
    click.echo(f"{len(report.sent)} sent, {len(report.skipped)} already sent, {len(report.failed)} failed")
    if report.failed:
        sys.exit(1)


@main.command()
@root_option
@click.option("--inbox", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSONL ticket updates to merge (default: <root>/.statusgen/sync/inbox.jsonl).")
@click.option("--webhook", default=None, help="Also POST each new outbox event here, signed with "
              "$STATUSGEN_WEBHOOK_SECRET.")
def sync(root: Path, inbox: Path | None, webhook: str | None) -> None:
    """Sync tickets and incidents: merge ticket updates in, emit status/severity changes to the outbox."""
    import os

    from .ticketsync import OUTBOX, sync as run_sync

    try:
        report = run_sync(root, inbox, webhook, os.environ.get("STATUSGEN_WEBHOOK_SECRET", "").encode() or None)
    except LoadFailed as failed:
        report_problems(failed.problems)
        sys.exit(1)
    for line in report.applied:
        click.echo(f"applied {line}")
    for line in report.rejected:
        click.echo(f"rejected {line}", err=True)
    for line in report.post_failures:
        click.echo(f"webhook failed {line}", err=True)
    click.echo(f"{len(report.applied)} ticket update(s) applied, {len(report.rejected)} rejected; "
               f"{len(report.emitted)} event(s) added to {OUTBOX}" + (f", {report.posted} posted" if webhook else ""))
    if report.rejected or report.post_failures:
        sys.exit(1)
