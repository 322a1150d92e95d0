"""Helpers for tests on the real node: manifests that run as the restricted Pod Security
Standard asks, waiting for Pods with a report of what went wrong, and one-shot client Pods.

A Pod that cannot start (image missing, crash, probe failing) fails the wait at once, and
the failure carries the Pod's events and container logs, not only a timeout.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from coviu_operator.names import KIND, SECRET_SERVERS_ANNOTATION
from coviu_testbed.cluster import ControlPlane

from .errors import TestbedError

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / ".cache" / "images"
PRODUCT_IMAGE = "localhost/coviu-mcp-operator:dev"
SANDBOX_IMAGE = "localhost/coviu-mcp-sandbox:dev"
ARCHIVES = (IMAGES / "coviu-mcp-operator.tar", IMAGES / "coviu-mcp-sandbox.tar")
RUN_AS = 65532
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
SANDBOX_HOST = "coviu-sandbox"


def chart_values(*served: str) -> dict[str, Any]:
    """Everything the chart needs to run on the real node, in one place: the namespaces the
    servers live in (by default the chart serves only its own), the local image, never pulled
    (there is no registry), for the operator and for the proxies it creates, and the installer's
    permission to send the sandbox's (public, default) credentials to its Service."""
    return {
        "watch": {"namespaces": list(served)},
        "image": {"repository": PRODUCT_IMAGE.rsplit(":", 1)[0], "tag": PRODUCT_IMAGE.rsplit(":", 1)[1],
                  "pullPolicy": "Never"},
        "proxy": {"imagePullPolicy": "Never"},
        "policy": {"sandboxHosts": [SANDBOX_HOST]},
        "operator": {"logFormat": "plain"},
    }
SANDBOX_SELECTOR = "app.kubernetes.io/name=coviu-sandbox"
# Waiting reasons that never resolve by themselves: fail at once instead of timing out.
HOPELESS = {"ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
            "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff", "RunContainerError"}


# Measured durations and counts, printed in the session summary (tests/k8s/conftest.py).
figures: dict[str, float | str] = {}


class PodFailed(TestbedError, AssertionError):
    """A Pod did not become Ready; the message holds its status, events and logs."""


def restricted_pod_spec(containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A Pod spec the "restricted" Pod Security Standard admits, with local images only."""
    for container in containers:
        container.setdefault("imagePullPolicy", "Never")
        container.setdefault("securityContext", {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        })
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "automountServiceAccountToken": False,
        "containers": containers,
        **extra,
    }


class MissingImageError(TestbedError, FileNotFoundError):
    """An image archive of ``make image`` is not there."""


def import_images(plane: ControlPlane) -> None:
    """Load the product and sandbox image archives of ``make image`` into the node."""
    missing = [str(archive) for archive in ARCHIVES if not archive.is_file()]
    if missing:
        raise MissingImageError(f"image archives missing: {', '.join(missing)}; build them with `make image`")
    if plane.node is None:
        raise RuntimeError("the control plane has no real node to import images into")
    for archive in ARCHIVES:
        plane.node.import_image(archive)


def sandbox_manifests(server: str) -> str:
    """The sandbox of examples/sandbox.yaml (Deployment, Service, credentials Secret) with
    the local sandbox image; its CoviuMCPServer is left out for the caller's own, `server`,
    with which the credentials Secret is shared instead."""
    docs = [d for d in yaml.safe_load_all((ROOT / "examples" / "sandbox.yaml").read_text()) if d["kind"] != KIND]
    for doc in docs:
        if doc["kind"] == "Deployment":
            doc["spec"]["template"]["spec"]["containers"][0].update(image=SANDBOX_IMAGE, imagePullPolicy="Never")
        if doc["kind"] == "Secret":
            doc["metadata"]["annotations"][SECRET_SERVERS_ANNOTATION] = server
    return yaml.safe_dump_all(docs)


def report(plane: ControlPlane, namespace: str, selector: str) -> str:
    """Status, events and container logs (current and previous) of the selected Pods."""
    pods = json.loads(plane.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout)["items"]
    parts = []
    for pod in pods:
        name = pod["metadata"]["name"]
        statuses = pod.get("status", {}).get("containerStatuses") or []
        parts.append(f"--- Pod {namespace}/{name}: phase {pod['status'].get('phase')}, "
                     f"containers {json.dumps([{s['name']: s.get('state')} for s in statuses])}")
        events = plane.kubectl("get", "events", "-n", namespace, "--field-selector",
                               f"involvedObject.name={name}", "-o",
                               "custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message", check=False)
        parts.append(events.stdout.strip() or events.stderr.strip())
        for previous in ("false", "true"):
            logs = plane.kubectl("logs", "-n", namespace, name, "--all-containers", f"--previous={previous}",
                                 "--tail=40", check=False)
            if logs.stdout.strip():
                parts.append(f"logs (previous={previous}):\n{logs.stdout.strip()}")
    return "\n".join(parts) or f"no Pods match {selector} in {namespace}"


def _pods_state(plane: ControlPlane, namespace: str, selector: str) -> tuple[int, int, set[str]]:
    """(Pods, Ready Pods, hopeless waiting reasons) of the selected Pods."""
    pods = json.loads(plane.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout)["items"]
    ready, reasons = 0, set()
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        conditions = pod.get("status", {}).get("conditions") or []
        ready += any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        for status in pod.get("status", {}).get("containerStatuses") or []:
            reason = (status.get("state", {}).get("waiting") or {}).get("reason")
            if reason in HOPELESS:
                reasons.add(reason)
    return len(pods), ready, reasons


def wait_ready(plane: ControlPlane, namespace: str, selector: str, *, count: int = 1,
               timeout: float = 120.0) -> float:
    """Wait until ``count`` selected Pods are Ready; return the seconds it took.

    Raises PodFailed with the report as soon as a container is in a state that does not
    resolve by waiting (e.g. ErrImageNeverPull, CrashLoopBackOff), or at the timeout.
    """
    began = time.monotonic()
    while True:
        total, ready, reasons = _pods_state(plane, namespace, selector)
        if ready >= count:
            return time.monotonic() - began
        if reasons or time.monotonic() - began > timeout:
            why = ", ".join(sorted(reasons)) or f"timed out after {timeout:.0f}s ({ready}/{total} Ready)"
            raise PodFailed(f"Pods {selector} in {namespace} not Ready: {why}\n"
                            + report(plane, namespace, selector))
        time.sleep(0.25)


def start_pod(plane: ControlPlane, namespace: str, name: str, container: dict[str, Any], *,
              pod_extra: dict[str, Any] | None = None) -> None:
    """Create a one-shot Pod (restartPolicy Never) labelled ``run=<name>``."""
    spec = restricted_pod_spec([{"name": "main", **container}], restartPolicy="Never")
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "labels": {"run": name}},
           "spec": {**spec, **(pod_extra or {})}}
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(pod))


def wait_succeeded(plane: ControlPlane, namespace: str, name: str, *, timeout: float = 120.0) -> str:
    """Wait for a one-shot Pod to succeed and return its log; raise PodFailed with the report
    if it fails, cannot start or runs past ``timeout``."""
    began = time.monotonic()
    while True:
        status = json.loads(plane.kubectl("get", "pod", "-n", namespace, name, "-o", "json").stdout)["status"]
        phase = status.get("phase")
        if phase == "Succeeded":
            return str(plane.kubectl("logs", "-n", namespace, name).stdout)
        _, _, reasons = _pods_state(plane, namespace, f"run={name}")
        if phase == "Failed" or reasons or time.monotonic() - began > timeout:
            raise PodFailed(f"Pod {namespace}/{name} did not succeed (phase {phase}, {sorted(reasons)})\n"
                            + report(plane, namespace, f"run={name}"))
        time.sleep(0.25)


def run_to_completion(plane: ControlPlane, namespace: str, name: str, container: dict[str, Any], *,
                      timeout: float = 120.0, pod_extra: dict[str, Any] | None = None) -> str:
    """Run a one-shot Pod; return its log, or raise PodFailed with the report if it fails."""
    start_pod(plane, namespace, name, container, pod_extra=pod_extra)
    return wait_succeeded(plane, namespace, name, timeout=timeout)


def wait_log(plane: ControlPlane, namespace: str, name: str, text: str, *, timeout: float = 60.0) -> None:
    """Wait until a Pod's log contains ``text`` (e.g. a client's first successful call)."""
    began = time.monotonic()
    while text not in plane.kubectl("logs", "-n", namespace, name, check=False).stdout:
        if time.monotonic() - began > timeout:
            raise PodFailed(f"no {text!r} in the log of {namespace}/{name} after {timeout:.0f}s\n"
                            + report(plane, namespace, f"run={name}"))
        time.sleep(0.25)
