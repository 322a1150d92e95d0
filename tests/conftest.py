"""Fixtures for every tier."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# The prefixes of the proxy's (COVIU_*, MCP_*) and the operator's (COVIU_OPERATOR_*) settings.
SETTINGS_PREFIXES = ("COVIU_", "MCP_")


@pytest.fixture(autouse=True, scope="session")
def settings_only_from_the_tests() -> Iterator[None]:
    """No setting comes from the developer's shell: every test, session fixture and process a test
    starts sees only the variables the tests set (monkeypatch undoes a test's own after it)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith(SETTINGS_PREFIXES)]:
            patch.delenv(name)
        yield
