"""`kubectl cmcp`, found by real kubectl plugin discovery on PATH, against the real control
plane and a real operator."""

from __future__ import annotations

import base64
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from coviu_catalog import load_catalog, select, tool_name
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.binaries import binary
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import EXAMPLE, Cluster, apply, changed, creds, rfc3339, server
from coviu_testbed.launch import console_script
from coviu_testbed.operator import OperatorThread

PLUGIN = Path(console_script("kubectl-cmcp"))


def kubectl(plane: ControlPlane, tmp_path: Path, *args: str, stdin: str | None = None,
            ok: bool = True) -> subprocess.CompletedProcess[str]:
    """kubectl as a user runs it: KUBECONFIG set, the plugin and kubectl on PATH, nothing else."""
    env = {"PATH": f"{PLUGIN.parent}:{binary('kubectl').parent}:/usr/bin:/bin",
           "KUBECONFIG": str(plane.kubeconfig), "HOME": str(tmp_path)}
    result = subprocess.run([str(binary("kubectl")), *args], input=stdin, capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert (result.returncode == 0) == ok, f"kubectl {' '.join(args)}: {result.returncode}\n{result.stderr}"
    return result


def test_kubectl_discovers_the_plugin(control_plane: ControlPlane, tmp_path: Path) -> None:
    listed = kubectl(control_plane, tmp_path, "plugin", "list")
    assert str(PLUGIN) in listed.stdout and "warning" not in listed.stderr.lower(), listed.stderr
    assert "tools -f" in kubectl(control_plane, tmp_path, "cmcp", "--help").stdout


def test_tools_shows_what_a_manifest_would_get_before_it_is_applied(
    control_plane: ControlPlane, tmp_path: Path,
) -> None:
    out = kubectl(control_plane, tmp_path, "cmcp", "tools", "-f", str(EXAMPLE)).stdout
    expected = [tool_name(r) for r in select(load_catalog().records, ["read"], ["triage"])]
    assert out.splitlines()[0] == f"triage-readonly: {len(expected)} tools"
    assert [line.split()[0] for line in out.splitlines()[2:]] == expected

    bad = yaml.safe_dump(server("any", "typo", methods=["raed"]))
    refused = kubectl(control_plane, tmp_path, "cmcp", "tools", "-f", "-", stdin=bad, ok=False)
    assert refused.stdout.startswith("typo: methods: unknown value(s) ['raed']; known values are [")
    missing = kubectl(control_plane, tmp_path, "cmcp", "tools", "-f", str(tmp_path / "nope.yaml"), ok=False)
    assert "cannot read" in missing.stderr and "nope.yaml" in missing.stderr


async def test_url_list_and_extend_on_a_running_server(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread, tmp_path: Path,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    expires = now + timedelta(hours=2)
    apply(control_plane, namespace, creds(namespace),
          server(namespace, "shift", methods=["read"], tags=["triage"], expiresAt=rfc3339(expires)),
          server(namespace, "gone", methods=["read"], expiresAt=rfc3339(now - timedelta(days=2))))
    await eventually(lambda: cluster.ready("shift"), what="shift to be Ready")

    secret = await cluster.must("Secret", "shift-mcp-token")
    url = kubectl(control_plane, tmp_path, "cmcp", "url", "shift", "-n", namespace).stdout.strip()
    assert url == base64.b64decode(secret["data"]["url"]).decode() and url.endswith(await cluster.token("shift"))

    rows = {line.split()[0]: line.split() for line in
            kubectl(control_plane, tmp_path, "cmcp", "list", "-n", namespace).stdout.splitlines()}
    assert rows["NAME"] == ["NAME", "READY", "TOOLS", "EXPIRES", "REMAINING"]
    assert rows["shift"][:4] == ["shift", "True", "4", rfc3339(expires)]
    assert re.fullmatch(r"1h5\dm|2h0m", rows["shift"][4]), rows["shift"]
    assert rows["gone"][-3:] == ["expired", "2d0h", "ago"]
    assert rows["gone"][1] == "Expired"

    out = kubectl(control_plane, tmp_path, "cmcp", "extend", "shift", "8h", "-n", namespace).stdout
    extended = expires + timedelta(hours=8)
    assert out.startswith(f"shift now expires at {rfc3339(extended)} (in ")
    assert (await cluster.must("CoviuMCPServer", "shift"))["spec"]["expiresAt"] == rfc3339(extended)
    # An expired server is extended from now, which restores it.
    kubectl(control_plane, tmp_path, "cmcp", "extend", "gone", "1h30m", "-n", namespace)
    restored = datetime.fromisoformat((await cluster.must("CoviuMCPServer", "gone"))["spec"]["expiresAt"])
    assert timedelta(hours=1, minutes=29) < restored - now < timedelta(hours=1, minutes=32)

    everywhere = kubectl(control_plane, tmp_path, "cmcp", "list", "-A").stdout
    assert re.search(rf"^{namespace}\s+shift\s+True\s+4\s+{rfc3339(extended)}\s+9h5\dm$", everywhere, re.MULTILINE)

    old_token = await cluster.token("shift")
    out = kubectl(control_plane, tmp_path, "cmcp", "rotate", "shift", "--overlap", "10m", "-n", namespace).stdout
    assert out.startswith("shift: new URL token requested; the old URL works for 10m more")
    rotated = await cluster.must("CoviuMCPServer", "shift")
    assert rotated["spec"]["rotationOverlapSeconds"] == 600
    assert "mcp.coviu.dev/rotate-token" in rotated["metadata"]["annotations"]
    await eventually(lambda: changed(cluster.token("shift"), old_token), what="shift's new token")


@pytest.mark.parametrize(("args", "message"), [
    (["extend", "shift", "8x"], "invalid duration '8x'"),
    (["url", "no-such-server"], 'coviumcpservers.mcp.coviu.dev "no-such-server" not found'),
])
def test_errors_name_the_problem(
    control_plane: ControlPlane, namespace: str, tmp_path: Path, args: list[str], message: str,
) -> None:
    result = kubectl(control_plane, tmp_path, "cmcp", *args, "-n", namespace, ok=False)
    assert result.stderr.startswith("kubectl cmcp: error: ") and message in result.stderr, result.stderr
