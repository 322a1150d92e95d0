"""`make demo`: the operator story on a real node, as a platform team and a user live it.

Starts the embedded control plane with a real node (containerd, kubelet, kube-proxy,
CoreDNS), loads the images of `make image` into it, installs the Helm chart, runs the Coviu
sandbox as a Pod, applies a CoviuMCPServer, shows `kubectl get cmcp` with it Ready, runs the
triage and compliance workflows (coviu_testbed.demo, which the sandbox image carries) in a Pod
through the URL from the token Secret, then moves expiresAt a few seconds ahead and shows
everything removed.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from coviu_testbed.cluster import ControlPlane, MissingBinaryError, ProcessExited
from coviu_testbed.cluster.network import NodeSetupError
from coviu_testbed.k8s import helm, new_namespace, rfc3339
from coviu_testbed.pods import (
    RESTRICTED,
    SANDBOX_HOST,
    SANDBOX_IMAGE,
    SANDBOX_SELECTOR,
    MissingImageError,
    PodFailed,
    chart_values,
    import_images,
    sandbox_manifests,
    start_pod,
    wait_ready,
    wait_succeeded,
)

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "coviu-mcp-operator"
SERVER = "clinic-demo"
OPERATOR = "app.kubernetes.io/instance=coviu,app.kubernetes.io/component=operator"


def step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.monotonic()


def done(began: float) -> None:
    print(f"   ({time.monotonic() - began:.1f} s)", flush=True)


def show(plane: ControlPlane, *args: str) -> None:
    print(plane.kubectl(*args).stdout.rstrip(), flush=True)


def story(plane: ControlPlane) -> None:
    began = step("Loading the product and sandbox images into the node's containerd (10 to 40 s)")
    import_images(plane)
    done(began)

    began = step("helm install coviu charts/coviu-mcp-operator (the operator runs as a Pod)")
    operators, clinic = new_namespace(plane, RESTRICTED), new_namespace(plane, RESTRICTED)
    values = plane.workdir / "demo-values.yaml"
    values.write_text(yaml.safe_dump(chart_values(clinic)))
    helm(plane, "install", "coviu", str(CHART), "-n", operators, "-f", str(values))
    wait_ready(plane, operators, OPERATOR)
    show(plane, "get", "pods", "-n", operators, "-o", "wide")
    done(began)

    began = step(f"The Coviu sandbox as a Pod behind a Service, in namespace {clinic}")
    plane.kubectl("apply", "-n", clinic, "-f", "-", input=sandbox_manifests(SERVER))
    wait_ready(plane, clinic, SANDBOX_SELECTOR)
    done(began)

    began = step(f"kubectl apply: CoviuMCPServer {SERVER} (expires in one hour)")
    expires = datetime.now(UTC) + timedelta(hours=1)
    server = {"apiVersion": "mcp.coviu.dev/v1alpha1", "kind": "CoviuMCPServer", "metadata": {"name": SERVER},
              "spec": {"credentialsSecretRef": {"name": "coviu-sandbox-credentials"},
                       "apiBaseURL": f"http://{SANDBOX_HOST}/v1", "expiresAt": rfc3339(expires)}}
    plane.kubectl("apply", "-n", clinic, "-f", "-", input=json.dumps(server))
    plane.kubectl("wait", "-n", clinic, f"cmcp/{SERVER}", "--for=condition=Ready", "--timeout=180s", timeout=200)
    done(began)
    show(plane, "get", "cmcp", "-n", clinic)
    status = json.loads(plane.kubectl("get", "cmcp", "-n", clinic, SERVER, "-o", "json").stdout)["status"]
    print(f"   tools: {', '.join(status['tools'][:6])}, ... ({len(status['tools'])} in all)")
    secret = json.loads(plane.kubectl("get", "secret", "-n", clinic, status["tokenSecretName"], "-o", "json").stdout)
    url = base64.b64decode(secret["data"]["url"]).decode()
    print(f"   URL from Secret {status['tokenSecretName']}: {url.rsplit('/', 1)[0]}/<token>")

    step("The workflows, from a Pod of the cluster, through that URL (cluster DNS, Service, kube-proxy)")
    sandbox_url = f"http://coviu-sandbox.{clinic}.svc.cluster.local"
    start_pod(plane, clinic, "workflows", {
        "image": SANDBOX_IMAGE, "command": ["python3", "-m", "coviu_testbed.demo", "--server-url", url,
                                            "--sandbox-url", sandbox_url]})
    print(wait_succeeded(plane, clinic, "workflows", timeout=180).rstrip(), flush=True)

    began = step("kubectl patch: expiresAt in 5 seconds; the operator removes the server's Pod, Service and token")
    expires = datetime.now(UTC) + timedelta(seconds=5)
    plane.kubectl("patch", "-n", clinic, f"cmcp/{SERVER}", "--type=merge",
                  "-p", json.dumps({"spec": {"expiresAt": rfc3339(expires)}}))
    selector = f"mcp.coviu.dev/server={SERVER}"
    # Deleted: nothing left but Pods already terminating; gone: those too, after their preStop drain.
    for what, remains in (("deleted", lambda item: "deletionTimestamp" not in item["metadata"]),
                         ("gone, the Pod drained", lambda item: True)):
        while any(remains(item) for item in json.loads(plane.kubectl(
                "get", "pods,services,secrets", "-n", clinic, "-l", selector, "-o", "json").stdout)["items"]):
            time.sleep(0.2)
        print(f"   {what} {(datetime.now(UTC) - expires).total_seconds():.1f} s after expiresAt")
    show(plane, "get", "cmcp", "-n", clinic)
    show(plane, "get", "pods,services,secrets", "-n", clinic)
    done(began)


def main() -> int:
    began = step("Starting etcd, kube-apiserver, controller-manager, scheduler and a real node "
                 "(containerd, kubelet, kube-proxy, CoreDNS): about 20 s")
    plane = ControlPlane(real_node=True)
    try:
        plane.start()
        done(began)
        show(plane, "get", "nodes", "-o", "wide")
        story(plane)
    except (MissingBinaryError, MissingImageError, NodeSetupError, ProcessExited, TimeoutError, PodFailed,
            subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        plane.stop()
    print("\nDone: the operator story ran on real Pods; everything has been stopped and removed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
