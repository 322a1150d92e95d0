"""The installer's policy over what a manifest may make the operator do.

Writing a CoviuMCPServer must not give anyone more than they already had. So the operator's
own settings, not the manifest, decide where credentials may be sent (allowed Coviu API base
URLs, https unless a sandbox host is listed), where MCP URLs and download links point (allowed
public hosts), what runs with them (allowed images) and which
Pod overrides a tenant may set; and a referenced Secret is used only if its owner shared it:
labelled with the one use it is for, annotated with the servers that may use it and,
optionally, the keys they may read. Pure functions: each violation is an InputError with
reason PolicyViolation whose message names the field, and nothing is applied while one stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .errors import InputError
from .models import PodTemplate, Server
from .names import (
    API_TOKENS_USE,
    CREDENTIALS_USE,
    SECRET_KEYS_ANNOTATION,
    SECRET_SERVERS_ANNOTATION,
    SECRET_USE_LABEL,
    URL_TOKEN_USE,
)
from .secrets import check_api_tokens, check_credentials, check_provided_token
from .settings import ENV_PREFIX, OperatorSettings

REASON = "PolicyViolation"
# The keys a shared Secret offers when its owner does not list them; None: every key.
DEFAULT_KEYS: dict[str, frozenset[str] | None] = {
    CREDENTIALS_USE: frozenset({"client_id", "client_secret", "refresh_token"}),
    URL_TOKEN_USE: frozenset({"token"}),
    API_TOKENS_USE: None,
}


def _items(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _allowed(values: Iterable[str], setting: str) -> str:
    listed = ", ".join(values) or "none"
    return f"allowed: {listed}; the operator's installer sets {ENV_PREFIX}{setting.upper()}"


def api_base_url_allowed(url: str, settings: OperatorSettings) -> bool:
    """An allowed https base URL exactly, or any http(s) URL of a listed sandbox host."""
    if url.rstrip("/") in settings.allowed_api_base_urls:
        return True
    parts = urlsplit(url)
    return (parts.scheme in ("http", "https") and "@" not in parts.netloc
            and parts.hostname is not None and parts.hostname in settings.sandbox_hosts)


def public_host_allowed(url: str, settings: OperatorSettings) -> bool:
    """A listed host, or a host under a listed `*.domain`."""
    host = urlsplit(url).hostname or ""
    return any(host == entry or (entry.startswith("*.") and host.endswith(entry[1:]))
               for entry in settings.allowed_public_hosts)


def _pod_violations(template: PodTemplate, settings: OperatorSettings) -> list[str]:
    field = "spec.podTemplate"
    found = []
    for name, keys, setting in [
        ("labels", template.labels, "allowed_pod_labels"),
        ("annotations", template.annotations, "allowed_pod_annotations"),
        ("nodeSelector", template.node_selector, "allowed_node_selector_keys"),
    ]:
        allowed = getattr(settings, setting)
        refused = sorted(key for key in keys or {} if key not in allowed)
        if refused:
            found.append(f"{field}.{name}: {', '.join(map(repr, refused))} not allowed ({_allowed(allowed, setting)})")
    for index, toleration in enumerate(template.tolerations or ()):
        if toleration.key not in settings.allowed_toleration_keys:
            what = repr(toleration.key) if toleration.key else "an empty key (every taint)"
            found.append(f"{field}.tolerations[{index}].key: {what} not allowed "
                         f"({_allowed(settings.allowed_toleration_keys, 'allowed_toleration_keys')})")
    priority_class = template.priority_class_name
    if priority_class and priority_class not in settings.allowed_priority_classes:
        found.append(f"{field}.priorityClassName: {priority_class!r} not allowed "
                     f"({_allowed(settings.allowed_priority_classes, 'allowed_priority_classes')})")
    return found


def check_spec(server: Server, settings: OperatorSettings) -> None:
    """Raise one InputError naming every field of the spec the installer's policy refuses."""
    spec, found = server.spec, []
    if not api_base_url_allowed(spec.api_base_url, settings):
        hosts = f"; plain http only to a sandbox host ({', '.join(settings.sandbox_hosts) or 'none'})"
        found.append(f"spec.apiBaseURL: {spec.api_base_url!r} is not an allowed Coviu API "
                     f"({_allowed(settings.allowed_api_base_urls, 'allowed_api_base_urls')}{hosts})")
    if spec.public_url is not None and not public_host_allowed(spec.public_url, settings):
        found.append(f"spec.publicURL: {spec.public_url!r} is not an allowed host for MCP URLs and download links "
                     f"({_allowed(settings.allowed_public_hosts, 'allowed_public_hosts')})")
    if spec.image is not None and spec.image not in (settings.image, *settings.allowed_images):
        found.append(f"spec.image: {spec.image!r} is not allowed "
                     f"({_allowed((settings.image, *settings.allowed_images), 'allowed_images')})")
    if spec.pod_template is not None:
        found += _pod_violations(spec.pod_template, settings)
    if found:
        raise InputError(REASON, "; ".join(found))


def shared(secret: dict[str, Any] | None, use: str, server: Server, field: str,
           keys: Iterable[str] = ()) -> dict[str, Any] | None:
    """`secret` cut down to the keys its owner shares for `use` with `server`; None if absent.

    Raises InputError unless the Secret is labelled `use`, its servers annotation names the
    server (or is *), and every one of `keys` is shared.
    """
    if secret is None:
        return None
    meta = secret.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    where = f"{field}: Secret {server.namespace}/{meta.get('name', '')}"
    if labels.get(SECRET_USE_LABEL) != use:
        raise InputError(REASON, f"{where} is not shared for this use: its owner must label it "
                                 f"{SECRET_USE_LABEL}={use} and annotate it {SECRET_SERVERS_ANNOTATION}")
    servers = _items(annotations.get(SECRET_SERVERS_ANNOTATION))
    if "*" not in servers and server.name not in servers:
        raise InputError(REASON, f"{where} is not shared with CoviuMCPServer {server.name}: its annotation "
                                 f"{SECRET_SERVERS_ANNOTATION} must name it (or be *)")
    listed = annotations.get(SECRET_KEYS_ANNOTATION)
    offered = frozenset(_items(listed)) if listed is not None else DEFAULT_KEYS[use]
    if offered is None:
        return secret
    refused = sorted(key for key in keys if key not in offered)
    if refused:
        raise InputError(REASON, f"{where}: key {', '.join(map(repr, refused))} is not shared "
                                 f"(shared keys: {', '.join(sorted(offered)) or 'none'}; "
                                 f"annotation {SECRET_KEYS_ANNOTATION})")
    data = {key: value for key, value in (secret.get("data") or {}).items() if key in offered}
    return {**secret, "data": data}


def use_credentials(secret: dict[str, Any] | None, server: Server) -> str:
    """The credentials digest (secrets.check_credentials) of a Secret shared for credentials."""
    ref = server.spec.credentials_secret_ref
    keys = (ref.client_id_key, ref.client_secret_key, ref.refresh_token_key)
    return check_credentials(shared(secret, CREDENTIALS_USE, server, "spec.credentialsSecretRef", keys),
                             ref, server.namespace)


def use_api_tokens(secret: dict[str, Any] | None, server: Server) -> tuple[str, ...]:
    """The API token digests (secrets.check_api_tokens) of the shared keys of a Secret."""
    ref = server.spec.api_token_secret_ref
    assert ref is not None  # only asked for when requireApiTokenAuth names one
    return check_api_tokens(shared(secret, API_TOKENS_USE, server, "spec.apiTokenSecretRef"), ref, server.namespace)


def use_provided_token(secret: dict[str, Any] | None, server: Server) -> str:
    """The URL token (secrets.check_provided_token) of a Secret shared as one."""
    ref = server.spec.token_secret_ref
    assert ref is not None  # only asked for when tokenSecretRef is set
    return check_provided_token(shared(secret, URL_TOKEN_USE, server, "spec.tokenSecretRef", (ref.key,)),
                                ref, server.namespace)
