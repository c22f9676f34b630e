"""The published JSON Schemas: current with the models, and accepting the shipped sample files."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import PROJECT
from generator.content.schemas import schema_documents

SAMPLES = {
    "config.schema.json": ["status.yaml"],
    "incident.schema.json": sorted(str(p.relative_to(PROJECT)) for p in (PROJECT / "incidents").rglob("*.yaml")),
    "maintenance.schema.json": sorted(str(p.relative_to(PROJECT)) for p in (PROJECT / "maintenance").rglob("*.yaml")),
}


def test_committed_schemas_match_the_models():
    for name, text in schema_documents().items():
        assert (PROJECT / "schemas" / name).read_text(encoding="utf-8") == text, (
            f"schemas/{name} is stale: run `statusgen schema`")


@pytest.mark.parametrize("schema_name", sorted(SAMPLES))
def test_sample_files_validate_against_the_published_schema(schema_name):
    schema = json.loads((PROJECT / "schemas" / schema_name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert SAMPLES[schema_name]
    for path in SAMPLES[schema_name]:
        # editors read YAML 1.1 like PyYAML does; times must be strings for the schema, as in the files
        data = yaml.load((PROJECT / path).read_text(encoding="utf-8"), Loader=_StringTimesLoader)
        jsonschema.validate(data, schema)
        assert (PROJECT / path).read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")


def test_the_schema_rejects_a_naive_time():
    schema = json.loads((PROJECT / "schemas" / "incident.schema.json").read_text(encoding="utf-8"))
    data = yaml.load((PROJECT / SAMPLES["incident.schema.json"][0]).read_text(encoding="utf-8"),
                     Loader=_StringTimesLoader)
    data["detected_at"] = "2025-10-02T10:14:00"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


class _StringTimesLoader(yaml.SafeLoader):
    pass


_StringTimesLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))
