"""The few Kubernetes API calls the operator makes, on plain dicts.

Children are written with server-side apply (field manager `coviu-mcp-operator`, forced):
one idempotent request per object that creates it, corrects drift, drops fields the
operator stopped setting, leaves other managers' labels alone, and costs no write when
nothing changed. Failures are classified into errors.TransientKubeError (retry soon) and
errors.RejectedKubeError (report and wait) here, once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import kopf
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from .errors import KubeError, RejectedKubeError, TransientKubeError, kube_error
from .names import API_VERSION, MANAGER, PLURAL

_COLLECTIONS = {
    ("v1", "Secret"): "/api/v1/namespaces/{namespace}/secrets",
    ("v1", "ServiceAccount"): "/api/v1/namespaces/{namespace}/serviceaccounts",
    ("v1", "Service"): "/api/v1/namespaces/{namespace}/services",
    ("apps/v1", "Deployment"): "/apis/apps/v1/namespaces/{namespace}/deployments",
    (API_VERSION, "CoviuMCPServer"): f"/apis/{API_VERSION}/namespaces/{{namespace}}/{PLURAL}",
}
# kubernetes_asyncio logs every response body at DEBUG, Secrets included: never let `-v` do that.
logging.getLogger("kubernetes_asyncio.client.rest").setLevel(logging.INFO)

_JSON = "application/json"
_APPLY = "application/apply-patch+yaml"  # JSON is YAML
_MERGE = "application/merge-patch+json"
_JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class Ref:
    """Identifies one namespaced object."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> Ref:
        meta = manifest["metadata"]
        return cls(manifest["apiVersion"], manifest["kind"], meta["namespace"], meta["name"])

    @property
    def path(self) -> str:
        collection = _COLLECTIONS[(self.api_version, self.kind)].format(namespace=self.namespace)
        return f"{collection}/{self.name}"

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Applied:
    obj: dict[str, Any]
    created: bool


def _reason(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}")["message"])
    except (TypeError, ValueError, KeyError):
        return str(exc.reason)


class Kube:
    """A thin client: each method is one request, returning dicts."""

    def __init__(self, api: client.ApiClient, timeout: float) -> None:
        self._api = api
        self._timeout = timeout

    @classmethod
    @asynccontextmanager
    async def connect(cls, timeout: float, kubeconfig: str | None = None) -> AsyncIterator[Kube]:
        """Log in with `kubeconfig` if given, else the in-cluster service account, else KUBECONFIG."""
        configuration = client.Configuration()
        if kubeconfig is not None:
            await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        else:
            try:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except config.ConfigException:
                await config.load_kube_config(client_configuration=configuration)
        async with client.ApiClient(configuration) as api:
            yield cls(api, timeout)

    async def connection_info(self) -> kopf.ConnectionInfo:
        """The same credentials for kopf's own client, so both always talk to one cluster as one user."""
        cfg = self._api.configuration
        header = await cfg.get_api_key_with_prefix("BearerToken")  # refreshes a rotated SA token
        scheme, _, token = (header or "").rpartition(" ")
        return kopf.ConnectionInfo(
            server=str(cfg.host),
            ca_path=cfg.ssl_ca_cert,
            insecure=not cfg.verify_ssl,
            scheme=scheme or ("Bearer" if token else None),
            token=token or None,
            certificate_path=cfg.cert_file,
            private_key_path=cfg.key_file,
        )

    async def _call(
        self, method: str, path: str, *, body: Any = None,
        query: Sequence[tuple[str, str]] = (), content_type: str = _JSON,
    ) -> tuple[dict[str, Any], int]:
        try:
            data, status, _ = await self._api.call_api(
                path, method,
                query_params=list(query),
                header_params={"Accept": _JSON, "Content-Type": content_type},
                body=body,
                response_types_map={200: "object", 201: "object", 202: "object"},
                auth_settings=["BearerToken"],
                _return_http_data_only=False,
                _request_timeout=self._timeout,
            )
        except ApiException as exc:
            raise kube_error(f"{method} {path}: {_reason(exc)}", exc.status or 0) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientKubeError(f"{method} {path}: {exc!r}") from None
        return data if isinstance(data, dict) else {}, status

    async def get(self, ref: Ref) -> dict[str, Any] | None:
        try:
            return (await self._call("GET", ref.path))[0]
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def find(self, ref: Ref) -> dict[str, Any] | None:
        """Read one object with a list request selecting its name: the operator may list and watch
        its children's kinds but needs no get right on them."""
        collection = _COLLECTIONS[(ref.api_version, ref.kind)].format(namespace=ref.namespace)
        body, _ = await self._call("GET", collection, query=[("fieldSelector", f"metadata.name={ref.name}")])
        found = next((item for item in body.get("items") or [] if item["metadata"]["name"] == ref.name), None)
        return None if found is None else {"apiVersion": ref.api_version, "kind": ref.kind, **found}

    async def list_servers(self, namespaces: Sequence[str], name: str | None = None) -> list[dict[str, Any]]:
        """Every CoviuMCPServer in `namespaces` (the cluster when empty), or those called `name`.

        A list with a name selector reads one server with the list right the operator has anyway.
        """
        collection = _COLLECTIONS[(API_VERSION, "CoviuMCPServer")]
        paths = [collection.format(namespace=ns) for ns in namespaces] or [f"/apis/{API_VERSION}/{PLURAL}"]
        query = [("fieldSelector", f"metadata.name={name}")] if name is not None else []
        listed = await asyncio.gather(*(self._call("GET", path, query=query) for path in paths))
        return [item for body, _ in listed for item in body.get("items") or []]

    async def apply(self, manifest: dict[str, Any]) -> Applied:
        """Server-side apply; the result says whether the object was created by it.

        If another client changed the key of a list entry the operator owns (a Service port
        edited from 80 to 8081), the applied entry becomes a second one and the result is
        invalid (a duplicate port name): then the spec is overwritten with a merge patch, which
        replaces lists whole, and applied again. Anything else that is rejected stays rejected.
        A `metadata.uid` in the manifest makes both requests fail on any other object of that name
        (the UID is immutable), so an object replaced since it was read is never written.
        """
        path = Ref.of(manifest).path
        query = [("fieldManager", MANAGER), ("force", "true")]
        try:
            obj, status = await self._call("PATCH", path, body=manifest, content_type=_APPLY, query=query)
        except KubeError as exc:
            if exc.status != 422 or "spec" not in manifest:
                raise
            try:
                uid = {"metadata": {"uid": manifest["metadata"]["uid"]}} if "uid" in manifest["metadata"] else {}
                await self._call("PATCH", path, body={**uid, "spec": manifest["spec"]}, content_type=_MERGE,
                                 query=[("fieldManager", MANAGER)])
            except KubeError:
                raise exc from None
            obj, status = await self._call("PATCH", path, body=manifest, content_type=_APPLY, query=query)
        return Applied(obj, created=status == 201)

    async def delete(self, ref: Ref, uid: str) -> bool:
        """Delete the object with `uid` (a precondition the API server checks), background cascade;
        False if it is gone or the name now belongs to another object."""
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background",
                   "preconditions": {"uid": uid}}
        try:
            await self._call("DELETE", ref.path, body=options)
        except KubeError as exc:
            if exc.status in (404, 409):
                return False
            raise
        return True

    async def namespace_terminating(self, namespace: str) -> bool:
        """Whether `namespace` is being deleted, asked as a dry-run Event creation (the one create
        right the operator has everywhere): admission refuses new content in a terminating namespace."""
        event = {"apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "coviu-mcp-probe-"},
                 "involvedObject": {"kind": "Namespace", "name": namespace}, "reason": "Probe", "type": "Normal"}
        try:
            await self._call("POST", f"/api/v1/namespaces/{namespace}/events", body=event,
                             query=[("dryRun", "All")])
        except RejectedKubeError as exc:
            return exc.status == 403 and "being terminated" in str(exc)
        return False

    async def terminating_namespaces(self, names: Sequence[str]) -> list[str]:
        """Those of `names` that are being deleted (a list: the operator may not get namespaces)."""
        body, _ = await self._call("GET", "/api/v1/namespaces")
        return [item["metadata"]["name"] for item in body.get("items") or []
                if item["metadata"]["name"] in names and item["metadata"].get("deletionTimestamp")]

    async def remove_finalizer(self, ref: Ref, finalizers: list[str], finalizer: str) -> None:
        """Take `finalizer` out of an object whose finalizers are `finalizers`; a JSON patch that
        tests them first, so a list changed since it was read is never overwritten (409, retried)."""
        patch = [{"op": "test", "path": "/metadata/finalizers", "value": finalizers},
                 {"op": "replace", "path": "/metadata/finalizers", "value": [f for f in finalizers if f != finalizer]}]
        await self._call("PATCH", ref.path, body=patch, content_type=_JSON_PATCH)

    async def patch_status(self, ref: Ref, status: dict[str, Any]) -> None:
        """Merge-patch the status subresource; keys set to None are removed."""
        await self._call("PATCH", f"{ref.path}/status", body={"status": status}, content_type=_MERGE)
