"""The objects a server is made of, as plain manifests: pure functions, no I/O, no clock.

Each result is a complete server-side-apply configuration: the operator owns every field
it sets and drops every field it stops setting. Secret values reach the proxy only through
secretKeyRef; the proxy's configuration contract is coviu_mcp.config.ServerSettings.
"""

from __future__ import annotations

import base64
from typing import Any

from coviu_catalog import proxy_env as env

from .expiry import rfc3339
from .models import Server
from .names import (
    ADMIN_PORT,
    CONFIG_HASH_ANNOTATION,
    CONTAINER_PORT,
    OWNED_USE,
    ROTATION_ANNOTATION,
    SECRET_USE_LABEL,
    SERVICE_PORT,
    SHARES_ANNOTATION,
    child_labels,
    link_key_secret_name,
    selector_labels,
    token_secret_name,
    workload_name,
)
from .secrets import (
    LINK_KEY_KEY,
    PREVIOUS_TOKEN_SHA256_KEY,
    PREVIOUS_TOKEN_UNTIL_KEY,
    TOKEN_KEY,
    PreviousToken,
    sha256_hex,
)
from .settings import OperatorSettings
from .withdrawal import record, shares

URL_KEY = "url"
PRE_STOP_SECONDS = 5
TOKEN_SHA256_KEY = "token_sha256"
API_TOKEN_SHA256S_KEY = "api_token_sha256s"
CONTAINER_NAME = "mcp-server"
PROXY_COMMAND = "coviu-mcp-server"
RUN_AS = 65532  # the conventional "nonroot" user of distroless images


def _metadata(server: Server, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": server.namespace,
        "labels": child_labels(server.name),
        "ownerReferences": [server.owner_reference()],
        **extra,
    }


def _secret(server: Server, name: str, data: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A Secret of the operator's own, labelled so that its label-selected Secret watch sees it."""
    metadata = _metadata(server, name, **extra)
    metadata["labels"] = {**metadata["labels"], SECRET_USE_LABEL: OWNED_USE}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {key: _b64(value) for key, value in data.items()},
    }


def service_host(server: Server, settings: OperatorSettings) -> str:
    return f"{workload_name(server.name)}.{server.namespace}.svc.{settings.cluster_domain}"


def base_url(server: Server, settings: OperatorSettings) -> str:
    """Where the server is reached: spec.publicURL, else its in-cluster Service."""
    if server.spec.public_url:
        return server.spec.public_url.rstrip("/")
    return f"http://{service_host(server, settings)}"


def status_url(server: Server, settings: OperatorSettings) -> str:
    """The MCP URL without its secret part (what status.url shows)."""
    return f"{base_url(server, settings)}/mcp/"


def allowed_hosts(server: Server, settings: OperatorSettings) -> list[str]:
    """Host header values the proxy accepts for in-cluster callers: every Service DNS form."""
    svc = workload_name(server.name)
    names = [svc, f"{svc}.{server.namespace}", f"{svc}.{server.namespace}.svc", service_host(server, settings)]
    return [host for name in names for host in (name, f"{name}:{SERVICE_PORT}")]


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def token_secret(
    server: Server,
    settings: OperatorSettings,
    token: str,
    rotation: str | None,
    api_token_digests: tuple[str, ...],
    previous: PreviousToken | None = None,
) -> dict[str, Any]:
    """The Secret users read the MCP URL from; the proxy reads only the digests in it (and, during
    a rotation's overlap window, the previous token's digest and deadline)."""
    data = {
        TOKEN_KEY: token,
        URL_KEY: status_url(server, settings) + token,
        TOKEN_SHA256_KEY: sha256_hex(token),
    }
    if server.spec.require_api_token_auth:
        data[API_TOKEN_SHA256S_KEY] = ",".join(api_token_digests)
    if previous is not None:
        data |= {PREVIOUS_TOKEN_SHA256_KEY: previous.sha256, PREVIOUS_TOKEN_UNTIL_KEY: rfc3339(previous.until)}
    extra = {"annotations": {ROTATION_ANNOTATION: rotation}} if rotation is not None else {}
    return _secret(server, token_secret_name(server.name), data, **extra)


def link_key_secret(server: Server, key: str) -> dict[str, Any]:
    """The key the proxy signs download links with. A Secret of its own, not the token Secret:
    users who may read the MCP URL must not be able to forge links."""
    return _secret(server, link_key_secret_name(server.name), {LINK_KEY_KEY: key})


def service_account(server: Server) -> dict[str, Any]:
    """An identity of its own with no API token: the proxy never calls Kubernetes."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(server, workload_name(server.name)),
        "automountServiceAccountToken": False,
    }


def service(server: Server) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(server, workload_name(server.name)),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(server.name),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _secret_env(name: str, secret: str, key: str, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def proxy_env(server: Server, settings: OperatorSettings) -> list[dict[str, Any]]:
    """The proxy's environment, per coviu_mcp.config.ServerSettings."""
    spec, creds, own = server.spec, server.spec.credentials_secret_ref, token_secret_name(server.name)
    variables: list[dict[str, Any]] = [
        {"name": env.API_BASE_URL, "value": spec.api_base_url},
        _secret_env(env.CLIENT_ID, creds.name, creds.client_id_key),
        _secret_env(env.CLIENT_SECRET, creds.name, creds.client_secret_key),
        _secret_env(env.REFRESH_TOKEN, creds.name, creds.refresh_token_key, optional=True),
        _secret_env(env.TOKEN_SHA256, own, TOKEN_SHA256_KEY),
        _secret_env(env.PREVIOUS_TOKEN_SHA256, own, PREVIOUS_TOKEN_SHA256_KEY, optional=True),
        _secret_env(env.PREVIOUS_TOKEN_UNTIL, own, PREVIOUS_TOKEN_UNTIL_KEY, optional=True),
        _secret_env(env.LINK_SIGNING_KEY, link_key_secret_name(server.name), LINK_KEY_KEY),
        {"name": env.REQUIRE_API_TOKEN, "value": "true" if spec.require_api_token_auth else "false"},
        {"name": env.ALLOWED_HOSTS, "value": ",".join(allowed_hosts(server, settings))},
        {"name": env.PORT, "value": str(CONTAINER_PORT)},
        {"name": env.ADMIN_PORT, "value": str(ADMIN_PORT)},
    ]
    if spec.require_api_token_auth:
        variables.append(_secret_env(env.API_TOKEN_SHA256S, own, API_TOKEN_SHA256S_KEY))
    if spec.methods:
        variables.append({"name": env.METHODS, "value": ",".join(spec.methods)})
    if spec.tags:
        variables.append({"name": env.TAGS, "value": ",".join(spec.tags)})
    if spec.expires_at is not None:
        # The proxy refuses requests from this instant on by itself, even if the operator is down.
        variables.append({"name": env.EXPIRES_AT, "value": rfc3339(spec.expires_at)})
    if spec.public_url:
        variables.append({"name": env.PUBLIC_URL, "value": spec.public_url})
    if settings.forwarded_allow_ips:
        variables.append({"name": env.FORWARDED_ALLOW_IPS, "value": ",".join(settings.forwarded_allow_ips)})
    return variables


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "admin"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _resources(server: Server, settings: OperatorSettings) -> dict[str, Any]:
    chosen = server.spec.resources or settings.resources
    return chosen.model_dump(exclude_none=True)


def _pod_overrides(server: Server) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """Labels, annotations and Pod spec fields taken from spec.podTemplate."""
    template = server.spec.pod_template
    if template is None:
        return {}, {}, {}
    fields: dict[str, Any] = {}
    if template.node_selector:
        fields["nodeSelector"] = dict(template.node_selector)
    if template.tolerations:
        fields["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True) for t in template.tolerations]
    if template.priority_class_name:
        fields["priorityClassName"] = template.priority_class_name
    if template.image_pull_secrets:
        fields["imagePullSecrets"] = [{"name": ref.name} for ref in template.image_pull_secrets]
    return dict(template.labels or {}), dict(template.annotations or {}), fields


def deployment(server: Server, settings: OperatorSettings, config_hash: str) -> dict[str, Any]:
    """The proxy Deployment; `config_hash` on the pod template rolls it when a Secret changes, and
    the Secret shares it uses are recorded on it, so that a withdrawn share removes it."""
    extra_labels, extra_annotations, pod_fields = _pod_overrides(server)
    container = {
        "name": CONTAINER_NAME,
        "image": server.spec.image or settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": [PROXY_COMMAND],
        # MCP clients reach "http" through the Service; probes and Prometheus reach "admin" directly.
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"},
                  {"name": "admin", "containerPort": ADMIN_PORT, "protocol": "TCP"}],
        "env": proxy_env(server, settings),
        "resources": _resources(server, settings),
        "readinessProbe": _probe("/readyz", period=5, failures=3),
        "livenessProbe": _probe("/healthz", period=10, failures=3),
        # Keep serving while kube-proxy drops the terminating Pod from the Service: without
        # the pause, a roll refuses the calls that reach the old Pod in that window.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod_spec = {
        "serviceAccountName": workload_name(server.name),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        **pod_fields,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(server, workload_name(server.name),
                              annotations={SHARES_ANNOTATION: record(shares(server))}),
        "spec": {
            # Left out when unset: server-side apply then leaves the count to whoever scales it.
            **({"replicas": server.spec.replicas} if server.spec.replicas is not None else {}),
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector_labels(server.name)},
            # A new token or Secret must never leave the server without a ready Pod.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": {**extra_labels, **child_labels(server.name)},
                    "annotations": {**extra_annotations, CONFIG_HASH_ANNOTATION: config_hash},
                },
                "spec": pod_spec,
            },
        },
    }
