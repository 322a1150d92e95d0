"""The CoviuMCPServer API as frozen pydantic models: parsed once per reconcile, and the
source from which crds/coviumcpservers.yaml is generated (see crd.py).

Field descriptions become the CRD's documentation (`kubectl explain`), so they are written
for the people who write manifests. Cross-field rules exist twice on purpose: as CEL in
the CRD (rejected at `kubectl apply`) and as validators here (unit-testable, and a guard
for objects stored before a rule existed).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.alias_generators import to_camel

from coviu_catalog import DEFAULT_API_BASE_URL

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
HTTP_URL = r"^https?://[^\s/?#@]+(/[^\s?#]*)?$"
# Plain http carries the clinic's credentials in clear: only to loopback or an in-cluster Service.
IN_CLUSTER_HTTP = r"^http://(localhost|127\.0\.0\.1|\[::1\]|[-a-z0-9.]+\.svc(\.[-a-z0-9.]+)?|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(:[0-9]+)?(/|$)"
# expiresAt must convert to UTC and stay inside what every consumer can compute with.
EARLIEST_EXPIRY = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_EXPIRY = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
QUANTITY = (  # as controller-gen writes it for resource.Quantity
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)

SecretName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]
SecretKey = Annotated[str, Field(min_length=1, max_length=253, pattern=SECRET_KEY)]
HttpURL = Annotated[str, Field(max_length=2048, pattern=HTTP_URL)]
MethodEntry = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_]*$")]
Tag = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_-]*$")]


def _quantity(value: int | str) -> int | str:
    if isinstance(value, str) and not re.match(QUANTITY, value):
        raise ValueError("must be a Kubernetes quantity, e.g. 500m or 128Mi")
    return value


Quantity = Annotated[
    int | str,
    AfterValidator(_quantity),
    WithJsonSchema({
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": QUANTITY,
        "x-kubernetes-int-or-string": True,
    }),
]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, alias_generator=to_camel,
        use_attribute_docstrings=True,
    )


class CredentialsSecretRef(_Model):
    """The Secret holding the Coviu OAuth client of the account this server acts for."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [{
        "rule": "self.name == oldSelf.name",
        "message": "credentialsSecretRef.name is immutable: a server's URL stays bound to one "
                   "Coviu account; create a new CoviuMCPServer for another account",
    }]})

    name: SecretName
    """Name of a Secret in the same namespace."""
    client_id_key: SecretKey = "client_id"
    """Key holding the OAuth client id."""
    client_secret_key: SecretKey = "client_secret"
    """Key holding the OAuth client secret."""
    refresh_token_key: SecretKey = "refresh_token"
    """Key holding an optional refresh token; the key may be absent."""


class SecretRef(_Model):
    """A Secret in the same namespace."""

    name: SecretName
    """Name of the Secret."""


class TokenSecretRef(_Model):
    """A Secret that brings its own URL token (e.g. from External Secrets or GitOps)."""

    name: SecretName
    """Name of a Secret in the same namespace."""
    key: SecretKey = "token"
    """Key holding the token: at least 32 characters from A-Z a-z 0-9 . _ ~ -."""


class Resources(_Model):
    """Compute resources of the proxy container, as in a Pod spec."""

    requests: dict[str, Quantity] | None = None
    """Minimum resources, e.g. {cpu: 50m, memory: 64Mi}."""
    limits: dict[str, Quantity] | None = None
    """Maximum resources, e.g. {memory: 256Mi}."""


class Toleration(_Model):
    """A Pod toleration."""

    key: Annotated[str, Field(max_length=317)] | None = None
    """Taint key; empty with operator Exists matches every taint."""
    operator: Literal["Exists", "Equal"] | None = None
    """Exists or Equal (the default)."""
    value: Annotated[str, Field(max_length=63)] | None = None
    """Taint value, for operator Equal."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """Taint effect to tolerate; empty matches all effects."""
    toleration_seconds: int | None = None
    """For NoExecute: how long the Pod stays bound after the taint appears."""


class LocalObjectReference(_Model):
    """A reference by name to an object in the same namespace."""

    name: SecretName
    """Name of the object."""


class PodTemplate(_Model):
    """The few Pod settings a platform may need; everything else is fixed and hardened."""

    labels: dict[str, str] | None = None
    """Extra Pod labels (the operator's own labels win on conflict)."""
    annotations: dict[str, str] | None = None
    """Extra Pod annotations."""
    node_selector: dict[str, str] | None = None
    """Node labels the Pods must run on."""
    tolerations: Annotated[list[Toleration], Field(max_length=32)] | None = None
    """Taints the Pods tolerate."""
    priority_class_name: Annotated[str, Field(max_length=253)] | None = None
    """PriorityClass of the Pods."""
    image_pull_secrets: Annotated[list[LocalObjectReference], Field(max_length=8)] | None = None
    """Secrets for pulling the proxy image."""


class Spec(_Model):
    """Desired state of a Coviu MCP server."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [{
        "rule": "!has(self.requireApiTokenAuth) || !self.requireApiTokenAuth || has(self.apiTokenSecretRef)",
        "message": "apiTokenSecretRef is required when requireApiTokenAuth is true",
    }]})

    credentials_secret_ref: CredentialsSecretRef
    """The Coviu OAuth client credentials (immutable)."""
    api_base_url: HttpURL = Field(default=DEFAULT_API_BASE_URL, alias="apiBaseURL", json_schema_extra={
        "x-kubernetes-validations": [{
            "rule": f"self.startsWith('https://') || self.matches(r'{IN_CLUSTER_HTTP}')",
            "message": "apiBaseURL must be https (plain http only to loopback or an in-cluster Service)",
        }],
    })
    """Coviu API base URL, ending in /v1; one the operator's installer allows."""
    methods: Annotated[
        list[MethodEntry], Field(min_length=1, max_length=64, json_schema_extra={"x-kubernetes-list-type": "set"})
    ] | None = None
    """Tools to expose: method classes (read, write, custom), method names (list, get, ...) or exact tool
    names. Absent: every method."""
    tags: Annotated[
        list[Tag], Field(min_length=1, max_length=32, json_schema_extra={"x-kubernetes-list-type": "set"})
    ] | None = None
    """Catalog tags a tool must carry one of. Absent: every tag."""
    expires_at: Annotated[datetime, Field(json_schema_extra={"x-kubernetes-validations": [{
        "rule": f"self >= timestamp('{EARLIEST_EXPIRY:%Y-%m-%dT%H:%M:%SZ}') && "
                f"self <= timestamp('{LATEST_EXPIRY:%Y-%m-%dT%H:%M:%SZ}')",
        "message": f"expiresAt must be between {EARLIEST_EXPIRY:%Y-%m-%dT%H:%M:%SZ} and "
                   f"{LATEST_EXPIRY:%Y-%m-%dT%H:%M:%SZ}",
    }]})] | None = None
    """RFC 3339 instant at which the server is torn down (the resource is kept as a record). Move it
    later or remove it to restore the server with a new token."""
    require_api_token_auth: bool = False
    """Also require `Authorization: Bearer <api token>` on every request."""
    api_token_secret_ref: SecretRef | None = None
    """Secret whose values are the accepted API tokens (required with requireApiTokenAuth)."""
    token_secret_ref: TokenSecretRef | None = None
    """Bring your own URL token instead of one minted by the operator."""
    public_url: HttpURL | None = Field(default=None, alias="publicURL")
    """External base URL (e.g. behind an Ingress); the MCP URL is <publicURL>/mcp/<token>."""
    rotation_overlap_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None
    """After a token rotation, seconds the previous URL token is still accepted (status
    previousTokenValidUntil says until when); unset or 0: the old URL stops at once."""
    replicas: Annotated[int, Field(ge=1, le=10)] | None = None
    """Number of proxy Pods. Unset: the operator leaves the Deployment's count alone (1 when it is
    created), so a HorizontalPodAutoscaler or `kubectl scale` decides it."""
    resources: Resources | None = None
    """Container resources; default from the operator's configuration."""
    image: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^\S+$")] | None = None
    """Proxy image; default from the operator's configuration."""
    pod_template: PodTemplate | None = None
    """Small Pod overrides: labels, annotations, scheduling, pull secrets."""

    @model_validator(mode="after")
    def _api_token_secret_given(self) -> Spec:
        if self.require_api_token_auth and self.api_token_secret_ref is None:
            raise ValueError("apiTokenSecretRef is required when requireApiTokenAuth is true")
        return self

    @model_validator(mode="after")
    def _expiry_is_aware_and_bounded(self) -> Spec:
        if self.expires_at is None:
            return self
        if self.expires_at.tzinfo is None:
            raise ValueError("expiresAt must carry a time zone (RFC 3339), e.g. 2026-12-31T23:59:59Z")
        if not EARLIEST_EXPIRY <= self.expires_at <= LATEST_EXPIRY:  # compared without converting: no overflow
            raise ValueError(f"expiresAt must be between {EARLIEST_EXPIRY:%Y-%m-%dT%H:%M:%SZ} and "
                             f"{LATEST_EXPIRY:%Y-%m-%dT%H:%M:%SZ}")
        return self

    @model_validator(mode="after")
    def _credentials_not_in_clear(self) -> Spec:
        if not self.api_base_url.startswith("https://") and not re.match(IN_CLUSTER_HTTP, self.api_base_url):
            raise ValueError("apiBaseURL must be https (plain http only to loopback or an in-cluster Service)")
        return self


class Condition(_Model):
    """One aspect of the server's state, in the shape of metav1.Condition."""

    type: str
    """Ready, Reconciling, Stalled, TokenReady, ToolsResolved, Expired or ExpiringSoon."""
    status: Literal["True", "False", "Unknown"]
    """True, False or Unknown."""
    reason: str
    """CamelCase reason for the status."""
    message: str
    """Human-readable detail; never contains secret values."""
    last_transition_time: datetime
    """When the status last changed."""
    observed_generation: int | None = None
    """The metadata.generation this condition was computed from."""


class Status(_Model):
    """Observed state, written only by the operator."""

    conditions: Annotated[list[Condition], Field(json_schema_extra={
        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
    })] | None = None
    """Ready, Reconciling, Stalled, TokenReady, ToolsResolved, Expired and ExpiringSoon."""
    observed_generation: int | None = None
    """The metadata.generation the status describes."""
    url: str | None = None
    """MCP URL without the token: append the token from the token Secret (its `url` key has both)."""
    token_secret_name: str | None = None
    """Secret holding `token` and the full `url`."""
    tools: list[str] | None = None
    """Names of the tools the server exposes."""
    tool_count: int | None = None
    """Number of tools the server exposes."""
    expires_at: datetime | None = None
    """When the server expires (copied from the spec)."""
    ready_replicas: int | None = None
    """Proxy Pods that are ready with the current configuration."""
    previous_token_valid_until: datetime | None = None
    """Until when the URL token before the last rotation is still accepted (spec.rotationOverlapSeconds)."""


class Metadata(BaseModel):
    """The object metadata the operator reads; everything else is ignored."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel, extra="ignore")

    name: str
    namespace: str
    uid: str
    generation: int | None = None
    creation_timestamp: datetime | None = None
    annotations: dict[str, str] = Field(default_factory=dict)


class Server(BaseModel):
    """A CoviuMCPServer object as read from the API server."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=to_camel, extra="ignore")

    api_version: Literal["mcp.coviu.dev/v1alpha1"] = "mcp.coviu.dev/v1alpha1"
    kind: Literal["CoviuMCPServer"] = "CoviuMCPServer"
    metadata: Metadata
    spec: Spec

    @classmethod
    def parse(cls, body: Any) -> Server:
        """Validate a raw object (dict or kopf body); raises pydantic.ValidationError."""
        return cls.model_validate(body)

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    def owner_reference(self) -> dict[str, Any]:
        """The controller reference every child carries, so deletion collects it."""
        return {
            "apiVersion": self.api_version, "kind": self.kind, "name": self.name,
            "uid": self.metadata.uid, "controller": True, "blockOwnerDeletion": True,
        }
