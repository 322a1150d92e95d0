"""Helpers for testing the operator and code around it (cf. kopf.testing).

`OperatorThread` runs the operator in a background thread with an event loop of its own,
so blocking code in the caller (kubectl, time measurements) can neither stall it nor be
stalled by it. `server_body` and `credentials_secret` build valid objects with defaults,
so a test states only what it is about.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from coviu_operator.cli import run_operator
from coviu_operator.metrics import Metrics
from coviu_operator.names import API_VERSION, CREDENTIALS_USE, KIND, SECRET_SERVERS_ANNOTATION, SECRET_USE_LABEL
from coviu_operator.settings import OperatorSettings

CREDENTIALS = "coviu-credentials"


class OperatorThread:
    """`with OperatorThread(settings, namespaces=[ns], kubeconfig=path) as op:` runs it until exit."""

    def __init__(
        self,
        settings: OperatorSettings,
        *,
        namespaces: Sequence[str] = (),
        kubeconfig: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.settings = settings
        self.namespaces = tuple(namespaces)
        self.kubeconfig = kubeconfig
        self.startup_timeout = startup_timeout
        self.metrics = Metrics()
        self.exception: BaseException | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="coviu-operator", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(run_operator(
                self.settings, self.metrics, namespaces=self.namespaces, kubeconfig=self.kubeconfig,
                stop_flag=self._stop, ready_flag=self._ready,
            ))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread in __exit__
            self.exception = exc
        finally:
            self._ready.set()  # never leave __enter__ waiting for an operator that died

    def __enter__(self) -> OperatorThread:
        self._thread.start()
        if not self._ready.wait(self.startup_timeout):
            raise TimeoutError(f"the operator was not ready within {self.startup_timeout}s")
        if self.exception is not None:
            raise RuntimeError("the operator failed to start") from self.exception
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        if self._thread.is_alive():
            raise RuntimeError("the operator did not stop within 60s")
        if self.exception is not None and exc is None:
            raise RuntimeError("the operator failed while running") from self.exception


def server_body(name: str = "demo", namespace: str = "default", spec: dict[str, Any] | None = None,
                **metadata: Any) -> dict[str, Any]:
    """A CoviuMCPServer; `spec` entries override the defaults, `metadata` entries are added."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace, **metadata},
        "spec": {"credentialsSecretRef": {"name": CREDENTIALS}, **(spec or {})},
    }


def secret_body(name: str, namespace: str = "default", **values: str) -> dict[str, Any]:
    """An Opaque Secret holding `values` (base64-encoded as the API returns them)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in values.items()},
    }


def shared(secret: dict[str, Any], use: str, servers: str = "*") -> dict[str, Any]:
    """`secret` shared by its owner for `use` with `servers` (see coviu_operator.policy)."""
    meta = secret["metadata"]
    return {**secret, "metadata": {**meta, "labels": {**meta.get("labels", {}), SECRET_USE_LABEL: use},
                                   "annotations": {**meta.get("annotations", {}), SECRET_SERVERS_ANNOTATION: servers}}}


def credentials_secret(namespace: str = "default", name: str = CREDENTIALS, **values: str) -> dict[str, Any]:
    """The Coviu client credentials a server needs, shared with every server; override or add keys by name."""
    return shared(secret_body(name, namespace, **{"client_id": "coviu-client-id",
                                                  "client_secret": "coviu-client-secret", **values}), CREDENTIALS_USE)
