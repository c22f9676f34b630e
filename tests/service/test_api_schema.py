"""Schemathesis against the served /openapi.json: generated requests (valid and not) never get a 5xx."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api_support import ServerThread, add_macros, make_tokens
from conftest import copy_sample, init_git
from generator.service.api.app import create_app
from generator.service.ticketsync import ChangeEmitter
from generator.service.api.auth import parse_tokens


@pytest.fixture(scope="module")
def served():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        repo = add_macros(init_git(copy_sample(Path(tmp) / "status")))
        writer, _, text = make_tokens()
        with ServerThread(create_app(repo, parse_tokens(text, "tokens.yaml"), on_write=[ChangeEmitter()])) as url:
            yield url, writer


@pytest.fixture(scope="module")
def api_schema(served):
    url, _ = served
    return schemathesis.openapi.from_url(f"{url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case, served):
    url, writer = served
    case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {writer}"},
                           checks=[not_a_server_error])
