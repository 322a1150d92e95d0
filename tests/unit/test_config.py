"""The environment contract: every bad value is rejected with the variable's name."""

from __future__ import annotations

import hashlib

import pytest

from coviu_catalog import proxy_env
from coviu_mcp.config import ServerSettings, describe_environment, load_settings
from coviu_mcp.errors import ConfigError

DIGEST = hashlib.sha256(b"token").hexdigest()
BASE = {"COVIU_CLIENT_ID": "id", "COVIU_CLIENT_SECRET": "secret", "MCP_TOKEN_SHA256": DIGEST}


def test_defaults() -> None:
    settings = load_settings(**BASE)
    assert str(settings.api_base_url) == "https://api.coviu.com/v1"
    assert settings.methods == () and settings.port == 8080 and settings.expires_at is None
    assert settings.admin_port == 9090 and settings.link_signing_key is None and settings.forwarded_allow_ips == ()


def test_trusted_ingress_networks_and_a_signing_key_are_accepted() -> None:
    key = "A" * 43  # 32 bytes, base64url without padding
    settings = load_settings(
        **BASE, MCP_FORWARDED_ALLOW_IPS="10.0.0.0/8, 192.168.1.7,fd00::1", MCP_LINK_SIGNING_KEY=key
    )
    assert settings.forwarded_allow_ips == ("10.0.0.0/8", "192.168.1.7", "fd00::1")
    assert settings.link_signing_key is not None and key not in repr(settings)


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
        ({"MCP_FORWARDED_ALLOW_IPS": "*"}, "MCP_FORWARDED_ALLOW_IPS.*any client"),
        ({"MCP_FORWARDED_ALLOW_IPS": "10.0.0.0/8,ingress.example"}, "MCP_FORWARDED_ALLOW_IPS.*not an IP"),
        ({"MCP_LINK_SIGNING_KEY": "c2hvcnQ"}, "MCP_LINK_SIGNING_KEY.*at least 32 bytes"),
        ({"MCP_LINK_SIGNING_KEY": "not base64!"}, "MCP_LINK_SIGNING_KEY.*base64url"),
        ({"MCP_ADMIN_PORT": "8080"}, "MCP_ADMIN_PORT must differ from PORT"),
        ({"MCP_LINK_TTL": "0"}, "MCP_LINK_TTL"),
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
    for name in ("COVIU_API_BASE_URL", "MCP_TOKEN_SHA256", "MCP_METHODS", "MCP_EXPIRES_AT", "MCP_PUBLIC_URL", "PORT",
                 "MCP_ADMIN_PORT", "MCP_LINK_SIGNING_KEY", "MCP_LINK_TTL", "MCP_HEADER_TIMEOUT", "MCP_MAX_CONNECTIONS",
                 "MCP_MAX_DOWNLOADS"):
        assert name in text


def test_every_variable_is_named_once_in_the_catalog() -> None:
    """The operator writes what the proxy reads from the same names (coviu_catalog.proxy_env)."""
    names = [value for key, value in vars(proxy_env).items() if key.isupper()]
    assert sorted(names) == sorted(field.alias for field in ServerSettings.model_fields.values())
    assert len(set(names)) == len(names)
