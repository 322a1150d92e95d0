"""The real node of the test control plane: Pods run in containerd, get addresses on the
bridge, reach each other through Services by their cluster DNS names, reach the API
server through the `kubernetes` Service, and a Pod that cannot start is reported with its
events and logs."""

from __future__ import annotations

import ipaddress
import json
import textwrap

import pytest

from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.images import PAUSE_IMAGE
from coviu_testbed.cluster.network import POD_CIDR
from coviu_testbed.pods import (
    PRODUCT_IMAGE,
    SANDBOX_IMAGE,
    PodFailed,
    restricted_pod_spec,
    run_to_completion,
    wait_ready,
)


def deployment(name: str, containers: list[dict], replicas: int = 1) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": restricted_pod_spec(containers)}},
    }


def test_the_node_is_registered_and_runs_a_pod(real_plane: ControlPlane, real_namespace: str) -> None:
    node = json.loads(real_plane.kubectl("get", "node", real_plane.node_name, "-o", "json").stdout)
    assert node["metadata"]["labels"]["type"] == "real"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    real_plane.kubectl("apply", "-n", real_namespace, "-f", "-", input=json.dumps(
        deployment("pause", [{"name": "pause", "image": PAUSE_IMAGE}])))
    seconds = wait_ready(real_plane, real_namespace, "app=pause")
    pod = json.loads(real_plane.kubectl("get", "pods", "-n", real_namespace, "-l", "app=pause",
                                        "-o", "json").stdout)["items"][0]
    assert pod["spec"]["nodeName"] == real_plane.node_name
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(POD_CIDR)
    print(f"pause Pod Ready in {seconds:.1f}s")


def test_a_pod_that_cannot_start_is_reported_with_its_events(
    real_plane: ControlPlane, real_namespace: str,
) -> None:
    real_plane.kubectl("apply", "-n", real_namespace, "-f", "-", input=json.dumps(
        deployment("missing", [{"name": "main", "image": "localhost/not-imported:0"}])))
    with pytest.raises(PodFailed) as failed:
        wait_ready(real_plane, real_namespace, "app=missing", timeout=60)
    assert "ErrImageNeverPull" in str(failed.value)
    assert "localhost/not-imported:0" in str(failed.value)  # from the Pod's events


# Runs in a Pod: a Service by its cluster DNS name, and the API server by the `kubernetes`
# Service with the Pod's own CA bundle (its TLS certificate names that address). kube-proxy
# rejects connections to a Service until it has programmed the new Pod's endpoint, which can
# be a second or two after the Pod is Ready, so a refused connection is retried for 20 s.
CLIENT = textwrap.dedent("""
    import socket, ssl, sys, time, urllib.error, urllib.request
    host = sys.argv[1]
    print("resolved", socket.gethostbyname(host))
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}:8080/_sandbox/seed", timeout=10) as r:
                print("service", r.status)
            break
        except urllib.error.URLError as exc:
            if not isinstance(exc.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
            print("service refused, retrying")
            time.sleep(0.5)
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    with urllib.request.urlopen("https://kubernetes.default.svc/version", context=ctx, timeout=10) as r:
        print("apiserver", r.status)
    try:
        socket.getaddrinfo("example.com", 443)
        print("outside resolved")
    except OSError:
        print("outside refused")
""")


def test_pods_reach_services_by_dns_name_and_nothing_outside(
    real_images: ControlPlane, real_namespace: str,
) -> None:
    plane = real_images
    plane.kubectl("apply", "-n", real_namespace, "-f", "-", input=json.dumps(deployment("sandbox", [{
        "name": "sandbox", "image": SANDBOX_IMAGE,
        "command": ["coviu-sandbox", "--host=0.0.0.0", "--port=8080"],
        "readinessProbe": {"httpGet": {"path": "/_sandbox/seed", "port": 8080}, "periodSeconds": 1},
    }])))
    plane.kubectl("expose", "-n", real_namespace, "deployment/sandbox", "--port=8080")
    wait_ready(plane, real_namespace, "app=sandbox")
    host = f"sandbox.{real_namespace}.svc.cluster.local"
    log = run_to_completion(plane, real_namespace, "client", {
        "image": PRODUCT_IMAGE, "command": ["python3", "-c", CLIENT, host,
                                            "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"],
    }, pod_extra={"automountServiceAccountToken": True})
    assert "service 200" in log, log
    assert "apiserver 200" in log, log  # reached, and its certificate names the Service
    assert "outside refused" in log, log
