"""The operator's own configuration: COVIU_OPERATOR_* environment variables, validated once
at start-up so a bad value stops the process with a message instead of failing later.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .models import Resources

ENV_PREFIX = "COVIU_OPERATOR_"


class SettingsError(Exception):
    """The operator's environment is invalid; the message names each variable."""


def _seconds_or_iso(value: Any) -> Any:
    """Environment values are strings: read "86400" as seconds, leave ISO 8601 to pydantic."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _addresses_or_any(value: tuple[str, ...]) -> tuple[str, ...]:
    for item in value:
        if item != "*":
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address, a network or *") from None
    return value


class OperatorSettings(BaseSettings):
    """Defaults for every server plus how the operator itself runs."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", use_attribute_docstrings=True,
    )

    image: str = Field(default="ghcr.io/coviu/coviu-mcp-operator:0.1.0", min_length=1, pattern=r"^\S+$")
    """Proxy image for servers that do not set spec.image (one image holds the operator and the proxy)."""
    image_pull_policy: str = Field(default="IfNotPresent", pattern=r"^(Always|IfNotPresent|Never)$")
    """Pull policy of the proxy container."""
    resources: Resources = Resources(
        requests={"cpu": "50m", "memory": "64Mi"}, limits={"memory": "256Mi"},
    )
    """Proxy container resources (JSON) for servers that do not set spec.resources."""
    expiring_soon_window: Annotated[timedelta, BeforeValidator(_seconds_or_iso)] = timedelta(hours=24)
    """How long before expiresAt ExpiringSoon turns True (seconds or ISO 8601, e.g. PT24H)."""
    namespaces: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)] = ()
    """Comma list of namespaces to watch; empty: the whole cluster."""
    forwarded_allow_ips: Annotated[
        tuple[str, ...], NoDecode, BeforeValidator(_comma_list), AfterValidator(_addresses_or_any)
    ] = ()
    """Comma list of the addresses or networks of the ingress in front of the proxies (or *), whose
    X-Forwarded-For names the client: failed-token throttling then counts per real client."""
    resync_interval: float = Field(default=300.0, gt=0)
    """Seconds between drift checks of an unchanged server (changes are handled at once)."""
    cluster_domain: str = Field(default="cluster.local", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    """DNS domain of the cluster, for Service URLs and allowed Host headers."""
    metrics_port: int = Field(default=9090, ge=0, le=65535)
    """Port of the Prometheus /metrics endpoint (0: pick a free port)."""
    health_port: int = Field(default=8081, ge=1, le=65535)
    """Port of the liveness endpoint /healthz."""
    request_timeout: float = Field(default=30.0, gt=0)
    """Seconds before a Kubernetes API request is abandoned and retried."""

    def describe(self) -> str:
        """The effective configuration as one log line; holds no secrets."""
        return ", ".join(f"{ENV_PREFIX}{name.upper()}={getattr(self, name)!s}" for name in type(self).model_fields)


def load_settings(**overrides: Any) -> OperatorSettings:
    """Read the environment (overrides by field name win) or raise SettingsError."""
    try:
        return OperatorSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid operator configuration: {problems}") from None
