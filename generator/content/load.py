"""Files -> model: reads the configuration, incidents, maintenance and RCAs and validates them.

Every problem comes back as a `Problem` that names the file, the line and the field, so a person can fix
it during an outage. All problems are collected in one run; nothing stops at the first.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import re
import stat
import typing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .model import (
    LANGUAGES,
    Config,
    Incident,
    Limits,
    IncidentStatus,
    Maintenance,
    Rca,
    RcaFrontMatter,
    Repository,
    Severity,
    Texts,
)
from .cache import Cache, code_version, digest
from .index import FileIndex
from .macrofiles import MACRO_DIR, Macro, load_macros
from .tree import LINK_REFUSED, REPOSITORY_SOURCES, outside_links, scan_tree

if typing.TYPE_CHECKING:
    from .glossary import Glossary
from .yamlsource import Loc, YamlDocument, YamlLimits, YamlSyntaxError, parse_yaml

CONFIG_FILE = "status.yaml"
INCIDENT_DIR = "incidents"
MAINTENANCE_DIR = "maintenance"
RCA_DIR = "rca"
RCA_NAME = re.compile(r"^(?P<id>[a-z0-9][a-z0-9._-]*)\.(?P<lang>ko|ja|en)\.md$")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    field: str
    message: str
    level: str = "error"  # or "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        prefix = "warning: " if self.level == "warning" else ""
        return f"{where}: {prefix}{self.field}: {self.message}" if self.field else f"{where}: {prefix}{self.message}"


class LoadFailed(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def field_path(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


# ---------------------------------------------------------------- pydantic errors -> Problems


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that owns the last part of `loc`, to list the fields it accepts."""
    current: object = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(part) or next(
                (f for f in current.model_fields.values() if f.alias == part), None
            )
            if info is None:
                return None
            current = info.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: object) -> object:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, getattr(__import__("types"), "UnionType")):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0]
        else:
            return annotation


def _accepted_fields(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def problems_from_validation(
    exc: ValidationError | list[dict], model: type[BaseModel], doc: YamlDocument, path: str
) -> list[Problem]:
    """pydantic's errors (a ValidationError or its `.errors()` list) as Problems a person can act on."""
    errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc
    problems = []
    for error in errors:
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or "-" in p and "(" in p)))
        kind = error["type"]
        given = error.get("input")
        if kind == "missing":
            message = "required field is missing"
            owner = _model_at(model, loc[:-1])
            if owner is not None and owner.__name__ == "Texts":
                message = "required field is missing (a text per language: ko, ja, en)"
        elif kind == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            accepted = _accepted_fields(owner) if owner else []
            close = difflib.get_close_matches(str(loc[-1]), accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown field{hint}; expected one of: {', '.join(accepted)}"
        elif kind in ("enum", "literal_error"):
            expected = error.get("ctx", {}).get("expected", "")
            message = f"expected one of {expected.replace(chr(39), '')}, got {given!r}"
        elif kind == "value_error":
            message = error["msg"].removeprefix("Value error, ")
        elif kind == "string_pattern_mismatch":
            message = f"expected text matching {error['ctx']['pattern']}, got {given!r}"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = f"expected a mapping of fields, got {_describe(given)}"
        elif kind == "list_type":
            message = f"expected a list, got {_describe(given)}"
        elif kind == "string_type" and isinstance(given, (list, dict)):
            message = (f"expected text, got {_describe(given)}: YAML reads a value starting with \"[\" or \"{{\" "
                       f"as a list or mapping; put the text in quotes")
        elif kind == "too_short":
            message = "expected at least one entry, got none"
        else:
            message = f"expected {error['msg'].removeprefix('Input should be ').rstrip('.')}, got {given!r}"
        problems.append(Problem(path, doc.line_of(loc), field_path(loc), message))
    return problems


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


# ---------------------------------------------------------------- reading files


@dataclass
class Source:
    path: str  # as shown to the user, relative to the repository root
    doc: YamlDocument


def read_content_text(root: Path, file: Path, problems: list[Problem], limits: Limits = Limits()) -> str | None:
    """The text of one content file, or None with a Problem: too large, not a regular file, not UTF-8.

    Reads at most `limits.max_file_bytes` + 1 bytes, so a huge file (or a device) costs nothing.
    """
    rel = file.relative_to(root).as_posix()
    try:
        with file.open("rb") as stream:
            raw = stream.read(limits.max_file_bytes + 1)
    except IsADirectoryError:
        problems.append(Problem(rel, 1, "", "expected a file, found a directory named like one; rename or move it"))
        return None
    except OSError as exc:
        problems.append(Problem(rel, 1, "", f"expected a readable file, got {exc.strerror or exc}"))
        return None
    if len(raw) > limits.max_file_bytes:
        problems.append(Problem(rel, 1, "", f"expected a file of at most {limits.max_file_bytes} bytes "
                                            f"(limits.max_file_bytes in {CONFIG_FILE}), got a larger one"))
        return None
    return decode_utf8(raw, rel, problems)


def decode_utf8(raw: bytes, rel: str, problems: list[Problem]) -> str | None:
    """`raw` as text, or None with a Problem naming the line and column of the first undecodable byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.append(Problem(rel, line, "", f"expected UTF-8 text, got the byte 0x{raw[exc.start]:02x} "
                                               f"at column {column}, which is not UTF-8; save the file as UTF-8"))
        return None


def yaml_limits(limits: Limits) -> YamlLimits:
    return YamlLimits(max_depth=limits.max_depth, max_text_chars=limits.max_text_chars)


def _read_yaml(root: Path, file: Path, problems: list[Problem], line_offset: int = 0, text: str | None = None,
               limits: Limits = Limits()):
    rel = file.relative_to(root).as_posix()
    if text is None:
        text = read_content_text(root, file, problems, limits)
        if text is None:
            return None
    try:
        doc = parse_yaml(text, line_offset, yaml_limits(limits))
    except YamlSyntaxError as exc:
        problems.append(Problem(rel, exc.line, "", exc.message))
        return None
    if not isinstance(doc.value, dict):
        problems.append(Problem(rel, 1 + line_offset, "", f"expected a mapping of fields, got {_describe(doc.value)}"))
        return None
    return Source(rel, doc)


def _validate(model: type[BaseModel], source: Source, problems: list[Problem]):
    try:
        return model.model_validate(source.doc.value)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, model, source.doc, source.path))
        return None


def content_files(root: Path, directory: str, suffixes: tuple[str, ...]) -> list[Path]:
    """The content files under `directory`, by path parts. A directory named like a content file is listed
    too: reading it reports it instead of skipping it."""
    return [path for path, _ in content_entries(root, directory, suffixes)]


def content_entries(root: Path, directory: str, suffixes: tuple[str, ...]) -> list[tuple[Path, os.stat_result]]:
    """`content_files` with each one's `os.stat` (links followed), taken once: what a stat index needs."""
    base = root / directory
    if not base.is_dir():
        return []
    found = []
    for path, name in _tree(str(base)):
        if not name.endswith(suffixes) or name.startswith("."):
            continue
        try:
            status = os.stat(path)
        except (OSError, ValueError):  # gone, or a broken link: neither a file nor a directory
            continue
        if stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode):
            found.append((path, status))
    # By path parts, as `content_files` sorts them.
    found.sort(key=lambda entry: entry[0].split(os.sep))
    return [(Path(path), status) for path, status in found]


def _tree(folder: str) -> list[tuple[str, str]]:
    """(path, name) of every entry under `folder`, as `Path.rglob("*")` finds them (links listed, not followed)
    but without making a Path of each."""
    return [(entry.path, entry.name) for entry in scan_tree(folder)]


def refuse_outside_links(root: Path, paths: tuple[str, ...] = REPOSITORY_SOURCES) -> None:
    """Before anything is read: a content file or site source that is a link out of the repository is an
    error naming the link (never its target or what the target holds). See `content.tree`."""
    links = outside_links(root, paths)
    if links:
        raise LoadFailed([Problem(link, 1, "", LINK_REFUSED) for link in links])


def load_config(root: Path) -> Config:
    problems: list[Problem] = []
    refuse_outside_links(root, (CONFIG_FILE,))
    file = root / CONFIG_FILE
    if not file.is_file():
        raise LoadFailed([Problem(CONFIG_FILE, 1, "", f"expected the configuration file {CONFIG_FILE} in {root}")])
    source = _read_yaml(root, file, problems)
    config = _validate(Config, source, problems) if source else None
    if config is not None:
        problems.extend(_check_config(config, source))
    if problems or config is None:
        raise LoadFailed(problems)
    return config


def _check_config(config: Config, source: Source) -> list[Problem]:
    problems = []
    # Any subset of ko/ja/en may be published (a company starts with the languages it serves), each once.
    if not config.languages or len(set(config.languages)) != len(config.languages):
        problems.append(Problem(source.path, source.doc.line_of(("languages",)), "languages",
                                f"expected one or more of ko, ja and en, each once (default first), "
                                f"got {config.languages}"))
    missing = [severity.value for severity in Severity if severity not in config.sla.policies]
    if missing:
        problems.append(Problem(source.path, source.doc.line_of(("sla", "policies")), "sla.policies",
                                f"expected a policy for every severity ({', '.join(s.value for s in Severity)}), "
                                f"missing: {', '.join(missing)}"))
    for kind, items in (("regions", config.regions), ("services", config.services)):
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.id in seen:
                problems.append(Problem(source.path, source.doc.line_of((kind, index, "id")), f"{kind}[{index}].id",
                                        f"expected a unique id, got a second {item.id!r}"))
            seen.add(item.id)
    return problems


@dataclass(frozen=True)
class Loaded:
    """A validated repository plus where each incident and maintenance came from, for later checks."""

    repository: Repository
    sources: dict[str, Source]
    root: Path | None = None  # the content repository, for messages naming its files
    # Read here, once, so the checks never go back to disk: the glossary (None when the repository has
    # none), the problems of a malformed glossary file (reported by the check, not fatal to loading), and
    # the macro files keyed by (name, lang) (None when the repository has no macro folder).
    glossary: "Glossary | None" = None
    glossary_problems: tuple[Problem, ...] = ()
    macros: "dict[tuple[str, str], Macro] | None" = None
    # Per incident/maintenance id: the hash of its file's bytes, path, status.yaml and the loading rules.
    # Later stages key their cached results of that item by it (`content.cache`).
    fingerprints: dict[str, str] = field(default_factory=dict)

    def where(self, item_id: str, *loc: str | int) -> tuple[str, int]:
        """`(path, line)` of a field of the incident or maintenance `item_id`."""
        source = self.sources[item_id]
        return source.path, source.doc.line_of(tuple(loc))

    def problem(self, item_id: str, loc: Loc, message: str, level: str = "error") -> Problem:
        path, line = self.where(item_id, *loc)
        return Problem(path, line, field_path(loc), message, level)


def load_repository(root: Path) -> Repository:
    """Load and validate everything; raises LoadFailed with every problem found."""
    return load_content(root).repository


@dataclass(frozen=True)
class ItemFile:
    """An incident or maintenance file as scanned for loading, with its fingerprint: the hash of its path, the
    hash of its bytes, status.yaml and the loading rules. Equal fingerprints, equal load results."""

    path: str  # relative to the repository, as shown to the user
    file: Path
    model: type
    data: bytes | None  # None for a directory named like a content file, or a file the stat index vouched for
    fingerprint: str
    sha: str | None = None  # SHA-256 of the bytes (None for a directory)


# What a file's load result derives from besides its bytes: this package's code (model, rules, YAML reader).
LOAD_RULES = code_version(str(Path(__file__).parent))


def scan_item_files(root: Path, cache: Cache | None = None) -> list[ItemFile]:
    """Every incident and maintenance file of the repository, fingerprinted (no parsing). With a `cache`, its
    stat index ("scan") vouches for the files whose stamp did not change: they are not read (their bytes are
    read later only if their load result is not in the cache). A link out of the repository anywhere in its
    sources is refused (LoadFailed) before any file is read."""
    root = Path(root)
    refuse_outside_links(root)
    try:
        settings = digest(LOAD_RULES, (root / CONFIG_FILE).read_bytes())
    except OSError:
        settings = digest(LOAD_RULES)
    index = FileIndex.open(cache, "scan", "") if cache is not None and cache.enabled else None
    found = []
    for directory, model in ((INCIDENT_DIR, Incident), (MAINTENANCE_DIR, Maintenance)):
        for file, status in content_entries(root, directory, (".yaml", ".yml")):
            rel = file.relative_to(root).as_posix()
            if stat.S_ISDIR(status.st_mode):  # a directory is reported by the load
                found.append(ItemFile(rel, file, model, None, digest(settings, model.__name__, rel, "dir")))
                continue
            if index is not None:
                sha, data, _ = index.read(rel, file, status)
            else:
                data = file.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
            found.append(ItemFile(rel, file, model, data, _fingerprint(settings, model, rel, sha), sha))
    if index is not None:
        index.keep_only({item.path for item in found})
        index.save()
    return found


def _fingerprint(settings: str, model: type, rel: str, sha: str) -> str:
    return digest(settings, model.__name__, rel, "file", sha)


def load_content(root: Path, cache: Cache | None = None, progress=None,
                 files: list[ItemFile] | None = None) -> Loaded:
    """Load and validate everything, keeping file positions; raises LoadFailed with every problem found.

    With a `cache`, each incident and maintenance file's parse + validation result is looked up by its
    fingerprint before doing the work. `progress(n)` is told of each file loaded; `files` are the item
    files if the caller has scanned them already."""
    root = Path(root)
    files = scan_item_files(root, cache) if files is None else files  # refuses links out of the repository first
    config = load_config(root)
    cache = cache or Cache.disabled()
    problems: list[Problem] = []
    fingerprints: dict[str, str] = {}
    incidents = _load_all(root, [f for f in files if f.model is Incident], config, problems, cache, fingerprints,
                          progress)
    maintenance = _load_all(root, [f for f in files if f.model is Maintenance], config, problems, cache,
                            fingerprints, progress)
    _check_unique_ids([*incidents, *maintenance], problems)
    rcas = load_rcas(root, config, problems)
    known_rcas = {rca.id for rca in rcas}
    for incident, source in incidents:
        problem = missing_rca_problem(incident, source, known_rcas)
        if problem:
            problems.append(problem)
    known_incidents = {incident.id for incident, _ in incidents}
    # A broken incident file may be the one an RCA points at: report the file, not a cascade of references.
    incident_files_ok = len(incidents) == sum(1 for f in files if f.model is Incident)
    for rca in rcas if incident_files_ok else ():
        if rca.incident not in known_incidents:
            problems.append(Problem(rca.path, 1 + _front_line(root / rca.path, "incident"), "incident",
                                    f"expected the id of an incident in {INCIDENT_DIR}/, got {rca.incident!r}"))
    errors = [p for p in problems if p.level == "error"]
    if errors:
        raise LoadFailed(problems)
    repository = Repository(
        config=config,
        incidents=tuple(i for i, _ in incidents),
        maintenance=tuple(m for m, _ in maintenance),
        rcas=tuple(rcas),
    )
    glossary, glossary_problems = _read_glossary(root)
    return Loaded(repository, {item.id: source for item, source in [*incidents, *maintenance]}, root,
                  glossary, glossary_problems, _read_macros(root),
                  fingerprints={item.id: fingerprints[source.path] for item, source in [*incidents, *maintenance]})


def _read_glossary(root: Path) -> tuple[Glossary | None, tuple[Problem, ...]]:
    from .glossary import load_glossary  # the glossary's reader is built on this module's helpers

    try:
        return load_glossary(root), ()
    except LoadFailed as failed:
        return None, tuple(failed.problems)


def _read_macros(root: Path) -> dict[tuple[str, str], Macro] | None:
    folder = root / MACRO_DIR
    return load_macros(folder) if folder.is_dir() else None


def _load_all(root, files: list[ItemFile], config, problems, cache, fingerprints, progress=None):
    loaded = []
    for item in files:
        entry = cache.get("load", item.fingerprint)
        if entry is None:
            data = item.data
            if data is None and item.sha is not None:  # vouched for by the stat index, not read yet
                data = item.file.read_bytes()
                if hashlib.sha256(data).hexdigest() != item.sha:  # changed since the scan: judge these bytes
                    item = dataclasses.replace(item, fingerprint=digest(item.fingerprint, "changed", data))
            entry = _load_file(root, item.file, data, item.model, config)
            cache.put("load", item.fingerprint, entry)
        value, source, found = entry
        problems.extend(found)
        if value is not None and not any(p.level == "error" for p in found):
            loaded.append((value, source))
            fingerprints[item.path] = item.fingerprint
        if progress is not None:
            progress(1)
    return loaded


def _load_file(root: Path, file: Path, data: bytes | None, model, config) -> tuple[object, Source | None, list[Problem]]:
    """(validated value or None, source, problems) of one incident or maintenance file from the bytes the scan
    read: a pure function of them, its path and the configuration, which is what makes it cacheable. The
    same problems as `read_content_text` for a directory, a file over the size limit or one not in UTF-8."""
    found: list[Problem] = []
    rel = file.relative_to(root).as_posix()
    if data is None:
        found.append(Problem(rel, 1, "", "expected a file, found a directory named like one; rename or move it"))
        return None, None, found
    if len(data) > config.limits.max_file_bytes:
        found.append(Problem(rel, 1, "", f"expected a file of at most {config.limits.max_file_bytes} bytes "
                                         f"(limits.max_file_bytes in {CONFIG_FILE}), got a larger one"))
        return None, None, found
    text = decode_utf8(data, rel, found)
    if text is None:
        return None, None, found
    item = load_item(root, file, model, config, found, text=text)
    return (item[0], item[1], found) if item is not None else (None, None, found)


def load_item(root: Path, file: Path, model: type[Incident] | type[Maintenance], config: Config,
              problems: list[Problem], text: str | None = None):
    """One incident or maintenance file with every rule that needs only it and the configuration:
    `(item, source)`, or None with the reasons added to `problems`. `check` and the API share it."""
    source = _read_yaml(root, file, problems, text=text, limits=config.limits)
    if source is None:
        return None
    value = _validate(model, source, problems)
    if value is None:
        return None
    check = _check_incident if model is Incident else _check_maintenance
    found = _check_id_is_file_name(value.id, file, source) + check(value, source, config)
    problems.extend(found)
    if any(p.level == "error" for p in found):
        return None
    return value, source


def duplicate_id_problem(item_id: str, source: Source, first_seen: dict[str, str]) -> Problem | None:
    """The error for an id that the file `first_seen[item_id]` already uses (ids span incidents and
    maintenance)."""
    if item_id not in first_seen or first_seen[item_id] == source.path:
        return None
    return Problem(source.path, source.doc.line_of(("id",)), "id",
                   f"expected a unique id, got {item_id!r} which {first_seen[item_id]} already uses")


def missing_rca_problem(incident: Incident, source: Source, known_rcas: set[str]) -> Problem | None:
    if not incident.rca or incident.rca in known_rcas:
        return None
    return Problem(source.path, source.doc.line_of(("rca",)), "rca",
                   f"expected the id of an RCA in {RCA_DIR}/ ({incident.rca}.<lang>.md), found none")


def _check_id_is_file_name(item_id: str, file: Path, source: Source) -> list[Problem]:
    # Links, the API and `statusgen update ID` find an item by its file name: the two must agree.
    stem = file.name.rsplit(".", 1)[0]
    if item_id == stem:
        return []
    return [Problem(source.path, source.doc.line_of(("id",)), "id",
                    f"expected the file name's id {stem!r}, got {item_id!r}; rename the file or change the id")]


def id_in_use(loaded: "Loaded", item_id: str) -> str | None:
    """The path of the incident or maintenance that already uses `item_id`, or None (for writers: the API)."""
    source = loaded.sources.get(item_id)
    return source.path if source is not None else None


def _check_unique_ids(items, problems):
    first_seen: dict[str, str] = {}
    for item, source in items:
        problem = duplicate_id_problem(item.id, source, first_seen)
        if problem:
            problems.append(problem)
        else:
            first_seen[item.id] = source.path


def _texts_problems(source: Source, loc: Loc, texts: Texts | None, langs) -> list[Problem]:
    if texts is None:
        return []
    missing = texts.missing(tuple(langs))
    if not missing:
        return []
    return [Problem(source.path, source.doc.line_of(loc), field_path(loc),
                    f"expected a text in every language ({', '.join(langs)}), missing: {', '.join(missing)}")]


def _check_components(source, ids: list[tuple[Loc, str]], config) -> list[Problem]:
    known = [c.id for c in config.components]
    problems = []
    for loc, component_id in ids:
        if component_id not in known:
            close = difflib.get_close_matches(component_id, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem(source.path, source.doc.line_of(loc), field_path(loc),
                                    f"expected a known component{hint}, got {component_id!r}"))
    return problems


def _check_region(source, region: str, config) -> list[Problem]:
    known = [r.id for r in config.regions]
    if region in known:
        return []
    return [Problem(source.path, source.doc.line_of(("region",)), "region",
                    f"expected one of {', '.join(known)}, got {region!r}")]


def _check_incident(incident: Incident, source: Source, config) -> list[Problem]:
    problems = _check_region(source, incident.region, config)
    problems += _check_components(
        source, [(("components", i, "id"), c.id) for i, c in enumerate(incident.components)], config
    )
    line = source.doc.line_of
    if incident.started_at and incident.started_at > incident.detected_at:
        problems.append(Problem(source.path, line(("started_at",)), "started_at",
                                f"expected a time at or before detected_at ({incident.detected_at.isoformat()}), "
                                f"got {incident.started_at.isoformat()}"))
    if incident.resolved_at and incident.resolved_at < incident.began_at:
        problems.append(Problem(source.path, line(("resolved_at",)), "resolved_at",
                                f"expected a time after the start ({incident.began_at.isoformat()}), "
                                f"got {incident.resolved_at.isoformat()}"))
    previous = None
    for index, update in enumerate(incident.updates):
        loc = ("updates", index)
        if previous is not None and update.at < previous:
            problems.append(Problem(source.path, line(loc + ("at",)), field_path(loc + ("at",)),
                                    f"expected updates in time order (after {previous.isoformat()}), "
                                    f"got {update.at.isoformat()}"))
        previous = update.at
        if update.next_update_at is not None and update.next_update_at <= update.at:
            problems.append(Problem(source.path, line(loc + ("next_update_at",)), field_path(loc + ("next_update_at",)),
                                    f"expected a promised next update after the update itself ({update.at.isoformat()}), "
                                    f"got {update.next_update_at.isoformat()}"))
        if update.at < incident.began_at:
            problems.append(Problem(source.path, line(loc + ("at",)), field_path(loc + ("at",)),
                                    f"expected a time at or after the start ({incident.began_at.isoformat()}), "
                                    f"got {update.at.isoformat()}"))
    last = incident.updates[-1]
    if incident.resolved_at and last.status is not IncidentStatus.resolved:
        problems.append(Problem(source.path, line(("updates", len(incident.updates) - 1, "status")),
                                field_path(("updates", len(incident.updates) - 1, "status")),
                                f"expected the last update of a resolved incident to be 'resolved', got {last.status.value!r}"))
    if last.status is IncidentStatus.resolved and not incident.resolved_at:
        problems.append(Problem(source.path, line(("updates", len(incident.updates) - 1, "status")), "resolved_at",
                                "expected resolved_at when the last update is 'resolved', found none"))
    if not incident.draft:
        langs = config.languages
        problems += _texts_problems(source, ("title",), incident.title, langs)
        problems += _texts_problems(source, ("summary",), incident.summary, langs)
        for i, update in enumerate(incident.updates):
            problems += _texts_problems(source, ("updates", i, "text"), update.text, langs)
        for i, metric in enumerate(incident.metrics):
            problems += _texts_problems(source, ("metrics", i, "name"), metric.name, langs)
        for i, link in enumerate(incident.evidence):
            problems += _texts_problems(source, ("evidence", i, "title"), link.title, langs)
    return problems


def _check_maintenance(item: Maintenance, source: Source, config) -> list[Problem]:
    problems = _check_region(source, item.region, config)
    problems += _check_components(source, [(("components", i), c) for i, c in enumerate(item.components)], config)
    line = source.doc.line_of
    if item.scheduled_until <= item.scheduled_for:
        problems.append(Problem(source.path, line(("scheduled_until",)), "scheduled_until",
                                f"expected the end of the window after its start ({item.scheduled_for.isoformat()}), "
                                f"got {item.scheduled_until.isoformat()}"))
    if item.announced_at > item.scheduled_for:
        problems.append(Problem(source.path, line(("announced_at",)), "announced_at",
                                f"expected the announcement before the window ({item.scheduled_for.isoformat()}), "
                                f"got {item.announced_at.isoformat()}"))
    previous = None
    for index, update in enumerate(item.updates):
        if previous is not None and update.at < previous:
            loc = ("updates", index, "at")
            problems.append(Problem(source.path, line(loc), field_path(loc),
                                    f"expected updates in time order (after {previous.isoformat()}), got {update.at.isoformat()}"))
        previous = update.at
    if not item.draft:
        langs = config.languages
        problems += _texts_problems(source, ("title",), item.title, langs)
        problems += _texts_problems(source, ("description",), item.description, langs)
        if item.emergency:
            problems += _texts_problems(source, ("emergency", "reason"), item.emergency.reason, langs)
        for i, update in enumerate(item.updates):
            problems += _texts_problems(source, ("updates", i, "text"), update.text, langs)
    return problems


# ---------------------------------------------------------------- RCAs

_FRONT = re.compile(r"\A---[ \t]*\n(?P<front>.*?\n)---[ \t]*\n(?P<body>.*)\Z", re.S)


def split_front_matter(text: str) -> tuple[str, str] | None:
    match = _FRONT.match(text)
    if not match:
        return None
    return match.group("front"), match.group("body")


def _front_line(file: Path, key: str) -> int:
    try:
        for number, text in enumerate(file.read_text(encoding="utf-8").splitlines()):
            if text.startswith(f"{key}:"):
                return number
    except OSError:
        pass
    return 0


def load_rcas(root: Path, config: Config, problems: list[Problem]) -> list[Rca]:
    rcas: list[Rca] = []
    for file in content_files(root, RCA_DIR, (".md",)):
        rel = file.relative_to(root).as_posix()
        name = RCA_NAME.match(file.name)
        if not name:
            problems.append(Problem(rel, 1, "", "expected an RCA file named <id>.<lang>.md with lang ko, ja or en"))
            continue
        text = read_content_text(root, file, problems, config.limits)
        if text is None:
            continue
        parts = split_front_matter(text)
        if parts is None:
            problems.append(Problem(rel, 1, "", "expected front matter between '---' lines at the top of the file"))
            continue
        front, body = parts
        source = _read_yaml(root, file, problems, line_offset=1, text=front, limits=config.limits)
        if source is None:
            continue
        meta = _validate(RcaFrontMatter, source, problems)
        if meta is None:
            continue
        if meta.id != name.group("id"):
            problems.append(Problem(rel, source.doc.line_of(("id",)), "id",
                                    f"expected the id of the file name {name.group('id')!r}, got {meta.id!r}"))
            continue
        if not body.strip() and not meta.draft:
            problems.append(Problem(rel, text.count("\n") + 1, "body", "expected the RCA text after the front matter, found none"))
            continue
        body_line = text.count("\n", 0, len(text) - len(body)) + 1
        rcas.append(Rca(id=meta.id, lang=name.group("lang"), incident=meta.incident, title=meta.title,
                        published_at=meta.published_at, draft=meta.draft, body=body, path=rel,
                        body_line=body_line))
    by_id: dict[str, list[Rca]] = {}
    for rca in rcas:
        by_id.setdefault(rca.id, []).append(rca)
    for rca_id, group in by_id.items():
        if all(r.draft for r in group):
            continue
        present = {r.lang for r in group if not r.draft}
        missing = [lang for lang in config.languages if lang not in present]
        if missing:
            first = sorted(group, key=lambda r: r.path)[0]
            problems.append(Problem(first.path, 1, "lang",
                                    f"expected the RCA {rca_id!r} in every language, missing: "
                                    + ", ".join(f"{RCA_DIR}/{rca_id}.{m}.md" for m in missing)))
    return rcas
