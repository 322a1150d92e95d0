"""The control plane does what the operator tests rely on.

Each behaviour below is something an API-server-only setup (envtest) lacks or something
the operator depends on: CRD validation, Deployments that produce Ready Pods on the fake
Node, garbage collection that follows ownerReferences (including owners that are custom
resources), and namespaces that really go away.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from coviu_testbed.cluster import ControlPlane, KubectlError
from coviu_testbed.cluster.waiting import eventually

# Installed at start-up from tests/k8s/crds/widgets.yaml.
GROUP, VERSION, PLURAL, KIND = "smoke.coviu.test", "v1", "widgets", "Widget"


def _widget(name: str, size: int, namespace: str | None = None) -> dict[str, object]:
    metadata = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": metadata,
            "spec": {"size": size}}


async def _not_found(read: Awaitable[object]) -> bool:
    try:
        await read
    except ApiException as exc:
        return exc.status == 404
    return False


def test_namespace_is_active(control_plane: ControlPlane, namespace: str) -> None:
    phase = control_plane.kubectl("get", "namespace", namespace, "-o",
                                  "jsonpath={.status.phase}").stdout
    assert phase == "Active"


def test_custom_resource_is_validated_and_stored(
    control_plane: ControlPlane, namespace: str
) -> None:
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(_widget("w1", 3, namespace)))
    size = control_plane.kubectl("get", f"{PLURAL}.{GROUP}", "w1", "-n", namespace,
                                 "-o", "jsonpath={.spec.size}").stdout
    assert size == "3"

    with pytest.raises(KubectlError, match=r"spec\.size"):
        control_plane.kubectl("apply", "-f", "-", input=json.dumps(_widget("w2", 0, namespace)))


def test_a_crd_created_mid_session_is_served(control_plane: ControlPlane, namespace: str) -> None:
    plural = f"gadgets{uuid.uuid4().hex[:6]}"
    kind = "Gadget" + plural.removeprefix("gadgets")
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "kind": kind},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            }}],
        },
    }
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(crd))
    try:
        control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                              f"crd/{plural}.{GROUP}")
        resource = {"apiVersion": f"{GROUP}/v1", "kind": kind,
                    "metadata": {"name": "g1", "namespace": namespace}, "spec": {"any": "thing"}}
        control_plane.kubectl("apply", "-f", "-", input=json.dumps(resource))
        got = control_plane.kubectl("get", f"{plural}.{GROUP}", "g1", "-n", namespace,
                                    "-o", "jsonpath={.spec.any}").stdout
        assert got == "thing"
    finally:
        control_plane.kubectl("delete", f"crd/{plural}.{GROUP}", "--wait=false")


async def _create_deployment(
    api: client.ApiClient, namespace: str, name: str, replicas: int
) -> None:
    labels = {"app": name}
    await client.AppsV1Api(api).create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                # kwok never runs the image; any name will do.
                "spec": {"containers": [{"name": "main", "image": "example.invalid/fake:1"}]},
            },
        },
    })


async def test_deployment_pods_become_ready_on_the_fake_node(
    control_plane: ControlPlane, namespace: str, api_client: client.ApiClient
) -> None:
    await _create_deployment(api_client, namespace, "web", replicas=2)
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)

    async def ready() -> bool:
        deployment = await apps.read_namespaced_deployment("web", namespace)
        return (deployment.status.ready_replicas or 0) == 2

    await eventually(ready, what="Deployment web to have 2 ready replicas")
    pods = (await core.list_namespaced_pod(namespace, label_selector="app=web")).items
    assert len(pods) == 2
    for pod in pods:
        assert pod.spec.node_name == control_plane.node_name
        assert pod.status.phase == "Running"
        conditions = {c.type: c.status for c in pod.status.conditions}
        assert conditions.get("Ready") == "True"


async def test_deleting_a_deployment_collects_its_replicasets_and_pods(
    namespace: str, api_client: client.ApiClient
) -> None:
    await _create_deployment(api_client, namespace, "gc", replicas=1)
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)

    async def running() -> bool:
        pods = (await core.list_namespaced_pod(namespace, label_selector="app=gc")).items
        return bool(pods) and all(p.status.phase == "Running" for p in pods)

    await eventually(running, what="the gc Pod to run")
    assert (await apps.list_namespaced_replica_set(namespace)).items

    await apps.delete_namespaced_deployment("gc", namespace)  # default: background cascade

    async def all_gone() -> bool:
        replica_sets = (await apps.list_namespaced_replica_set(namespace)).items
        pods = (await core.list_namespaced_pod(namespace)).items
        return not replica_sets and not pods

    await eventually(all_gone, what="the ReplicaSet and Pod to be garbage-collected")


async def test_deleting_a_custom_resource_collects_what_it_owns(
    namespace: str, api_client: client.ApiClient
) -> None:
    custom, core = client.CustomObjectsApi(api_client), client.CoreV1Api(api_client)
    owner = await custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, _widget("owner", 1)
    )
    await core.create_namespaced_config_map(namespace, {
        "metadata": {
            "name": "owned",
            "ownerReferences": [{
                "apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
                "name": "owner", "uid": owner["metadata"]["uid"],
            }],
        },
        "data": {"k": "v"},
    })

    await custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "owner")

    await eventually(lambda: _not_found(core.read_namespaced_config_map("owned", namespace)),
                     what="the owned ConfigMap to be garbage-collected")


async def test_deleting_a_namespace_removes_it_and_its_contents(
    api_client: client.ApiClient,
) -> None:
    core = client.CoreV1Api(api_client)
    name = f"t-{uuid.uuid4().hex[:10]}"
    await core.create_namespace({"metadata": {"name": name}})
    await core.create_namespaced_config_map(name, {"metadata": {"name": "c"}})

    await core.delete_namespace(name)

    await eventually(lambda: _not_found(core.read_namespace(name)),
                     what=f"namespace {name} to be finalized and removed")
