"""What a namespace must look like after faults, for the fault tests and the fault benchmark.

`world` reads everything the invariants look at in one go; `problems` lists every way it
differs from the expected final state (empty: converged).
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from typing import Any

from kubernetes_asyncio import client

from coviu_operator.names import API_VERSION, KIND, MANAGED_BY_LABEL, MANAGER, PLURAL


async def items(api: client.ApiClient, path: str) -> list[dict[str, Any]]:
    data, _, _ = await api.call_api(path, "GET", header_params={"Accept": "application/json"},
                                    response_types_map={200: "object"}, auth_settings=["BearerToken"],
                                    _return_http_data_only=False, _request_timeout=20)
    return list(data["items"])


async def world(api: client.ApiClient, namespace: str) -> dict[str, list[dict[str, Any]]]:
    """Everything in the namespace the invariants look at."""
    paths = {
        "servers": f"/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}",
        "Deployment": f"/apis/apps/v1/namespaces/{namespace}/deployments",
        "ReplicaSet": f"/apis/apps/v1/namespaces/{namespace}/replicasets",
        "Pod": f"/api/v1/namespaces/{namespace}/pods",
        "Service": f"/api/v1/namespaces/{namespace}/services",
        "ServiceAccount": f"/api/v1/namespaces/{namespace}/serviceaccounts",
        "Secret": f"/api/v1/namespaces/{namespace}/secrets",
        "events": f"/api/v1/namespaces/{namespace}/events",
    }
    fetched = await asyncio.gather(*(items(api, path) for path in paths.values()))
    return dict(zip(paths, fetched, strict=True))


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    """The condition of `type_` on any object (a server, a Pod), or {} when it has none or is gone."""
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type_), {})


def event_counts(seen: dict[str, list[dict[str, Any]]]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for event in seen["events"]:
        involved = event.get("involvedObject") or {}
        if involved.get("kind") == KIND:
            counts.setdefault(involved["name"], Counter())[event["reason"]] += 1
    return counts


def problems(seen: dict[str, list[dict[str, Any]]], live: set[str], expired: set[str],
             rolled: frozenset[str] = frozenset(), rotated: frozenset[str] = frozenset()) -> list[str]:
    """Every way the namespace differs from: `live` servers Ready with one of each child (two Secrets:
    the token and the link key) and one
    ReplicaSet (two for the `rolled` ones, whose pod template was changed once), `expired` servers
    Expired with at most their ServiceAccount left, nothing else owned, no Event announced twice (but
    Ready after a rollout), and no token rotated except for the `rotated` servers (once)."""
    found: list[str] = []
    servers = {s["metadata"]["name"]: s for s in seen["servers"]}
    if set(servers) != live | expired:
        found.append(f"servers missing: {sorted((live | expired) - set(servers))}, "
                     f"not deleted: {sorted(set(servers) - live - expired)}")
    for name in sorted(live & set(servers)):
        obj = servers[name]
        if condition(obj, "Ready").get("status") != "True":
            found.append(f"{name} not Ready: {condition(obj, 'Ready').get('reason')}")
        elif (obj.get("status") or {}).get("observedGeneration") != obj["metadata"]["generation"]:
            found.append(f"{name}: status is of an older generation")
    found.extend(
        f"{name} not Expired"
        for name in sorted(expired & set(servers))
        if condition(servers[name], "Expired").get("status") != "True"
    )
    uids = {s["metadata"]["uid"]: name for name, s in servers.items()}
    expected = {kind: {f"{n}-mcp" for n in live} for kind in ("Deployment", "Service")}
    # The ServiceAccount outlives expiry, if it was ever created: a server can expire before its first reconcile.
    accounts = {o["metadata"]["name"] for o in seen["ServiceAccount"]}
    expected["ServiceAccount"] = {f"{n}-mcp" for n in live} | ({f"{n}-mcp" for n in expired} & accounts)
    expected["Secret"] = {f"{n}-mcp-{s}" for n in live for s in ("token", "link-key")}
    for kind, names in expected.items():
        owned = [o for o in seen[kind] if (o["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGER]
        have = Counter(o["metadata"]["name"] for o in owned)
        if set(have) != names:
            found.append(f"{kind}: missing {sorted(names - set(have))}, left over {sorted(set(have) - names)}")
        for o in owned:
            refs = [r["uid"] for r in o["metadata"].get("ownerReferences") or []]
            if len(refs) != 1 or refs[0] not in uids:
                found.append(f"{kind} {o['metadata']['name']} is orphaned (owners {refs})")
    deployments = {d["metadata"]["uid"]: d["metadata"]["name"] for d in seen["Deployment"]}
    sets = Counter(deployments.get(r["uid"], "?") for rs in seen["ReplicaSet"]
                   for r in rs["metadata"].get("ownerReferences") or [])
    extra = {name: n for name, n in sets.items() if n != (2 if name.removesuffix("-mcp") in rolled else 1)}
    if extra:
        found.append(f"ReplicaSets per Deployment other than one (a rollout nobody asked for, or an orphan): {extra}")
    running = Counter(p["metadata"]["labels"].get("app.kubernetes.io/instance") for p in seen["Pod"]
                      if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp"))
    if set(running) != live or set(running.values()) - {1}:
        found.append(f"running Pods differ from one per live server: {dict(running)}")
    for name, reasons in event_counts(seen).items():
        # A rollout flips Ready to False and back, and so announces Ready once more.
        most = {"Created": 1, "Expired": 1, "Ready": 2 if name in rolled else 1}
        twice = {reason: n for reason, n in reasons.items() if n > most.get(reason, n)}
        if twice or reasons["TokenRotated"] != (1 if name in rotated else 0):
            found.append(f"{name}: announced twice or rotated: {dict(reasons)}")
    return found


async def tokens(api: client.ApiClient, namespace: str) -> dict[str, str]:
    return {s["metadata"]["name"].removesuffix("-mcp-token"): base64.b64decode(s["data"]["token"]).decode()
            for s in await items(api, f"/api/v1/namespaces/{namespace}/secrets")
            if s["metadata"]["name"].endswith("-mcp-token")}
