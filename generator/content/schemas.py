"""The published JSON Schemas of the file formats, generated from the models so they never drift."""
from __future__ import annotations

import json
from pathlib import Path

from .model import Config, Incident, Maintenance

SCHEMA_DIR = "schemas"
SCHEMAS = {
    "config.schema.json": (Config, "statusgen configuration (status.yaml)"),
    "incident.schema.json": (Incident, "statusgen incident (incidents/**/*.yaml)"),
    "maintenance.schema.json": (Maintenance, "statusgen scheduled maintenance (maintenance/**/*.yaml)"),
}


def schema_documents() -> dict[str, str]:
    documents = {}
    for name, (model, title) in SCHEMAS.items():
        schema = model.model_json_schema(by_alias=True)
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, "title": title, **schema}
        documents[name] = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    return documents


def write_schemas(root: Path) -> list[Path]:
    out = Path(root) / SCHEMA_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_documents().items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
