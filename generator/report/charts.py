"""Server-side SVG charts of the monthly report: readable without JavaScript, styled by attributes only."""
from __future__ import annotations

from html import escape
from typing import Sequence

from .monthly import GroupReport

COLORS = ("#2563eb", "#d97706", "#059669", "#7c3aed")


def attainment_chart(regions: Sequence[GroupReport], targets: dict[str, float | None], title: str) -> str:
    """Grouped bars: one group per severity, one bar per region, a dashed line at each severity's target."""
    width, height, left, top, bottom = 640, 280, 44, 36, 40
    plot_h = height - top - bottom
    severities = [row.severity.value for row in regions[0].severities] if regions else []
    group_w = (width - left - 16) / max(1, len(severities))
    bar_w = min(36.0, (group_w - 24) / max(1, len(regions)))

    def y(value: float) -> float:
        return top + plot_h * (1 - value / 100)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="attainment" role="img" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="18" font-size="13" font-weight="600">{escape(title)}</text>']
    for tick in (0, 25, 50, 75, 100):
        parts.append(f'<line x1="{left}" x2="{width - 16}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end">{tick}%</text>')
    for g, severity in enumerate(severities):
        x0 = left + g * group_w + 12
        for r, region in enumerate(regions):
            row = region.severities[g]
            x = x0 + r * bar_w
            if row.attainment is not None:
                parts.append(
                    f'<rect class="bar" x="{x:.1f}" y="{y(row.attainment):.1f}" width="{bar_w - 4:.1f}" '
                    f'height="{plot_h * row.attainment / 100:.1f}" fill="{COLORS[r % len(COLORS)]}">'
                    f'<title>{escape(region.key)} {severity}: {row.attainment:g}% '
                    f'({row.attained}/{row.decided})</title></rect>'
                    f'<text x="{x + (bar_w - 4) / 2:.1f}" y="{y(row.attainment) - 3:.1f}" font-size="9" '
                    f'text-anchor="middle">{row.attainment:.0f}</text>')
        target = targets.get(severity)
        if target is not None:
            parts.append(f'<line class="target" x1="{x0 - 6:.1f}" x2="{x0 + len(regions) * bar_w + 2:.1f}" '
                         f'y1="{y(target):.1f}" y2="{y(target):.1f}" stroke="#dc2626" stroke-width="2" '
                         f'stroke-dasharray="5 3"><title>{severity} target {target:g}%</title></line>')
        parts.append(f'<text x="{x0 + len(regions) * bar_w / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                     f'text-anchor="middle">{severity}</text>')
    for r, region in enumerate(regions):
        lx = left + r * 90
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{COLORS[r % len(COLORS)]}"/>'
                     f'<text x="{lx + 14}" y="{height - 5}" font-size="11">{escape(region.key)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def volume_chart(regions: Sequence[GroupReport], title: str) -> str:
    """Stacked bars of tickets created per day of the month, one colour per region."""
    width, height, left, top, bottom = 640, 220, 44, 36, 40
    plot_h = height - top - bottom
    days = len(regions[0].daily) if regions else 0
    totals = [sum(region.daily[d] for region in regions) for d in range(days)]
    peak = max(totals, default=0) or 1
    step = (width - left - 16) / max(1, days)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="volume" role="img" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="18" font-size="13" font-weight="600">{escape(title)}</text>',
             f'<line x1="{left}" x2="{width - 16}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9ca3af"/>',
             f'<text x="{left - 6}" y="{top + 4}" font-size="10" text-anchor="end">{peak}</text>']
    for d in range(days):
        x, base = left + d * step, top + plot_h
        for r, region in enumerate(regions):
            count = region.daily[d]
            if count:
                h = plot_h * count / peak
                base -= h
                parts.append(f'<rect class="bar" x="{x + 1:.1f}" y="{base:.1f}" width="{step - 2:.1f}" '
                             f'height="{h:.1f}" fill="{COLORS[r % len(COLORS)]}">'
                             f'<title>{d + 1}: {escape(region.key)} {count}</title></rect>')
        if d % 5 == 0 or d == days - 1:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
                         f'text-anchor="middle">{d + 1}</text>')
    for r, region in enumerate(regions):
        lx = left + r * 90
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{COLORS[r % len(COLORS)]}"/>'
                     f'<text x="{lx + 14}" y="{height - 5}" font-size="11">{escape(region.key)} '
                     f'({region.tickets})</text>')
    parts.append("</svg>")
    return "".join(parts)
