"""The proxy's configuration contract: environment variables, validated once at start-up.

The operator renders exactly these variables into each proxy Deployment; it shares the
catalog with the proxy but never imports it. Secrets never arrive in clear except the Coviu
client credentials: the URL token and the API tokens come as SHA-256 hex digests.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, HttpUrl, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from coviu_catalog import DEFAULT_API_BASE_URL
from coviu_catalog import proxy_env as env

from .errors import ConfigError

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _sha256_hex(value: str) -> str:
    value = value.strip().lower()
    if not _SHA256_HEX.match(value):
        raise ValueError("must be a SHA-256 digest: 64 hexadecimal characters")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (RFC 3339), e.g. 2026-12-31T23:59:59Z")
    return value


def _trusted_networks(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if value == "*":
            raise ValueError(
                "'*' would let any client name itself in X-Forwarded-For; list the ingress addresses or networks"
            )
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return values


def link_key_bytes(value: SecretStr) -> bytes:
    """The bytes of MCP_LINK_SIGNING_KEY (base64url, padding optional)."""
    text = value.get_secret_value().strip()
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _signing_key(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    try:
        raw = link_key_bytes(value)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64url (at least 32 random bytes)") from None
    if len(raw) < MIN_LINK_KEY_BYTES:
        raise ValueError(f"must decode to at least {MIN_LINK_KEY_BYTES} bytes; it decodes to {len(raw)}")
    return value


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
Sha256Hex = Annotated[str, AfterValidator(_sha256_hex)]
TrustedNetworks = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list), AfterValidator(_trusted_networks)]
MIN_LINK_KEY_BYTES = 32


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    api_base_url: HttpUrl = Field(  # type: ignore[assignment]  # a str default, validated like any value
        DEFAULT_API_BASE_URL, alias=env.API_BASE_URL, description="Coviu API base URL, ending in /v1."
    )
    client_id: str = Field(alias=env.CLIENT_ID, min_length=1, description="Coviu OAuth client id.")
    client_secret: SecretStr = Field(alias=env.CLIENT_SECRET, min_length=1, description="Coviu OAuth client secret.")
    refresh_token: SecretStr | None = Field(
        None, alias=env.REFRESH_TOKEN, description="Optional Coviu refresh token, used instead of client credentials."
    )
    token_sha256: Sha256Hex = Field(
        alias=env.TOKEN_SHA256, description="SHA-256 (hex) of the secret token in the MCP URL /mcp/<token>."
    )
    previous_token_sha256: Sha256Hex | None = Field(
        None, alias=env.PREVIOUS_TOKEN_SHA256,
        description="SHA-256 (hex) of the URL token before a rotation, accepted until MCP_PREVIOUS_TOKEN_UNTIL.",
    )
    previous_token_until: Annotated[datetime, AfterValidator(_aware)] | None = Field(
        None,
        alias=env.PREVIOUS_TOKEN_UNTIL,
        description="RFC 3339 instant from which the previous URL token is refused.",
    )
    methods: CommaList = Field(
        (), alias=env.METHODS, description="Comma list of read, write, custom, method names or tool names; empty: all."
    )
    tags: CommaList = Field((), alias=env.TAGS, description="Comma list of catalog tags; empty: all.")
    require_api_token: bool = Field(
        False, alias=env.REQUIRE_API_TOKEN, description="Also require Authorization: Bearer <api token> (true/false)."
    )
    api_token_sha256s: Annotated[tuple[Sha256Hex, ...], NoDecode, BeforeValidator(_comma_list)] = Field(
        (), alias=env.API_TOKEN_SHA256S, description="Comma list of SHA-256 (hex) of accepted API tokens."
    )
    expires_at: Annotated[datetime, AfterValidator(_aware)] | None = Field(
        None, alias=env.EXPIRES_AT, description="RFC 3339 instant from which every request is refused."
    )
    public_url: HttpUrl | None = Field(
        None, alias=env.PUBLIC_URL, description="External base URL of this server, for download links."
    )
    allowed_hosts: CommaList = Field(
        (), alias=env.ALLOWED_HOSTS,
        description="Extra Host header values accepted (host or host:port; '*' accepts any). "
        "Loopback and the public URL's host are always accepted.",
    )
    allowed_origins: CommaList = Field(
        (), alias=env.ALLOWED_ORIGINS,
        description="Extra browser Origins accepted. Requests without Origin are always accepted.",
    )
    upstream_timeout: float = Field(30.0, gt=0, alias=env.UPSTREAM_TIMEOUT, description="Seconds to wait for Coviu.")
    max_body_bytes: int = Field(
        1_048_576, gt=0, alias=env.MAX_BODY_BYTES, description="Largest accepted MCP request body, in bytes."
    )
    embed_max_bytes: int = Field(
        0, ge=0, alias=env.EMBED_MAX_BYTES,
        description="Binary files up to this size are also embedded in the tool result (0: links only).",
    )
    auth_failure_limit: int = Field(
        20, ge=0, alias=env.AUTH_FAILURE_LIMIT,
        description="Failed token attempts per client address before it is refused for a while (0: no limit).",
    )
    auth_failure_window: float = Field(
        60.0, gt=0, alias=env.AUTH_FAILURE_WINDOW, description="Seconds over which failed attempts are counted."
    )
    forwarded_allow_ips: TrustedNetworks = Field(
        (), alias=env.FORWARDED_ALLOW_IPS,
        description="Comma list of ingress addresses or networks (never '*') whose X-Forwarded-For is believed; "
        "the client is the rightmost address not in this list, so throttling applies per real client; "
        "empty: the peer address is the client.",
    )
    link_signing_key: Annotated[SecretStr | None, AfterValidator(_signing_key)] = Field(
        None, alias=env.LINK_SIGNING_KEY,
        description="Base64url key (at least 32 random bytes) that signs download links; shared by all replicas. "
        "Unset: a random key per process, so links work only on the replica that made them.",
    )
    link_ttl: float = Field(
        900.0, gt=0, le=86_400, alias=env.LINK_TTL,
        description="Seconds a download link stays valid (never past MCP_EXPIRES_AT).",
    )
    max_downloads: int = Field(
        100, ge=1, alias=env.MAX_DOWNLOADS,
        description="Concurrent downloads; they use their own Coviu connection pool, so tool calls never wait on them.",
    )
    header_timeout: float = Field(
        10.0, gt=0, alias=env.HEADER_TIMEOUT,
        description="Seconds a connection may take to send a request's headers before it is closed.",
    )
    max_connections: int = Field(
        1000, ge=1, alias=env.MAX_CONNECTIONS,
        description="Open connections and requests served at once on the MCP port; beyond it: 503.",
    )
    host: str = Field("0.0.0.0", alias=env.HOST, description="Address to listen on.")
    port: int = Field(8080, ge=1, le=65535, alias=env.PORT, description="MCP port: MCP and download links only.")
    admin_port: int = Field(
        9090, ge=1, le=65535, alias=env.ADMIN_PORT,
        description="Admin port on the same address: /healthz, /readyz and /metrics (not for MCP clients).",
    )
    log_level: str = Field("info", alias=env.LOG_LEVEL, description="debug, info, warning or error.")

    @model_validator(mode="after")
    def _api_tokens_given(self) -> ServerSettings:
        if self.require_api_token and not self.api_token_sha256s:
            raise ValueError(f"{env.REQUIRE_API_TOKEN} is true but {env.API_TOKEN_SHA256S} is empty")
        if (self.previous_token_sha256 is None) != (self.previous_token_until is None):
            raise ValueError(
                f"{env.PREVIOUS_TOKEN_SHA256} and {env.PREVIOUS_TOKEN_UNTIL} go together: set both or neither"
            )
        if self.admin_port == self.port:
            raise ValueError(
                f"{env.ADMIN_PORT} must differ from {env.PORT} ({self.port}): the admin port is not for MCP clients"
            )
        return self

    @property
    def public_host(self) -> str | None:
        return urlsplit(str(self.public_url)).netloc if self.public_url else None


def load_settings(**overrides: Any) -> ServerSettings:
    """Read the environment (plus overrides, by variable name) or raise ConfigError naming the culprit."""
    try:
        return ServerSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None


def describe_environment() -> str:
    """The variables and their meaning, for --help."""
    lines = []
    for field in ServerSettings.model_fields.values():
        default = (
            "" if field.is_required() else f" (default: {field.default!r})" if field.default not in ((), None) else ""
        )
        lines.append(f"  {field.alias:<24} {field.description}{default}")
    return "\n".join(lines)
