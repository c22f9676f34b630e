"""`MonthlyReport` -> Markdown, JSON or a self-contained HTML page (inline CSS, server-side SVG, no JavaScript)."""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2
import yaml

from ..localtime import format_local_and_utc, format_month
from ..content.model import Config
from .charts import attainment_chart, volume_chart
from .monthly import Compliance, GroupReport, MonthlyReport

FORMATS = ("md", "json", "html")
# A verdict is words, never an emoji (which prints as a missing-glyph box where no emoji font is installed, e.g.
# Chromium on a Linux server): in Markdown a missed target is bold, in HTML the cell is coloured and carries an
# inline SVG mark (`MARK_SVG`), so the report reads and prints the same everywhere.
VERDICT_MD = {"met": "{}", "missed": "**{}**", "no_data": "— {}", "no_target": "· {}"}
VERDICT_HTML = {"met": "{}", "missed": "{}", "no_data": "— {}", "no_target": "· {}"}
_MARK = ('<svg class="mark" viewBox="0 0 12 12" width="12" height="12" aria-hidden="true" focusable="false">'
         '<path d="{}" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg> ')
MARK_SVG = {"met": _MARK.format("M2 6.5l2.5 2.5L10 3"), "missed": _MARK.format("M3 3l6 6M9 3l-6 6"),
            "no_data": "", "no_target": ""}


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    return yaml.safe_load((Path(__file__).parent / "strings.yaml").read_text(encoding="utf-8"))


def hours(seconds: int | None) -> str:
    # Hours:minutes, never days: on a business calendar a day is 9 h, and 24 h days would mislead.
    if seconds is None:
        return "—"
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


class View:
    """The report as rows of text in one language, shared by the Markdown and HTML renderers."""

    def __init__(self, report: MonthlyReport, config: Config, lang: str, verdicts: dict[str, str] = VERDICT_MD):
        self.report, self.config, self.lang, self.verdicts = report, config, lang, verdicts
        self.s = strings()[lang]
        self.tz = {region.id: region.tz for region in config.regions}
        first_tz = config.regions[0].tz
        self.month = format_month(datetime(report.month.year, report.month.month, 15, tzinfo=first_tz), first_tz,
                                  lang)
        self.as_of = format_local_and_utc(report.now, first_tz, lang)

    def verdict(self, value: str) -> str:
        return self.verdicts[value].format(self.s[value])

    def heading(self, group: GroupReport) -> str:
        if group.scope == "all":
            return self.s["overall"]
        if group.scope == "region":
            return f"{self.s['region']} {group.key} · {self.config.region(group.key).name.model_dump()[self.lang]}"
        return f"{self.s['tenant']} {group.key}"

    def sections(self) -> list[tuple[str, GroupReport]]:
        r = self.report
        return [(self.heading(g), g) for g in (r.overall, *r.regions, *r.tenants)]

    severity_header = property(lambda self: [
        self.s["severity"], self.s["tickets"], self.s["attainment"], self.s["target"], self.s["result"],
        f"{self.s['frt']} p50", f"{self.s['frt']} p90", f"{self.s['rt']} p50", f"{self.s['rt']} p90"])

    def severity_rows(self, group: GroupReport) -> list[tuple[list[str], str]]:
        rows = []
        for row in group.severities:
            attainment = "—" if row.attainment is None else f"{row.attainment:g}% ({row.attained}/{row.decided})"
            target = "—" if row.target is None else f"≥ {row.target:g}%"
            rows.append(([row.severity.value, str(row.tickets), attainment, target, self.verdict(row.verdict),
                          hours(row.first_response_seconds[50]), hours(row.first_response_seconds[90]),
                          hours(row.resolution_seconds[50]), hours(row.resolution_seconds[90])], row.verdict))
        return rows

    metric_header = property(lambda self: [self.s["metric"], self.s["value"], self.s["target"], self.s["result"]])

    def metric_rows(self, group: GroupReport) -> list[tuple[list[str], str]]:
        def pct(c: Compliance, target: str) -> tuple[list[str], str]:
            value = "—" if c.value is None else f"{c.value:g}% ({c.within}/{c.decided})"
            return [value, target, self.verdict(c.verdict)], c.verdict

        targets = self.report.targets
        ola = ", ".join(f"{s} ≤ {d}" for s, d in targets["owner_assigned"].items())
        rca = ", ".join(f"{s} ≤ {d}" for s, d in targets["rca_due"].items())
        csat = group.csat
        rows = [
            (self.s["update_interval_compliance"], *pct(group.update_interval_compliance,
                                                        f"≥ {targets['update_interval_compliance']:g}%")),
            (self.s["owner_assigned"], *pct(group.owner_assigned, ola)),
            (self.s["rca"], *pct(group.rca, rca)),
            (self.s["csat"], ["—" if csat.value is None else f"{csat.value:.2f} (n={csat.decided})",
                              f"≥ {targets['csat']:g}", self.verdict(csat.verdict)], csat.verdict),
        ]
        return [([name, *cells], v) for name, cells, v in rows]

    def incident_rows(self, group: GroupReport) -> list[list[str]]:
        return [[i.incident, i.severity.value, f"≤ {i.target}", hours(i.lead_seconds), self.s.get(
            {"achieved": "met", "breached": "missed"}.get(i.status.value, "no_data"))] for i in group.rca_incidents]

    breach_header = property(lambda self: [
        self.s["ticket"], self.s["tenant"], self.s["region"], self.s["severity"], self.s["metric"],
        self.s["target"], self.s["due"], self.s["at"], self.s["missed_by"]])

    def breach_rows(self) -> list[list[str]]:
        rows = []
        for b in self.report.breaches:
            tz = self.tz[b.region]
            due = format_local_and_utc(b.due, tz, self.lang) if b.due else "—"
            at = format_local_and_utc(b.at, tz, self.lang) if b.at else self.s["open"]
            missed = f"+{hours(b.missed_by_seconds)}" + ("" if b.at else f" ({self.s['open']})")
            rows.append([b.ticket_id, b.tenant, b.region, b.severity.value, self.s[b.metric], b.target, due, at,
                         missed])
        return rows


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)]


def render_markdown(view: View) -> str:
    s = view.s
    lines = [f"# {s['title']} · {view.month}", "", f"{s['as_of']}: {view.as_of}", "", f"_{s['notes']}_", ""]
    for heading, group in view.sections():
        lines += [f"## {heading} ({group.tickets} {s['tickets']})", ""]
        lines += _md_table(view.severity_header, [cells for cells, _ in view.severity_rows(group)]) + [""]
        lines += _md_table(view.metric_header, [cells for cells, _ in view.metric_rows(group)]) + [""]
    lines += [f"## {s['breaches']} ({len(view.report.breaches)})", ""]
    lines += (_md_table(view.breach_header, view.breach_rows()) if view.report.breaches else [s["no_breaches"]])
    if view.report.skipped:
        lines += ["", f"## {s['skipped']} ({len(view.report.skipped)})", ""]
        lines += [f"- `{line}`" for line in view.report.skipped]
    return "\n".join(lines) + "\n"


_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!doctype html>
<html lang="{{ v.lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<link rel="icon" href="data:,">
<title>{{ v.s.title }} · {{ v.month }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #111827; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; font-size: .9rem; }
th, td { border: 1px solid #d1d5db; padding: .25rem .5rem; text-align: left; white-space: nowrap; }
th { background: #f3f4f6; }
.missed { color: #b91c1c; font-weight: 600; }
.met { color: #047857; } svg.mark { vertical-align: -1px; } .charts { display: flex; flex-wrap: wrap; gap: 1rem; } .note { color: #4b5563; }
svg.chart { border: 1px solid #e5e7eb; background: #fff; max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>{{ v.s.title }} · {{ v.month }}</h1>
<p>{{ v.s.as_of }}: {{ v.as_of }}</p>
<p class="note">{{ v.s.notes }}</p>
<div class="charts">
{{ attainment_svg | safe }}
{{ volume_svg | safe }}
</div>
{% for heading, group in v.sections() %}
<section data-scope="{{ group.scope }}" data-key="{{ group.key }}">
<h2>{{ heading }} ({{ group.tickets }} {{ v.s.tickets }})</h2>
<table class="severities"><tr>{% for h in v.severity_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for cells, verdict in v.severity_rows(group) %}<tr>{% for c in cells %}{% if loop.index == 5 %}<td class="{{ verdict }}">{{ marks[verdict] | safe }}{{ c }}</td>{% else %}<td>{{ c }}</td>{% endif %}{% endfor %}</tr>
{% endfor %}</table>
<table class="metrics"><tr>{% for h in v.metric_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for cells, verdict in v.metric_rows(group) %}<tr>{% for c in cells %}{% if loop.last %}<td class="{{ verdict }}">{{ marks[verdict] | safe }}{{ c }}</td>{% else %}<td>{{ c }}</td>{% endif %}{% endfor %}</tr>
{% endfor %}</table>
{% if group.rca_incidents %}<table class="incidents"><tr><th>{{ v.s.incidents }}</th><th>{{ v.s.severity }}</th><th>{{ v.s.target }}</th><th>{{ v.s.value }}</th><th>{{ v.s.result }}</th></tr>
{% for cells in v.incident_rows(group) %}<tr>{% for c in cells %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
</section>
{% endfor %}
<section id="breaches">
<h2>{{ v.s.breaches }} ({{ v.report.breaches | length }})</h2>
{% if v.report.breaches %}<table class="breaches"><tr>{% for h in v.breach_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for cells in v.breach_rows() %}<tr>{% for c in cells %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>{% else %}<p>{{ v.s.no_breaches }}</p>{% endif %}
</section>
{% if v.report.skipped %}<section id="skipped"><h2>{{ v.s.skipped }} ({{ v.report.skipped | length }})</h2>
<ul>{% for line in v.report.skipped %}<li><code>{{ line }}</code></li>{% endfor %}</ul></section>{% endif %}
</body>
</html>
""")


def render_html(view: View) -> str:
    report = view.report
    targets = report.targets["attainment"]
    return _HTML.render(
        v=view, marks=MARK_SVG,
        attainment_svg=attainment_chart(report.regions, targets, view.s["chart_attainment"]),
        volume_svg=volume_chart(report.regions, view.s["chart_volume"]),
    )


def render_report(report: MonthlyReport, config: Config, lang: str = "en", fmt: str = "md") -> str:
    if fmt == "json":
        return json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return render_markdown(View(report, config, lang, VERDICT_MD))
    if fmt == "html":
        return render_html(View(report, config, lang, VERDICT_HTML))
    raise ValueError(f"expected one of {', '.join(FORMATS)}, got {fmt!r}")
