"""Status badges: shields.io endpoint JSON and a plain SVG, per component and for the page as a whole.

`badge/<component>.json` follows shields.io's endpoint schema (schemaVersion 1, label, message, color), so
`https://img.shields.io/endpoint?url=...` draws it; `badge/<component>.svg` is a self-contained badge for
places that cannot reach shields.io. Labels and messages are in the language of the folder they are in.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path

from ..content.model import Repository
from .api import language_prefix
from .pages import STRINGS
from .status import component_states, is_active, page_banner, published_incidents

STATUS_COLOURS = {
    "operational": "#2e7d32",
    "under_maintenance": "#1565c0",
    "degraded_performance": "#9a6b00",
    "partial_outage": "#d84315",
    "major_outage": "#c62828",
}
# shields.io's named colours for the endpoint JSON, matching the SVG colours above
SHIELDS_COLOURS = {"#2e7d32": "brightgreen", "#1565c0": "blue", "#9a6b00": "yellow", "#d84315": "orange",
                   "#c62828": "red"}
INDICATOR_COLOURS = {"none": "#2e7d32", "minor": "#9a6b00", "major": "#d84315", "critical": "#c62828",
                     "maintenance": "#1565c0"}


@dataclass(frozen=True)
class Badge:
    name: str  # file name without extension: a component id or `overall`
    label: str
    message: str
    colour: str

    def endpoint(self) -> dict:
        return {"schemaVersion": 1, "label": self.label, "message": self.message, "color": SHIELDS_COLOURS[self.colour]}

    def svg(self) -> str:
        left, right = _text_width(self.label) + 12, _text_width(self.message) + 12
        width = left + right
        label, message = escape(self.label), escape(self.message)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
            f'aria-label="{label}: {message}"><title>{label}: {message}</title>'
            f'<rect width="{left}" height="20" fill="#555"/>'
            f'<rect x="{left}" width="{right}" height="20" fill="{self.colour}"/>'
            f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,Noto Sans CJK KR,sans-serif" '
            f'font-size="11"><text x="{left / 2}" y="14">{label}</text>'
            f'<text x="{left + right / 2}" y="14">{message}</text></g></svg>\n'
        )


def _text_width(text: str) -> int:
    """Rough width in pixels at 11 px: East Asian wide characters take a full em, others about 0.6 em."""
    return round(sum(11 if unicodedata.east_asian_width(ch) in "WF" else 6.6 for ch in text))


def badges(repository: Repository, now: datetime, lang: str) -> list[Badge]:
    config = repository.config

    def text(texts) -> str:
        return texts.get(lang) or texts.get(config.default_language) or ""

    states = component_states(repository, now)
    # the badge says what the home page's banner says (its worst component), never more
    active = [i for i in published_incidents(repository) if is_active(i, now)]
    banner = page_banner(states, active)
    result = [Badge("overall", text(config.page.name), STRINGS[f"banner_{banner.status}"][lang],
                    INDICATOR_COLOURS[banner.indicator])]
    services = {s.id: s for s in config.services}
    for state in states:
        label = f"{state.region} {text(services[state.service].name)}"
        result.append(Badge(state.id, label, STRINGS[f"status_{state.status.value}"][lang],
                            STATUS_COLOURS[state.status.value]))
    return result


def write_badges(repository: Repository, now: datetime, site_dir: Path) -> list[Path]:
    written = []
    for lang in repository.config.languages:
        folder = Path(site_dir) / language_prefix(repository, lang) / "badge"
        folder.mkdir(parents=True, exist_ok=True)
        for badge in badges(repository, now, lang):
            json_path, svg_path = folder / f"{badge.name}.json", folder / f"{badge.name}.svg"
            json_path.write_text(json.dumps(badge.endpoint(), ensure_ascii=False) + "\n", encoding="utf-8")
            svg_path.write_text(badge.svg(), encoding="utf-8")
            written += [json_path, svg_path]
    return written
