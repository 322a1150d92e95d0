"""kopf wiring: which watches exist and what each one does. No logic lives here.

Every CoviuMCPServer gets one daemon (controller.run) that owns all its work. The other
handlers only poke that daemon: a change of the server itself, of a Secret it references,
or of one of its children. They are coroutines so that they run on the event loop that owns
the loops' wake-up state (kopf runs plain functions in a thread pool). Handlers use their own
registry, passed to kopf explicitly, so importing this module has no effect on any other kopf
operator in the process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import kopf

from . import controller
from .names import (
    FINALIZER,
    GROUP,
    MANAGED_BY_LABEL,
    MANAGER,
    PLURAL,
    ROTATE_ANNOTATION,
    SECRET_USE_LABEL,
    SERVER_LABEL,
    VERSION,
)

registry = kopf.OperatorRegistry()
CHILDREN = {MANAGED_BY_LABEL: MANAGER}


@kopf.on.startup(registry=registry)
def configure(*, settings: kopf.OperatorSettings, **_: Any) -> None:
    """Keep kopf's bookkeeping in our own annotations and finalizer, out of the typed status."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration",
    )
    # Only Secrets shared with servers (policy.py) or the operator's own can matter: the API server
    # sends no other Secret, so the operator never holds the cluster's other Secrets in memory.
    settings.watching.label_selectors["v1", "secrets"] = SECRET_USE_LABEL
    # Our Events are posted on purpose (controller._report); kopf posts only its own failures.
    settings.posting.level = logging.ERROR
    # A watch can stall without a TCP error (nolar/kopf#810): bound it on both sides.
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.watching.connect_timeout = 30


@kopf.on.login(registry=registry)
async def login(*, memo: kopf.Memo, **_: Any) -> kopf.ConnectionInfo:
    runtime: controller.Runtime = memo.runtime
    return await runtime.context.kube.connection_info()


@kopf.daemon(GROUP, VERSION, PLURAL, id="server", registry=registry, cancellation_timeout=10.0, backoff=10.0)
async def server(*, body: kopf.Body, memo: kopf.Memo, stopped: kopf.DaemonStopped, logger: kopf.Logger,
                 **_: Any) -> None:
    await controller.run(body, memo.runtime, stopped, logger)


@kopf.on.event(GROUP, VERSION, PLURAL, id="server-changed", registry=registry)
async def server_changed(*, body: kopf.Body, namespace: str | None, name: str, memo: kopf.Memo, **_: Any) -> None:
    """Wake the server on spec or rotate-token changes, and on status writes by anyone else; its own
    status writes do not wake it."""
    assert namespace is not None  # the resource is namespaced (as are all below)
    rotate = body.get("metadata", {}).get("annotations", {}).get(ROTATE_ANNOTATION)
    wakeups = memo.runtime.wakeups
    wakeups.poke((namespace, name), "spec", json.dumps([body.get("spec"), rotate], sort_keys=True))
    wakeups.poke((namespace, name), "status", controller.status_fingerprint(body.get("status")))


def referenced_secrets(spec: Mapping[str, Any]) -> set[str]:
    """Names of the Secrets a raw spec points at (tolerates objects that fail validation)."""
    refs = (spec.get(field) for field in ("credentialsSecretRef", "apiTokenSecretRef", "tokenSecretRef"))
    return {ref["name"] for ref in refs if isinstance(ref, Mapping) and isinstance(ref.get("name"), str)}


@kopf.index(GROUP, VERSION, PLURAL, id="secret_users", registry=registry)
async def secret_users(
    *, namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str | None, str], str]:
    return {(namespace, secret): name for secret in referenced_secrets(spec)}


@kopf.on.event("v1", "secrets", id="secret-changed", registry=registry)  # type: ignore[arg-type]  # index kwarg
async def secret_changed(*, body: kopf.Body, type: str | None, namespace: str | None, name: str,
                         labels: kopf.Labels, secret_users: kopf.Index[Any, str], memo: kopf.Memo, **_: Any) -> None:
    """A referenced Secret or a server's own token Secret changed, appeared or vanished."""
    assert namespace is not None
    users = set(secret_users.get((namespace, name), ()))
    if labels.get(MANAGED_BY_LABEL) == MANAGER and SERVER_LABEL in labels:
        users.add(labels[SERVER_LABEL])
    if not users:
        return
    seen = controller.fingerprint(body, type)
    for user in users:
        memo.runtime.wakeups.poke((namespace, user), f"Secret/{name}", seen)


@kopf.on.event("apps", "v1", "deployments", id="deployment-changed", labels=CHILDREN, registry=registry)
@kopf.on.event("v1", "services", id="service-changed", labels=CHILDREN, registry=registry)
@kopf.on.event("v1", "serviceaccounts", id="serviceaccount-changed", labels=CHILDREN, registry=registry)
async def child_changed(*, body: kopf.Body, type: str | None, namespace: str | None, name: str,
                        labels: kopf.Labels, memo: kopf.Memo, **_: Any) -> None:
    """A child changed (a rollout progressed) or was removed: the owner re-checks and repairs."""
    assert namespace is not None
    owner = labels.get(SERVER_LABEL)
    if owner:
        source = f"{body.get('kind')}/{name}"
        memo.runtime.wakeups.poke((namespace, owner), source, controller.fingerprint(body, type))
