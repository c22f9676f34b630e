"""`statusgen sla`: the internal SLA view (table, Markdown or JSON) of every incident and maintenance.

Internal only: nothing here is rendered onto the public status site.
"""
from __future__ import annotations

import json
from datetime import datetime

from ..content.model import Repository
from .engine import CadenceMeasurement, Measurement, SlaReport, Status, evaluate_repository

FORMATS = ("table", "json", "md")
COLUMNS = ("id", "metric", "target", "due", "at", "elapsed", "status")


def sla_report(repository: Repository, now: datetime, fmt: str = "table") -> str:
    reports = evaluate_repository(repository, now)
    if fmt == "json":
        return json.dumps([r.as_json() for r in reports], ensure_ascii=False, indent=2)
    tz = {region.id: region.tz for region in repository.config.regions}
    rows = [_row(report, name, m, tz[report.region]) for report in reports for name, m in report.metrics.items()]
    footer = _summary(reports, now)
    if fmt == "md":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n\n" + footer
    if fmt != "table":
        raise ValueError(f"expected one of {', '.join(FORMATS)}, got {fmt!r}")
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines) + "\n\n" + footer


def _when(moment: datetime | None, tz) -> str:
    # Local time of the item's region, with its offset: the SRE compares it with the incident file.
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _elapsed(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    # Hours:minutes, never "days": on a business calendar a day is 9 h, and 24 h days would mislead.
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


def _row(report: SlaReport, name: str, m: Measurement, tz) -> tuple[str, ...]:
    status = m.status.value
    if isinstance(m, CadenceMeasurement) and m.update_interval_compliance is not None:
        status += f" ({m.update_interval_compliance:g}% of {len(m.gaps)} gaps)"
    ident = f"{report.id} [{report.severity or 'maint'} {report.region}]"
    return (ident, name, m.target or "-", _when(m.due, tz), _when(m.at, tz), _elapsed(m.elapsed_seconds), status)


def _summary(reports: list[SlaReport], now: datetime) -> str:
    counts = {status: 0 for status in Status}
    for report in reports:
        for m in report.metrics.values():
            counts[m.status] += 1
    parts = ", ".join(f"{n} {status.value}" for status, n in counts.items())
    return f"as of {now.isoformat()}: {len(reports)} item(s); metrics: {parts}"
