"""Shared fixtures: the sample content shipped with the project, loaded as is or copied into a tmp dir."""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from generator.load import load_content
from generator.model import Config, Repository

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTENT = ("status.yaml", "incidents", "maintenance", "rca")


def at(text: str) -> datetime:
    """A time from its ISO 8601 text, e.g. at("2025-10-02T10:14+09:00")."""
    return datetime.fromisoformat(text)


@pytest.fixture(scope="session")
def repository() -> Repository:
    return load_content(REPO_ROOT).repository


@pytest.fixture(scope="session")
def config(repository) -> Config:
    return repository.config


@pytest.fixture
def content_copy(tmp_path) -> Path:
    """A writable copy of the sample content, for tests that edit files."""
    for name in CONTENT:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path
