"""End to end on real Pods: what a platform team installs, run the way a user runs it.

The chart (its real templates, with the locally built image) is installed on the plane
with a real node; the operator runs as a Pod under the chart's ServiceAccount and RBAC; the
Coviu sandbox runs as a Pod behind a Service; a CoviuMCPServer becomes a proxy Pod that
turns Ready through its real readiness probe; and the official MCP SDK client, in a Pod,
calls tools through the URL exactly as the token Secret holds it (cluster DNS, Service,
kube-proxy). The tests of this module are steps of one story and run in order.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from coviu_operator.names import KIND
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.invariants import condition
from coviu_testbed.k8s import helm, merge_patch, new_namespace, rfc3339, server
from coviu_testbed.pods import (
    PRODUCT_IMAGE,
    RESTRICTED,
    SANDBOX_HOST,
    SANDBOX_SELECTOR,
    chart_values,
    figures,
    report,
    run_to_completion,
    sandbox_manifests,
    start_pod,
    wait_log,
    wait_ready,
    wait_succeeded,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHART = ROOT / "charts" / "coviu-mcp-operator"
CLIENT = (HERE / "incluster_client.py").read_text()
RELEASE = "coviu"
OPERATOR = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=operator"
SERVER = "clinic"
PROXY = f"mcp.coviu.dev/server={SERVER}"


@dataclass
class Story:
    plane: ControlPlane
    operator_ns: str
    namespace: str
    url: str = ""
    sandbox_url: str = ""
    steps: dict[str, Any] = field(default_factory=dict)

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> Any:
        return self.plane.kubectl("-n", self.namespace, *args, check=check, input=input)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        found = self.kubectl("get", kind, name, "-o", "json", "--ignore-not-found")
        return json.loads(found.stdout) if found.stdout.strip() else None

    def client(self, name: str, *args: str, timeout: float = 120) -> str:
        return run_to_completion(self.plane, self.namespace, name, _client(*args), timeout=timeout)


def _client(*args: str) -> dict[str, Any]:
    return {"image": PRODUCT_IMAGE, "command": ["python3", "-c", CLIENT, *args]}


def selector_of(plane: ControlPlane, namespace: str, selector: str) -> list[dict[str, Any]]:
    pods = plane.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    return [p for p in json.loads(pods)["items"] if not p["metadata"].get("deletionTimestamp")]


@pytest.fixture(scope="module")
def story(real_images: ControlPlane) -> Iterator[Story]:
    """The chart installed, the operator Pod Ready, the sandbox Pod Ready behind its Service."""
    plane = real_images
    operator_ns = new_namespace(plane, RESTRICTED)
    namespace = new_namespace(plane, RESTRICTED)
    values = plane.workdir / "e2e-values.yaml"
    values.write_text(yaml.safe_dump(chart_values(namespace)))
    helm(plane, "install", RELEASE, str(CHART), "-n", operator_ns, "-f", str(values))
    figures["helm install -> operator Pod Ready"] = wait_ready(plane, operator_ns, OPERATOR)
    story = Story(plane, operator_ns, namespace)
    story.kubectl("apply", "-f", "-", input=sandbox_manifests(SERVER))
    wait_ready(plane, namespace, SANDBOX_SELECTOR)
    story.sandbox_url = f"http://coviu-sandbox.{namespace}.svc.cluster.local"
    yield story
    helm(plane, "uninstall", RELEASE, "-n", operator_ns, check=False)
    for name in (namespace, operator_ns):
        plane.api("DELETE", f"/api/v1/namespaces/{name}")


def test_the_operator_runs_as_a_pod_with_the_chart_service_account(story: Story) -> None:
    pod = selector_of(story.plane, story.operator_ns, OPERATOR)[0]
    assert pod["spec"]["serviceAccountName"] == f"{RELEASE}-coviu-mcp-operator"
    assert pod["spec"]["nodeName"] == story.plane.node_name
    assert pod["spec"]["containers"][0]["image"] == PRODUCT_IMAGE


def test_a_server_becomes_ready_through_its_real_probe(story: Story) -> None:
    expires = datetime.now(UTC) + timedelta(hours=1)
    body = server(story.namespace, SERVER, apiBaseURL=f"http://{SANDBOX_HOST}/v1", methods=["read"],
                  credentialsSecretRef={"name": "coviu-sandbox-credentials"}, expiresAt=rfc3339(expires))
    began = time.monotonic()
    story.kubectl("apply", "-f", "-", input=json.dumps(body))
    story.kubectl("wait", f"{KIND.lower()}/{SERVER}", "--for=condition=Ready", "--timeout=120s", check=False)
    ready = condition(story.get(KIND, SERVER), "Ready")
    if ready.get("status") != "True":
        pytest.fail(f"{KIND} {SERVER} not Ready: {ready}\n" + report(story.plane, story.namespace, PROXY)
                    + "\n--- operator:\n" + report(story.plane, story.operator_ns, OPERATOR))
    figures["CR applied -> Ready (real Pod, real probe)"] = time.monotonic() - began
    pods = selector_of(story.plane, story.namespace, PROXY)
    assert len(pods) == 1 and pods[0]["spec"]["nodeName"] == story.plane.node_name
    secret = story.get("Secret", f"{SERVER}-mcp-token")
    assert secret is not None
    story.url = base64.b64decode(secret["data"]["url"]).decode()
    assert story.url.startswith(f"http://{SERVER}-mcp.{story.namespace}.svc.cluster.local/mcp/")


def test_a_client_in_a_pod_calls_tools_through_the_secret_url(story: Story) -> None:
    out = json.loads(story.client("mcp-check", "check", story.url, story.sandbox_url).splitlines()[-1])
    status = story.get(KIND, SERVER)["status"]
    assert out["tools"] == sorted(status["tools"])
    assert out["team_id"] == out["seed_team_id"]
    code, content_range, length = out["range"]
    assert code == 206 and length == 100 and content_range == f"bytes 0-99/{out['size']}"


def test_a_credentials_change_rolls_the_proxy_without_a_failed_call(story: Story) -> None:
    before = {p["metadata"]["name"] for p in selector_of(story.plane, story.namespace, PROXY)}
    client, seconds = "mcp-loop", 60
    start_pod(story.plane, story.namespace, client, _client("loop", story.url, str(seconds)))
    wait_log(story.plane, story.namespace, client, "first call ok")
    # A refresh token added to the credentials: a new credentials digest, so the proxy rolls;
    # the sandbox refuses this one and the new proxy falls back to its client credentials.
    merge_patch(story.plane, story.namespace, "secret/coviu-sandbox-credentials",
                {"stringData": {"refresh_token": f"rotated-{time.time_ns()}"}})
    rolled = _wait_rolled(story, before, timeout=seconds - 10)
    figures["credentials change -> new proxy Pod serving, old one gone"] = rolled
    out = json.loads(wait_succeeded(story.plane, story.namespace, client, timeout=seconds + 60).splitlines()[-1])
    assert out["failed"] == 0, out
    assert out["ok"] > 20, out
    figures["calls during the roll (ok/failed)"] = f"{out['ok']}/{out['failed']}"


def test_a_sigkilled_operator_is_restarted_and_duplicates_nothing(story: Story) -> None:
    pod = selector_of(story.plane, story.operator_ns, OPERATOR)[0]
    container_id = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    restarts = pod["status"]["containerStatuses"][0]["restartCount"]
    token_before = story.get("Secret", f"{SERVER}-mcp-token")["data"]["token"]
    children_before = _children(story)
    assert story.plane.node is not None
    story.plane.node.ctr("tasks", "kill", "--signal", "SIGKILL", container_id)
    deadline = time.monotonic() + 120
    while True:
        status = selector_of(story.plane, story.operator_ns, OPERATOR)[0]["status"]["containerStatuses"][0]
        if status["restartCount"] > restarts and status.get("ready"):
            break
        assert time.monotonic() < deadline, report(story.plane, story.operator_ns, OPERATOR)
        time.sleep(0.5)
    assert status["lastState"]["terminated"]["exitCode"] == 137  # killed, not exited
    story.kubectl("wait", f"{KIND.lower()}/{SERVER}", "--for=condition=Ready", "--timeout=60s")
    time.sleep(5)  # give a duplicating operator the time to do it
    assert _children(story) == children_before
    assert story.get("Secret", f"{SERVER}-mcp-token")["data"]["token"] == token_before
    assert len(selector_of(story.plane, story.namespace, PROXY)) == 1


def test_expiry_removes_the_pod_service_and_token_and_the_url_stops_answering(story: Story) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=5)
    merge_patch(story.plane, story.namespace, f"{KIND.lower()}/{SERVER}", {"spec": {"expiresAt": rfc3339(expires)}})
    deadline = time.monotonic() + 120
    while selector_of(story.plane, story.namespace, PROXY) or story.get("Service", f"{SERVER}-mcp") \
            or story.get("Secret", f"{SERVER}-mcp-token"):
        assert time.monotonic() < deadline, report(story.plane, story.namespace, PROXY)
        time.sleep(0.2)
    gone = (datetime.now(UTC) - expires).total_seconds()
    figures["expiresAt -> Pod, Service and token Secret gone"] = gone
    with pytest.raises(AssertionError, match="did not succeed"):
        story.client("mcp-after-expiry", "check", story.url, story.sandbox_url, timeout=60)


def _wait_rolled(story: Story, before: set[str], timeout: float) -> float:
    """Seconds until a new proxy Pod is Ready and none of ``before`` is left."""
    began = time.monotonic()
    while True:
        pods = selector_of(story.plane, story.namespace, PROXY)
        names = {p["metadata"]["name"] for p in pods}
        if names and not names & before and all(condition(p, "Ready").get("status") == "True" for p in pods):
            return time.monotonic() - began
        assert time.monotonic() - began < timeout, report(story.plane, story.namespace, PROXY)
        time.sleep(0.2)


def _children(story: Story) -> dict[str, str]:
    """Names and UIDs of everything in the server's namespace that the operator creates."""
    kinds = "deployments,replicasets,services,secrets,serviceaccounts,configmaps"
    items = json.loads(story.kubectl("get", kinds, "-o", "json").stdout)["items"]
    return {f"{i['kind']}/{i['metadata']['name']}": i["metadata"]["uid"] for i in items}
