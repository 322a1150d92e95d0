"""The operator's own configuration: COVIU_OPERATOR_* environment variables, validated once
at start-up so a bad value stops the process with a message instead of failing later.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from coviu_catalog import DEFAULT_API_BASE_URL

from .errors import SettingsError
from .models import Resources

ENV_PREFIX = "COVIU_OPERATOR_"


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


def _https_urls(value: tuple[str, ...]) -> tuple[str, ...]:
    for item in value:
        if not re.match(r"^https://[^\s/?#@]+(/[^\s?#]*)?$", item):
            raise ValueError(f"{item!r} is not an https URL (plain http is allowed only through sandbox_hosts)")
    return tuple(item.rstrip("/") for item in value)


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]


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
    namespaces: CommaList = ()
    """Comma list of namespaces to watch; empty: the whole cluster."""
    forwarded_allow_ips: Annotated[CommaList, AfterValidator(_addresses_or_any)] = ()
    """Comma list of the addresses or networks of the ingress in front of the proxies (or *), whose
    X-Forwarded-For names the client: failed-token throttling then counts per real client."""
    allowed_api_base_urls: Annotated[CommaList, AfterValidator(_https_urls)] = (DEFAULT_API_BASE_URL,)
    """Comma list of the Coviu API base URLs a server may send its credentials to (https only)."""
    sandbox_hosts: CommaList = ()
    """Comma list of hosts of a Coviu sandbox that servers may call over plain http, at any port and
    path (e.g. coviu-sandbox.coviu-sandbox.svc). Empty: none. Never list a host outside the cluster."""
    allowed_public_hosts: CommaList = ()
    """Comma list of hosts spec.publicURL may name (`*.example.com`: any host under it). The proxy
    builds download links on that URL, so it must be a host the installer controls. Empty: none."""
    allowed_images: CommaList = ()
    """Comma list of proxy images spec.image may name, besides `image` (always allowed)."""
    allowed_pod_labels: CommaList = ()
    """Comma list of Pod label keys spec.podTemplate.labels may set. Empty: none."""
    allowed_pod_annotations: CommaList = ()
    """Comma list of Pod annotation keys spec.podTemplate.annotations may set. Empty: none."""
    allowed_node_selector_keys: CommaList = ()
    """Comma list of node label keys spec.podTemplate.nodeSelector may use. Empty: none."""
    allowed_toleration_keys: CommaList = ()
    """Comma list of taint keys spec.podTemplate.tolerations may tolerate (never every taint). Empty: none."""
    allowed_priority_classes: CommaList = ()
    """Comma list of PriorityClasses spec.podTemplate.priorityClassName may name. Empty: none."""
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
        return ", ".join(f"{env_name(name)}={getattr(self, name)!s}" for name in type(self).model_fields)


def env_name(field: str) -> str:
    """The environment variable that sets OperatorSettings.`field` (KeyError for no such field)."""
    if field not in OperatorSettings.model_fields:
        raise KeyError(field)
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings(**overrides: Any) -> OperatorSettings:
    """Read the environment (overrides by field name win) or raise SettingsError."""
    try:
        return OperatorSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid operator configuration: {problems}") from None
