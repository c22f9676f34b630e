"""The `statusgen` command line: thin click commands that hand over to one function each."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import click

from .content.load import LoadFailed, Problem
from .content.model import _parse_time


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


def _root_defaults(group: click.Group, root: str) -> dict:
    """A default_map giving every command (and every command of a subgroup) that has --root this root."""
    defaults: dict = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            defaults[name] = _root_defaults(command, root)
        elif any(param.name == "root" for param in command.params):
            defaults[name] = {"root": root}
    return defaults


@click.group()
@click.version_option(package_name="statusgen")
@click.option("--root", "group_root", type=click.Path(file_okay=False), default=None,
              help="The content repository for every command (same as a command's own --root).")
@click.pass_context
def main(ctx: click.Context, group_root: str | None) -> None:
    """statusgen: a Git-based multilingual (ko/ja/en) status page and SLA toolkit."""
    if group_root is not None:
        ctx.default_map = _root_defaults(main, group_root)


@main.command()
@root_option
@now_option
def check(root: Path, now: datetime | None) -> None:
    """Validate every file; print problems as path:line: field: message; exit 1 on any error."""
    from .check import check_repository
    from .progress import progress_for

    progress = progress_for("check", sys.stderr)
    try:
        problems = check_repository(root, clock(now), progress)
    finally:
        progress.close()
    click.echo(progress.summary())  # an informational line: stdout, with "ok" (errors alone go to stderr)
    # One stream per level: errors (and their summary) on stderr, warnings with the "ok" on stdout.
    errors = [p for p in problems if p.level == "error"]
    warnings = [p for p in problems if p.level != "error"]
    for warning in warnings:
        click.echo(str(warning))
    report_problems(errors)
    if errors:
        click.echo(f"{len(errors)} error(s); nothing is published until they are fixed.", err=True)
        sys.exit(1)
    click.echo("ok: all content is valid" + (f" ({len(warnings)} warning(s))" if warnings else ""))


@main.command()
@root_option
def schema(root: Path) -> None:
    """Write the JSON Schemas of the file formats into schemas/."""
    from .content.schemas import write_schemas

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
    from .progress import progress_for
    from .trust.publish import serve_ledger_if_any

    progress = progress_for("build", sys.stderr)
    try:
        result = build_site(root, out, clock(now), extras=[serve_ledger_if_any], progress=progress)
    except BuildFailed as failed:
        progress.close()
        report_problems(failed.problems)
        click.echo(f"error: {failed}", err=True)
        click.echo("the previous site (if any) was left untouched.", err=True)
        sys.exit(1)
    progress.close()
    report_problems(list(result.warnings))
    click.echo(progress.summary())  # an informational line: stdout, with "ok" (errors alone go to stderr)
    for draft in result.drafts_skipped:
        click.echo(f"skipped draft: {draft}")
    reused = f" ({result.reused} unchanged, from the cache)" if result.reused else ""
    placed = result.placed
    changed = (f"; {placed.changed} file(s) written, {placed.removed} removed, the rest untouched"
               if placed and placed.how == "in place" else "")
    click.echo(f"built {result.pages} pages{reused} into {result.out}{changed}")


# ---------------------------------------------------------------- communication: macros, drafts, RCAs


def _authoring_failed(error) -> None:
    report_problems(error.problems)
    click.echo(f"error: {error}", err=True)
    sys.exit(1)


def _ask(value, label: str, option: str, **prompt):
    """The option's value; prompt for it in a terminal, refuse otherwise (CI must pass every option)."""
    if value not in (None, (), []):
        return value
    if sys.stdin.isatty():
        return click.prompt(label, **prompt)
    click.echo(f"error: missing {option} (not a terminal, so no prompt)", err=True)
    sys.exit(2)


@main.command()
@root_option
@click.argument("name")
@click.option("--lang", type=click.Choice(["ko", "ja", "en"]), required=True)
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="A placeholder's value (repeatable); ISO times are shown in local time and UTC.")
@click.option("--region", default=None, help="Region whose time zone renders the times (e.g. KR).")
def macro(root: Path, name: str, lang: str, variables: tuple[str, ...], region: str | None) -> None:
    """Print the macro NAME rendered in one language, for ticket replies and chat."""
    from .authoring import AuthoringError, parse_variables, render_one

    try:
        click.echo(render_one(root, name, lang, parse_variables(variables), region))
    except AuthoringError as error:
        _authoring_failed(error)


@main.command()
@root_option
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
def mask(root: Path, file) -> None:
    """Print FILE (or stdin) with raw logs, secrets, addresses and internal hosts masked."""
    from .authoring import mask as mask_with_config

    click.echo(mask_with_config(root, file.read()), nl=False)


@main.group()
def new() -> None:
    """Write new content files as drafts."""


@new.command("incident")
@root_option
@now_option
@click.option("--region", default=None, help="Region id, e.g. KR.")
@click.option("--severity", type=click.Choice(["S1", "S2", "S3", "S4"]), default=None)
@click.option("--component", "components", multiple=True, help="Component (kr-ingest) or service (ingest); repeatable.")
@click.option("--detected", type=TIME, default=None, help="Detection time, ISO 8601 with offset (default: now).")
@click.option("--ticket", default=None, help="Support ticket id, e.g. CS-20251002-0042.")
@click.option("--tenant", "tenants", multiple=True, help="Affected tenant; repeatable.")
@click.option("--evidence", multiple=True, metavar="URL", help="Evidence link (dashboard or signed URL); repeatable.")
@click.option("--title", "titles", multiple=True, metavar="LANG=TEXT", help="Title in one language; repeatable.")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Macro variable (metric, value...).")
@click.option("--slug", default=None, help="Last part of the id/file name (default: the services).")
@click.option("--macro", "macro_name", default=None, help="First-notice macro (default: by severity).")
@click.option("--next", "next_in", default=None, metavar="DURATION",
              help="Next update in, e.g. 30m (default: the severity's update cadence).")
def new_incident_command(root, now, region, severity, components, detected, ticket, tenants, evidence, titles,
                         variables, slug, macro_name, next_in) -> None:
    """Write incidents/<year>/<date>-<region>-<slug>.yaml as a draft in ko/ja/en from the first-notice macro."""
    from .authoring import AuthoringError, IncidentRequest, new_incident, parse_variables
    from .content.model import Severity

    region = _ask(region, "Region (e.g. KR)", "--region")
    severity = _ask(severity, "Severity", "--severity", type=click.Choice(["S1", "S2", "S3", "S4"]))
    components = _ask(list(components), "Components (comma separated, e.g. ingest)", "--component")
    if isinstance(components, str):
        components = [c.strip() for c in components.split(",") if c.strip()]
    ticket = _ask(ticket, "Ticket id", "--ticket")
    _check_duration("--next", next_in)
    try:
        request = IncidentRequest(
            region=region, severity=Severity(severity), components=list(components), detected_at=detected,
            ticket=ticket, now=clock(now), tenants=list(tenants), evidence=list(evidence),
            titles=parse_variables(titles), variables=parse_variables(variables), slug=slug, macro=macro_name,
            next_in=next_in,
        )
        path = new_incident(root, request)
    except AuthoringError as error:
        _authoring_failed(error)
    click.echo(f"wrote {path} (draft: review, fill any {{placeholder}}, then remove `draft: true`)")


@main.command()
@root_option
@now_option
@click.argument("incident_id")
@click.option("--status", type=click.Choice(["investigating", "identified", "monitoring", "resolved"]), required=True)
@click.option("--macro", "macro_name", default=None,
              help="Macro for the texts (default by status: investigating/identified: progress, monitoring: "
                   "mitigated, resolved: resolved, or resolved_rca_pending before the incident has an RCA).")
@click.option("--next", "next_in", default=None, metavar="DURATION",
              help="Next update in, e.g. 30m (default: the severity's update cadence; none once resolved).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Macro variable; repeatable.")
def update(root, now, incident_id, status, macro_name, next_in, variables) -> None:
    """Append an update in ko/ja/en to the incident INCIDENT_ID (the full id, or the id without its date),
    keeping the rest of the file as it is."""
    from .authoring import AuthoringError, append_update, parse_variables

    _check_duration("--next", next_in)
    try:
        path = append_update(root, incident_id, status, macro_name, next_in, parse_variables(variables), clock(now))
    except AuthoringError as error:
        _authoring_failed(error)
    click.echo(f"appended an update with status `{status}` (ko/ja/en) to {path}")


def _check_duration(option: str, value: str | None) -> None:
    from .content.model import _parse_duration

    if value is None:
        return
    try:
        _parse_duration(value)
    except ValueError as error:
        click.echo(f"error: {option}: {error}", err=True)
        sys.exit(2)


@main.group()
def rca() -> None:
    """RCA (public summary) tools."""


@rca.command("new")
@root_option
@now_option
@click.argument("incident_id")
@click.option("--force", is_flag=True, help="Overwrite existing RCA files.")
def rca_new(root, now, incident_id, force) -> None:
    """Write rca/<id>.<lang>.md for ko/ja/en as drafts with the sections and the incident's facts."""
    from .authoring import AuthoringError, new_rca

    try:
        paths = new_rca(root, incident_id, clock(now), force)
    except AuthoringError as error:
        _authoring_failed(error)
    for path in paths:
        click.echo(f"wrote {path}")
    click.echo("fill every {placeholder}, delete `draft: true`, and set `rca:` in the incident to publish")


# ---------------------------------------------------------------- a new status repository, the machine


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="The product name shown on the page, e.g. \"Acme Cloud\".")
@click.option("--languages", default=None, help="Comma-separated subset of ko,ja,en; the first is the default "
              "(default: ko,ja,en).")
@click.option("--region", "regions", multiple=True, metavar="ID:ZONE:COUNTRY[-SUBDIV]",
              help="A region, e.g. US:America/New_York:US or GB:Europe/London:GB-ENG; repeatable.")
@click.option("--service", "services", multiple=True, metavar="ID", help="A service id, e.g. api; repeatable.")
@click.option("--url", default=None, help="Public address of the status site (default: https://status.example.com/).")
@click.option("--signer", "signers", multiple=True, metavar="PRINCIPAL=PUBKEY_FILE",
              help="Put this public SSH key in .github/allowed_signers under PRINCIPAL (an e-mail); repeatable.")
@click.option("--dashboard-host", "dashboard_hosts", multiple=True, metavar="HOST",
              help="A dashboard host whose evidence links are published as they are (e.g. grafana.acme.com).")
@click.option("--package", default=None, help="What the repository's scripts/setup installs (default: this "
              "statusgen release).")
@click.option("--yes", is_flag=True, help="Use the defaults for everything not given; never prompt.")
def init(directory, name, languages, regions, services, url, signers, dashboard_hosts, package, yes) -> None:
    """Make DIRECTORY a new status repository: status.yaml, macros, workflows, allowed_signers, git init."""
    from .starter import (DEFAULT_PACKAGE, DEFAULT_URL, InitError, RegionSpec, StarterRequest, init_repository,
                          parse_languages)

    def ask(value, label, option, default=None):
        if value not in (None, (), []):
            return value
        if yes or not sys.stdin.isatty():
            if default is not None:
                return default
            click.echo(f"error: missing {option}" + (" (not a terminal, so no prompt)" if not yes else ""), err=True)
            sys.exit(2)
        return click.prompt(label, default=default)

    try:
        name = ask(name, "Product name", "--name")
        languages = parse_languages(ask(languages, "Languages (subset of ko,ja,en; first is the default)",
                                        "--languages", "ko,ja,en"))
        regions = regions or tuple(r.strip() for r in ask(None, "Regions (ID:Time/Zone:COUNTRY, comma separated)",
                                                           "--region").split(",") if r.strip())
        services = services or tuple(s.strip() for s in ask(None, "Services (ids, comma separated)",
                                                              "--service").split(",") if s.strip())
        url = ask(url, "Public address of the status site", "--url", DEFAULT_URL)
        signer_lines = []
        for signer in signers:
            principal, sep, key_file = signer.partition("=")
            if not sep or "@" not in principal:
                raise InitError(f"--signer: expected PRINCIPAL=PUBKEY_FILE (e.g. you@example.com=~/.ssh/id_ed25519.pub), "
                                f"got {signer!r}")
            try:
                key = Path(key_file).expanduser().read_text(encoding="utf-8").split()
            except OSError as exc:
                raise InitError(f"--signer: cannot read {key_file}: {exc.strerror}") from None
            if len(key) < 2 or not key[0].startswith(("ssh-", "ecdsa-", "sk-")):
                raise InitError(f"--signer: {key_file}: expected an SSH public key (ssh-ed25519 AAAA...)")
            signer_lines.append((principal, f"{key[0]} {key[1]}"))
        request = StarterRequest(name=name, languages=languages, regions=tuple(RegionSpec.parse(r) for r in regions),
                                 services=tuple(services), url=url, package=package or DEFAULT_PACKAGE,
                                 signers=tuple(signer_lines), dashboard_hosts=tuple(dashboard_hosts))
        written = init_repository(directory, request)
    except InitError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"wrote {len(written)} files into {directory} and ran git init")
    click.echo(f"next: cd {directory} && bash scripts/setup && .venv/bin/statusgen doctor")


@main.command()
@root_option
@click.option("--branch", default="gh-pages", show_default=True, help="The publish branch.")
@click.option("--remote", default="origin", show_default=True)
def doctor(root: Path, branch: str, remote: str) -> None:
    """Check what publishing needs (git signing, allowed_signers, remote, publish branch, secret, versions)."""
    from .doctor import diagnose

    findings = diagnose(root, branch, remote)
    for finding in findings:
        mark = "ok  " if finding.ok else "warn" if finding.warning else "FAIL"
        click.echo(f"{mark}  {finding.name}: {finding.detail}")
        if not finding.ok and finding.fix:
            click.echo(f"      fix: {finding.fix}")
    failed = [f for f in findings if not f.ok and not f.warning]
    if failed:
        click.echo(f"{len(failed)} thing(s) to fix before you can publish.", err=True)
        sys.exit(1)
    click.echo("ready to publish")


# ---------------------------------------------------------------- SLA

@main.command()
@root_option
@now_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "md"]), default="table", show_default=True,
              help="table for a terminal, md for a report, json for other tools.")
def sla(root: Path, now: datetime | None, fmt: str) -> None:
    """Internal SLA/OLA view of every incident and maintenance (never published on the status site)."""
    from .content.load import load_repository
    from .sla.report import sla_report

    try:
        repository = load_repository(root)
    except LoadFailed as failed:
        report_problems(failed.problems)
        sys.exit(1)
    click.echo(sla_report(repository, clock(now), fmt))


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
              help="The pinned root of trust: the signers before the first checked commit (default: the "
                   "list saved beside --saved-checkpoint, else the list as of --since, else the first "
                   "commit's list). Each commit is then checked against the list in force at its parent.")
@click.option("--saved-checkpoint", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A checkpoint kept from an earlier verification; its .sig beside it is checked too, and "
                   "its .allowed_signers beside it is the root of trust.")
@since_option
def verify(root: Path, allowed_signers: Path | None, saved_checkpoint: Path | None, since: str | None) -> None:
    """Check the RCA ledger, its signed checkpoint, the RCA files and the commit signatures."""
    from .trust.verify import verify_repository

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
    from .trust.publish import PublishRefused, publish as publish_site

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


# ---------------------------------------------------------------- status API, notifier, ticket sync


@main.command()
@root_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--tokens", "tokens_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML file of hashed API tokens (else $STATUSGEN_API_TOKENS_FILE or $STATUSGEN_API_TOKENS).")
def serve(root: Path, host: str, port: int, tokens_file: Path | None) -> None:
    """Serve the status API (POST /v1/status/incidents, PATCH /v1/status/{id}, GET; each write is a commit)
    and the self-service subscriptions (/v1/subscriptions) when status.yaml sets notifications.api_url."""
    import os

    import uvicorn

    from .service.api.app import create_app
    from .service.api.subscriptions import mount_subscriptions
    from .service.channels import Smtp
    from .service.ticketsync import ChangeEmitter
    from .service.api.auth import TokenError, load_tokens

    try:
        tokens = load_tokens(tokens_file)
        app = create_app(root, tokens, on_write=[ChangeEmitter()])
        off = mount_subscriptions(app, root, Smtp(os.environ.get("STATUSGEN_SMTP_HOST", "localhost"),
                                                  int(os.environ.get("STATUSGEN_SMTP_PORT", "25")),
                                                  user=os.environ.get("STATUSGEN_SMTP_USER"),
                                                  password=os.environ.get("STATUSGEN_SMTP_PASSWORD")))
    except (TokenError, LoadFailed) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if off:
        click.echo(f"note: {off}", err=True)
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

    from .service.api.auth import new_token, token_entry

    secret = new_token()
    click.echo(f"token (shown once, keep it secret): {secret}", err=True)
    click.echo(yaml.safe_dump([token_entry(secret, name, email, sorted(set(scopes)))], sort_keys=False,
                              allow_unicode=True), nl=False)


@main.command()
@root_option
@now_option
@click.argument("item_id", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and record nothing.")
@click.option("--tenants", "tenants_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Tenants and routing (default: <root>/tenants.yaml when it exists).")
@click.option("--smtp-host", envvar="STATUSGEN_SMTP_HOST", default="localhost", show_default=True)
@click.option("--smtp-port", envvar="STATUSGEN_SMTP_PORT", type=int, default=25, show_default=True)
@click.option("--backoff", type=float, default=0.5, show_default=True,
              help="Seconds before the first webhook retry; doubles on each further retry.")
@click.option("--workers", type=int, default=8, show_default=True, help="Addresses served in parallel.")
def notify(root: Path, now: datetime | None, item_id: str, dry_run: bool, tenants_file: Path | None, smtp_host: str,
           smtp_port: int, backoff: float, workers: int) -> None:
    """Send an incident's updates or a maintenance's notices to tenants and subscribers; never twice."""
    import os

    from .content.load import load_config
    from .service.notifier import NotifyRefused, SendContext, Smtp, prepare, send_deliveries

    try:
        config = load_config(root)
        prepared = prepare(root, item_id, clock(now), tenants_file, config, dry_run)
    except LoadFailed as failed:
        report_problems(failed.problems)
        sys.exit(1)
    except NotifyRefused as refused:
        click.echo(f"error: {refused}", err=True)
        sys.exit(1)
    for warning in prepared.warnings:
        click.echo(f"warning: {warning}", err=True)
    if dry_run:
        for d in prepared.deliveries:
            click.echo(f"would send {d.notice.event} to {d.recipient} by {d.channel} {d.target} ({d.lang})")
            click.echo("  " + d.message.text.replace("\n", "\n  "))
        return
    smtp = Smtp(smtp_host, smtp_port, prepared.sender, os.environ.get("STATUSGEN_SMTP_USER"),
                os.environ.get("STATUSGEN_SMTP_PASSWORD"))
    report = send_deliveries(prepared.ledger, prepared.deliveries, SendContext(smtp=smtp, backoff=backoff),
                             workers=workers)
    for d, attempts in report.sent:
        click.echo(f"sent {d.notice.event} to {d.recipient} by {d.channel} {d.target}"
                   + (f" after {attempts} attempts" if attempts > 1 else ""))
    for d, error in report.failed:
        click.echo(f"failed {d.notice.event} to {d.recipient} by {d.channel} {d.target}: {error}", err=True)
    click.echo(f"{len(report.sent)} sent, {len(report.skipped)} already sent, "
               + (f"{len(report.busy)} being sent by another run, " if report.busy else "")
               + f"{len(report.failed)} failed")
    if report.failed:
        sys.exit(1)


@main.command()
@root_option
@click.option("--inbox", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSONL ticket updates to merge (default: <root>/.statusgen/sync/inbox.jsonl).")
@click.option("--webhook", default=None, help="Also POST each new outbox event here, signed with "
              "$STATUSGEN_WEBHOOK_SECRET (refused without it).")
@click.option("--discard", "discard", multiple=True, metavar="UPDATE_ID",
              help="Give up on a pending ticket update: it is never retried again. Repeatable.")
def sync(root: Path, inbox: Path | None, webhook: str | None, discard: tuple[str, ...]) -> None:
    """Sync tickets and incidents: merge ticket updates in, emit status/severity changes to the outbox."""
    from .service.ticketsync import OUTBOX, discard_ticket_updates, sync as run_sync
    from .service.webhook import MissingSecret, secret_from_env

    try:
        secret = secret_from_env() if webhook else None
        if discard:
            discard_ticket_updates(root, list(discard))
            click.echo(f"discarded {', '.join(discard)}")
        report = run_sync(root, inbox, webhook, secret)
    except MissingSecret as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except LoadFailed as failed:
        report_problems(failed.problems)
        sys.exit(1)
    for line in report.applied:
        click.echo(f"applied {line}")
    for line in report.pending:
        click.echo(f"pending {line}", err=True)
    for line in report.rejected:
        click.echo(f"rejected {line}", err=True)
    for line in report.post_failures:
        click.echo(f"webhook failed {line}", err=True)
    click.echo(f"{len(report.applied)} ticket update(s) applied, {len(report.pending)} pending, "
               f"{len(report.rejected)} rejected; {len(report.emitted)} event(s) added to {OUTBOX}"
               + (f", {report.posted} posted" if webhook else ""))
    if report.pending or report.rejected or report.post_failures:
        sys.exit(1)


# ---------------------------------------------------------------- monthly SLA report of tickets

# Below this much input a report takes a couple of seconds at most: no progress bar (about 12,000 tickets).
PROGRESS_MIN_BYTES = 8_000_000


@contextmanager
def progress_bar(files: list[Path], what: str):
    """A progress bar over the bytes of `files` on stderr, for input big enough to take more than a few seconds
    and only on a terminal (nothing when piped or redirected); yields the function that advances it, or None."""
    total = 0
    for path in files:
        try:
            total += path.stat().st_size
        except OSError:
            pass  # reported by the reader as path:1
    if total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(f"reading {what}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda done: bar.advance(task, done)

SAMPLE_TICKETS = Path("tickets") / "sample-2025-10.jsonl"
# Where the public site is built from and written to: a private report must never land there.
PUBLIC_DIRS = ("public", "site")


@main.command()
@root_option
@now_option
@click.option("--month", required=True, metavar="YYYY-MM", help="The month; a ticket belongs to the month it was "
              "created in, in its region's local time.")
@click.option("--tickets", "ticket_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help=f"Ticket export (.jsonl or .csv); repeat for several. Default: <root>/{SAMPLE_TICKETS}.")
@click.option("--lang", type=click.Choice(["ko", "ja", "en"]), default="en", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write sla-report-YYYY-MM.<lang>.<format> into this directory instead of standard output.")
@click.option("--skip-invalid", is_flag=True, help="Report the good rows and list the bad ones instead of failing.")
def report(root: Path, now: datetime | None, month: str, ticket_files: tuple[Path, ...], lang: str, fmt: str,
           out: Path | None, skip_invalid: bool) -> None:
    """Monthly SLA report of support tickets per tenant and per region (private: never on the public site)."""
    from .content.load import load_repository
    from .report.monthly import Month, MonthFold
    from .report.render import render_report
    from .report.tickets import ticket_chunks

    try:
        chosen = Month.parse(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    if out is not None:
        resolved = out.resolve()
        for name in PUBLIC_DIRS:
            public = (root / name).resolve()
            if resolved == public or public in resolved.parents:
                raise click.BadParameter(f"expected a directory outside {name}/ (the public site is built from "
                                         f"there and the report is private), got {out}", param_hint="--out")
    try:
        repository = load_repository(root)
    except LoadFailed as failed:
        report_problems(failed.problems)
        sys.exit(1)
    files = list(ticket_files) or [root / SAMPLE_TICKETS]
    # Read and evaluated a chunk at a time (bounded memory for any size of export); nothing is written before
    # every row has been read, so a bad row still stops the run with nothing reported.
    problems: list[Problem] = []
    fold, good = MonthFold(repository.config, chosen, clock(now)), 0
    with progress_bar(files, "tickets") as advance:
        for chunk in ticket_chunks(files, [region.id for region in repository.config.regions], problems,
                                   progress=advance):
            good += len(chunk)
            fold.add(chunk)
    report_problems(problems)
    bad_rows = len({(problem.path, problem.line) for problem in problems})
    if problems and not skip_invalid:
        click.echo(f"{bad_rows} bad row(s); nothing reported (use --skip-invalid to report the "
                   f"{good} good one(s)).", err=True)
        sys.exit(1)
    if problems:
        click.echo(f"{bad_rows} bad row(s) left out (listed in the report).", err=True)
    result = fold.report(repository, skipped=[str(p) for p in problems])
    text = render_report(result, repository.config, lang, fmt)
    if out is None:
        click.echo(text, nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"sla-report-{chosen}.{lang}.{fmt}"
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target} ({result.overall.tickets} ticket(s), {len(result.breaches)} breach(es))")
