"""The public RCA (mission section E): its sections per language, and what a publishable RCA must hold.

An RCA body is Markdown with one `## ` heading per section, in each language's own words. A published
(non-draft) RCA is refused unless, in every language file:

- every section heading is present, and each section has text (blank lines and HTML comments do not count);
- the mitigation section has a "permanent actions" item (ko `영구 조치`, ja `恒久対応`, en `Permanent actions`)
  and every action in it carries a due date: the due word (ko `기한`, ja `期限`, en `due`) followed by an ISO
  date `YYYY-MM-DD`. Actions are the sub-items under that item, or else its text split at `;`, `,` or `、`
  outside parentheses;
- it links a release or a guardrail issue: a guardrail issue key (`GR-<number>`) or a link whose path has a
  `/releases/` or `/release-notes/` segment;
- the overview's period line (ko `기간`, ja `期間`, en `Period`) gives UTC beside the local times, as every
  time on the site does (mission D).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..content.load import Problem
from ..content.model import Rca

SECTION_KEYS = ("overview", "cause", "mitigation", "prevention", "evidence", "contact")
SECTIONS: dict[str, dict[str, str]] = {
    "ko": {"overview": "개요", "cause": "원인", "mitigation": "완화 및 복구", "prevention": "재발 방지",
           "evidence": "증거", "contact": "문의"},
    "ja": {"overview": "概要", "cause": "原因", "mitigation": "緩和と復旧", "prevention": "再発防止",
           "evidence": "エビデンス", "contact": "お問い合わせ"},
    "en": {"overview": "Overview", "cause": "Cause", "mitigation": "Mitigation and recovery",
           "prevention": "Prevention", "evidence": "Evidence", "contact": "Contact"},
}
PERMANENT_ACTIONS = {"ko": "영구 조치", "ja": "恒久対応", "en": "Permanent actions"}
DUE_WORDS = {"ko": "기한", "ja": "期限", "en": "due"}
PERIOD_WORDS = {"ko": "기간", "ja": "期間", "en": "Period"}
GUARDRAIL_ISSUE = re.compile(r"\bGR-\d+\b")
RELEASE_LINK = re.compile(r"https://[^\s)>\]]+/(?:releases|release-notes)/[^\s)>\]]*")

_HEADING = re.compile(r"^##\s+(?P<title>.+?)\s*#*\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_DATE = r"\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class Section:
    key: str | None  # one of SECTION_KEYS, None for a heading we do not know
    title: str
    line: int  # line of the heading in the file
    text: str  # the lines after the heading, up to the next `## ` heading

    @property
    def is_empty(self) -> bool:
        return not _COMMENT.sub("", self.text).strip()


def split_sections(rca: Rca) -> list[Section]:
    """The `## ` sections of an RCA body, with the file line of each heading."""
    titles = {title: key for key, title in SECTIONS[rca.lang].items()}
    sections: list[Section] = []
    current: tuple[str, int] | None = None
    lines: list[str] = []
    for number, line in enumerate(rca.body.splitlines(), start=rca.body_line):
        match = _HEADING.match(line)
        if match:
            if current:
                sections.append(Section(titles.get(current[0]), current[0], current[1], "\n".join(lines)))
            current, lines = (match["title"], number), []
        elif current:
            lines.append(line)
    if current:
        sections.append(Section(titles.get(current[0]), current[0], current[1], "\n".join(lines)))
    return sections


def completeness_problems(rca: Rca) -> list[Problem]:
    """Why a published RCA may not be published yet (empty for a complete one; drafts are not judged)."""
    if rca.draft:
        return []
    lang = rca.lang
    sections = {s.key: s for s in split_sections(rca) if s.key}
    problems: list[Problem] = []
    for index, key in enumerate(SECTION_KEYS):
        title = SECTIONS[lang][key]
        if key not in sections:
            # Point at where the section belongs: the heading of the next section that is there.
            following = [sections[k].line for k in SECTION_KEYS[index + 1:] if k in sections]
            line = following[0] if following else max((s.line for s in sections.values()), default=rca.body_line)
            problems.append(Problem(rca.path, line, f"section '{title}'",
                                    f"expected a '## {title}' section, found none"))
        elif sections[key].is_empty:
            problems.append(Problem(rca.path, sections[key].line, f"section '{title}'",
                                    "expected text in the section, found it empty"))
    overview = sections.get("overview")
    if overview and not overview.is_empty:
        problems += _period_problems(rca, overview)
    mitigation = sections.get("mitigation")
    if mitigation and not mitigation.is_empty:
        problems += _permanent_action_problems(rca, mitigation)
    if not (GUARDRAIL_ISSUE.search(rca.body) or RELEASE_LINK.search(rca.body)):
        where = sections.get("prevention")
        problems.append(Problem(rca.path, where.line if where else rca.body_line, "links",
                                "expected a link to a release (a URL with /releases/ or /release-notes/) "
                                "or a guardrail issue (GR-<number>), found none"))
    return problems


def _period_problems(rca: Rca, section: Section) -> list[Problem]:
    word = PERIOD_WORDS[rca.lang]
    for offset, line in enumerate(section.text.splitlines(), start=1):
        if word.lower() in line.lower() and "UTC" not in line:
            got = re.sub(r"^\s*[-*+]\s+", "", line).strip()
            return [Problem(rca.path, section.line + offset, f"section '{SECTIONS[rca.lang]['overview']}'",
                            f"expected the period in local time and UTC side by side, got {got!r}")]
    return []


def _permanent_action_problems(rca: Rca, section: Section) -> list[Problem]:
    label = PERMANENT_ACTIONS[rca.lang]
    field = f"section '{SECTIONS[rca.lang]['mitigation']}'"
    lines = section.text.splitlines()
    start = next((i for i, line in enumerate(lines) if label.lower() in line.lower()), None)
    if start is None:
        return [Problem(rca.path, section.line, field,
                        f"expected a '{label}' item listing the permanent actions with due dates, found none")]
    due = re.compile(rf"{re.escape(DUE_WORDS[rca.lang])}\s*[:：]?\s*{_DATE}", re.IGNORECASE)
    head = lines[start]
    indent = len(head) - len(head.lstrip())
    items: list[tuple[int, str]] = []
    for offset, line in enumerate(lines[start + 1:], start=start + 1):
        if not line.strip():
            continue
        if len(line) - len(line.lstrip()) <= indent:
            break
        items.append((offset, line.strip().lstrip("-*+ ").strip()))
    if not items:
        after = head.split(label, 1)[-1] if label in head else head
        after = re.sub(r"^[\s*:：]+", "", after)
        items = [(start, action) for action in _split_actions(after)]
    if not items:
        return [Problem(rca.path, section.line + 1 + start, field,
                        f"expected at least one permanent action after '{label}', found none")]
    return [
        Problem(rca.path, section.line + 1 + offset, field,
                f"expected a due date ('{DUE_WORDS[rca.lang]} YYYY-MM-DD') for the permanent action {action!r}")
        for offset, action in items if not due.search(action)
    ]


def _split_actions(text: str) -> list[str]:
    actions, depth, current = [], 0, ""
    for char in text:
        if char in "(（[":
            depth += 1
        elif char in ")）]":
            depth = max(0, depth - 1)
        if depth == 0 and char in ";；,、":
            actions.append(current)
            current = ""
        else:
            current += char
    actions.append(current)
    return [a.strip().rstrip(".。").strip() for a in actions if a.strip().rstrip(".。").strip()]
