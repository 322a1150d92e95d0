"""The environment contract: every bad value is rejected with the variable's name."""

from __future__ import annotations

import hashlib

import pytest

from coviu_mcp.config import ConfigError, describe_environment, load_settings

DIGEST = hashlib.sha256(b"token").hexdigest()
BASE = {"COVIU_CLIENT_ID": "id", "COVIU_CLIENT_SECRET": "secret", "MCP_TOKEN_SHA256": DIGEST}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COVIU_API_BASE_URL", "MCP_METHODS", "MCP_TAGS", "MCP_EXPIRES_AT", "MCP_REQUIRE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings(**BASE)
    assert str(settings.api_base_url) == "https://api.coviu.com/v1"
    assert settings.methods == () and settings.port == 8080 and settings.expires_at is None


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**BASE, "MCP_METHODS": "read, custom", "MCP_EXPIRES_AT": "2026-12-31T23:59:59Z"}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.methods == ("read", "custom")
    assert settings.expires_at.isoformat() == "2026-12-31T23:59:59+00:00"


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"MCP_TOKEN_SHA256": "abc"}, "MCP_TOKEN_SHA256"),
        ({"MCP_EXPIRES_AT": "2026-12-31T23:59:59"}, "MCP_EXPIRES_AT"),
        ({"MCP_EXPIRES_AT": "tomorrow"}, "MCP_EXPIRES_AT"),
        ({"COVIU_API_BASE_URL": "not a url"}, "COVIU_API_BASE_URL"),
        ({"PORT": "0"}, "PORT"),
        ({"MCP_API_TOKEN_SHA256S": "nothex"}, "MCP_API_TOKEN_SHA256S"),
        ({"MCP_REQUIRE_API_TOKEN": "maybe"}, "MCP_REQUIRE_API_TOKEN"),
        ({"MCP_REQUIRE_API_TOKEN": "true"}, "MCP_API_TOKEN_SHA256S is empty"),
    ],
)
def test_bad_values_name_the_variable(override: dict, variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(**{**BASE, **override})


def test_missing_credentials_are_named() -> None:
    with pytest.raises(ConfigError, match="COVIU_CLIENT_SECRET"):
        load_settings(COVIU_CLIENT_ID="id", MCP_TOKEN_SHA256=DIGEST)


def test_help_lists_every_variable() -> None:
    text = describe_environment()
    for name in ("COVIU_API_BASE_URL", "MCP_TOKEN_SHA256", "MCP_METHODS", "MCP_EXPIRES_AT", "MCP_PUBLIC_URL", "PORT"):
        assert name in text
