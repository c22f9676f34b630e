"""`statusgen init`: a new status repository for a new company in one command.

Writes `status.yaml` (product name, languages, regions with time zone and holiday country, services, the
mission's SLA table), empty `incidents/ maintenance/ rca/`, the default macros, a glossary and tenants
example, `mkdocs.yml`, CI workflows, `.github/allowed_signers`, `.gitignore`, `scripts/`, a short README,
and runs `git init`. Everything is written into a staging directory beside the target and moved into place
only once the new configuration loads, so a refused request leaves nothing behind.
"""
from __future__ import annotations

import importlib.resources
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .. import __version__
from ..content.load import LoadFailed, load_config
from ..content.model import LANGUAGES

FILES = Path(str(importlib.resources.files(__package__).joinpath("files")))
DEFAULT_PACKAGE = f"statusgen=={__version__}"
DEFAULT_URL = "https://status.example.com/"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

# The mission's SLA table (section B): first response, resolution target, update cadence; S1/S2 24x7.
SLA_NAMES = {
    "S1": {"ko": "전면 장애", "ja": "全面障害", "en": "Outage"},
    "S2": {"ko": "주요 장애", "ja": "重大障害", "en": "Major"},
    "S3": {"ko": "일반", "ja": "通常", "en": "Normal"},
    "S4": {"ko": "문의", "ja": "問い合わせ", "en": "Question"},
}
SLA_POLICIES = {
    "S1": {"first_response": "15m", "resolution": "4h", "update_cadence": "30m", "calendar": "24x7",
           "status_post": "0m", "rca_due": "48h", "attainment_target": 98},
    "S2": {"first_response": "30m", "resolution": "8h", "update_cadence": "60m", "calendar": "24x7",
           "status_post": "10m", "rca_due": "72h", "attainment_target": 96},
    "S3": {"first_response": "4h", "resolution": "3d", "update_cadence": "1d", "calendar": "business",
           "attainment_target": 90},
    "S4": {"first_response": "1d", "resolution": "5d", "update_cadence": None, "calendar": "business"},
}
PAGE_NAME = {"ko": "{name} 서비스 상태", "ja": "{name} サービスステータス", "en": "{name} Service Status"}
PAGE_DESCRIPTION = {"ko": "{name}의 지역별 운영 상태와 장애·점검 이력입니다.",
                    "ja": "{name} のリージョン別稼働状況と障害・メンテナンス履歴です。",
                    "en": "Live status, incidents and maintenance of {name}, per region."}
LANGUAGE_NAMES = {"ko": "한국어", "ja": "日本語", "en": "English"}
HISTORY = {"ko": "이력", "ja": "履歴", "en": "History"}


class InitError(Exception):
    """The request cannot become a repository; the message says which option to fix."""


@dataclass(frozen=True)
class RegionSpec:
    """`ID:Time/Zone:COUNTRY[-SUBDIV]`, e.g. `US:America/New_York:US` or `GB:Europe/London:GB-ENG`."""

    id: str
    timezone: str
    country: str
    subdiv: str | None = None

    @classmethod
    def parse(cls, text: str) -> "RegionSpec":
        parts = text.split(":")
        if len(parts) != 3 or not all(parts):
            raise InitError(f"--region: expected ID:Time/Zone:COUNTRY[-SUBDIV] (e.g. KR:Asia/Seoul:KR, "
                            f"GB:Europe/London:GB-ENG), got {text!r}")
        region_id, zone, holiday = parts
        if not re.fullmatch(r"[A-Z]{2,8}", region_id):
            raise InitError(f"--region: expected an upper-case region id of 2-8 letters (KR, US, EU), got {region_id!r}")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InitError(f"--region {text}: expected an IANA time zone such as Asia/Seoul, got {zone!r}") from None
        country, _, subdiv = holiday.partition("-")
        return cls(region_id, zone, country.upper(), subdiv or None)


@dataclass(frozen=True)
class StarterRequest:
    name: str
    languages: tuple[str, ...] = LANGUAGES
    regions: tuple[RegionSpec, ...] = ()
    services: tuple[str, ...] = ()
    url: str = DEFAULT_URL
    package: str = DEFAULT_PACKAGE
    signers: tuple[tuple[str, str], ...] = field(default=())  # (principal, public key line)
    dashboard_hosts: tuple[str, ...] = ()  # evidence links to these hosts are published as they are


def parse_languages(text: str) -> tuple[str, ...]:
    languages = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if not languages or unknown or len(set(languages)) != len(languages):
        raise InitError(f"--languages: expected a comma-separated subset of ko,ja,en (the first is the default), "
                        f"got {text!r}")
    return languages


def _texts(languages, make) -> dict[str, str]:
    return {lang: make(lang) for lang in languages}


def _country_name(country: str, lang: str) -> str:
    from babel import Locale

    return Locale.parse(lang).territories.get(country, country)


def status_yaml(request: StarterRequest) -> str:
    langs = request.languages
    config = {
        "page": {
            "name": _texts(langs, lambda l: PAGE_NAME[l].format(name=request.name)),
            "description": _texts(langs, lambda l: PAGE_DESCRIPTION[l].format(name=request.name)),
            "url": request.url,
        },
        "languages": list(langs),
        "regions": [
            {
                "id": region.id,
                "name": _texts(langs, lambda l, r=region: _country_name(r.country, l)),
                "timezone": region.timezone,
                "business_hours": {"start": "09:00", "end": "18:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
                "holidays": {"country": region.country, **({"subdiv": region.subdiv} if region.subdiv else {}),
                             "categories": ["public"]},
                "closures": [],
            }
            for region in request.regions
        ],
        "services": [{"id": service, "name": _texts(langs, lambda l, s=service: s.replace("-", " ").title()
                                                     if len(s) > 3 else s.upper())}
                     for service in request.services],
        "sla": {
            "policies": {severity: {"name": _texts(langs, lambda l, s=severity: SLA_NAMES[s][l]), **policy}
                         for severity, policy in SLA_POLICIES.items()},
            "ola": {"owner_assigned": {"S1": "10m"}, "secondary_verdict": {"S2": "30m"}},
            "maintenance_notice": "3d",
            "update_interval_compliance_target": 95,
            "csat_target": 4.5,
        },
        "guardrail": {"internal_hosts": [], "dashboard_hosts": list(request.dashboard_hosts), "allowed_emails": []},
    }
    header = (f"# {request.name}: the status page's configuration (written by `statusgen init`; edit freely).\n"
              "# Languages (the first is served at /), regions with their business calendars, services, and the\n"
              "# SLA policy. Components are every region x service pair, e.g. "
              f"{request.regions[0].id.lower()}-{request.services[0]}.\n")
    return header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=120)


def mkdocs_yaml(request: StarterRequest) -> str:
    default = request.languages[0]
    site_name = PAGE_NAME[default].format(name=request.name)
    config = {
        "site_name": site_name,
        "site_url": request.url,
        "use_directory_urls": True,
        "docs_dir": ".statusgen/docs",
        "site_dir": "public",
        "theme": {"name": "material", "language": default, "font": False,
                  "features": ["navigation.tabs", "navigation.top", "search.suggest"],
                  "palette": [{"scheme": "default", "primary": "indigo"}]},
        "extra_css": ["assets/status.css"],
        "markdown_extensions": ["attr_list", "tables", "admonition", {"toc": {"permalink": False}}],
        "plugins": [
            "statusgen",
            {"search": {"lang": sorted(request.languages)}},
            {"i18n": {
                "docs_structure": "suffix",
                "reconfigure_search": False,
                "languages": [
                    {"locale": lang, **({"default": True} if lang == default else {}), "name": LANGUAGE_NAMES[lang],
                     "build": True, "site_name": PAGE_NAME[lang].format(name=request.name),
                     **({"nav_translations": {"History": HISTORY[lang]}} if lang != "en" else {})}
                    for lang in request.languages
                ],
            }},
        ],
        "nav": ["index.md", "history.md", "verify.md"],
        "not_in_nav": "/components/\n/incidents/\n/maintenance/\n/rca/\n",
    }
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=120)
    # Korean and Japanese headings need a unicode slugify (a tag PyYAML cannot dump from data).
    toc = "  - toc:\n      permalink: false\n"
    slugify = toc + "      slugify: !!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}\n"
    return ("# mkdocs configuration of the status site (written by `statusgen init`); `statusgen build` sets\n"
            "# docs_dir and site_dir.\n" + text.replace(toc, slugify))


def readme(request: StarterRequest) -> str:
    first_region = request.regions[0].id
    return f"""# {request.name} status page

The public status site of {request.name}, built by [statusgen](https://pypi.org/project/statusgen/) from the
incident, maintenance and RCA files in this repository. Made with `statusgen init`.

## Set up once

```sh
bash scripts/setup          # .venv with statusgen
. .venv/bin/activate
statusgen doctor            # what publishing still needs on this machine and repository, with the fix
```

## During an incident

```sh
statusgen new incident --region {first_region} --severity S2 --component {request.services[0]} --slug short-name \\
    --ticket TICKET-1 --var metric="p95 latency" --var value="18 s"
statusgen check             # then delete `draft: true` in the new file, commit signed and push: CI publishes
statusgen update short-name --status identified --var value="12 s"
```

`status.yaml` holds the languages, regions, services and SLA policy; the communication macros are in
`templates/macros/`. CI (`.github/workflows/`) checks every pull request and publishes every push to `main`
to the `gh-pages` branch with an SSH-signed commit (repository secret `STATUSGEN_SIGNING_KEY`).
"""


def allowed_signers(request: StarterRequest) -> str:
    lines = ["# Who may sign content and publish commits: `<principal> namespaces=\"git,statusgen-ledger\" <key>`.",
             "# Add each engineer's and CI's public SSH key (`statusgen doctor` prints the line for yours)."]
    lines += [f'{principal} namespaces="git,statusgen-ledger" {key}' for principal, key in request.signers]
    return "\n".join(lines) + "\n"


def validate(request: StarterRequest) -> None:
    if not request.name.strip():
        raise InitError("--name: expected the product name, e.g. \"Acme Cloud\"")
    if not request.regions:
        raise InitError("--region: expected at least one region, e.g. --region US:America/New_York:US")
    if not request.services:
        raise InitError("--service: expected at least one service id, e.g. --service api")
    for service in request.services:
        if not _ID.match(service):
            raise InitError(f"--service: expected a lower-case id such as api or console, got {service!r}")
    if len({r.id for r in request.regions}) != len(request.regions):
        raise InitError("--region: expected each region id once")
    if len(set(request.services)) != len(request.services):
        raise InitError("--service: expected each service once")


def init_repository(target: Path, request: StarterRequest) -> list[str]:
    """Write the new repository into `target` (absent or empty) and `git init` it; returns the files written."""
    validate(request)
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InitError(f"{target}: already exists and is not empty; choose a new directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".statusgen-init-", dir=target.parent) as tmp:
        staging = Path(tmp) / "repo"
        _write_files(staging, request)
        try:
            load_config(staging)
        except LoadFailed as failed:
            raise InitError("the new status.yaml does not validate:\n  "
                            + "\n  ".join(str(p) for p in failed.problems)) from None
        written = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        if target.exists():
            target.rmdir()
        shutil.move(str(staging), str(target))
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True, capture_output=True)
    return written


def _write_files(root: Path, request: StarterRequest) -> None:
    root.mkdir()
    (root / "status.yaml").write_text(status_yaml(request), encoding="utf-8")
    (root / "mkdocs.yml").write_text(mkdocs_yaml(request), encoding="utf-8")
    (root / "README.md").write_text(readme(request), encoding="utf-8")
    for directory in ("incidents", "maintenance", "rca"):
        (root / directory).mkdir()
        (root / directory / ".gitkeep").write_bytes(b"")
    shutil.copytree(FILES / "templates", root / "templates")
    shutil.copytree(FILES / "github", root / ".github")
    (root / ".github" / "allowed_signers").write_text(allowed_signers(request), encoding="utf-8")
    shutil.copy(FILES / "gitignore", root / ".gitignore")
    for name in ("glossary.yaml", "tenants.yaml"):
        shutil.copy(FILES / name, root / name)
    (root / "scripts").mkdir()
    for name in ("setup", "test"):
        text = (FILES / "scripts" / name).read_text(encoding="utf-8").replace("@PACKAGE@", request.package)
        (root / "scripts" / name).write_text(text, encoding="utf-8")
        (root / "scripts" / name).chmod(0o755)
