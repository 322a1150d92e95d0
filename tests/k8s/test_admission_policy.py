"""The chart's ValidatingAdmissionPolicy on the real API server: `kubectl apply` refuses what
the operator would only report in status, with the same message; namespaces the policy is
not bound to keep the status-condition path.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from coviu_catalog import CatalogError, load_catalog, select
from coviu_operator.admission import MINIMUM_LIFETIME
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.binaries import binary
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import ROOT, Cluster, apply, creds, merge_patch, rfc3339, server
from coviu_testbed.operator import OperatorThread

CHART = ROOT / "charts" / "coviu-mcp-operator"
RELEASE = "vap"


def catalog_message(methods: list[str] | None = None, tags: list[str] | None = None) -> str:
    """The message the operator puts in ToolsResolved for these filters."""
    with pytest.raises(CatalogError) as raised:
        select(load_catalog().records, methods, tags)
    return str(raised.value)


def try_apply(
    plane: ControlPlane, namespace: str, body: dict[str, Any], *extra: str
) -> subprocess.CompletedProcess[str]:
    return plane.kubectl("apply", "-n", namespace, *extra, "-f", "-", input=yaml.safe_dump(body), check=False)


@pytest.fixture
def bound(control_plane: ControlPlane, namespace: str) -> Iterator[str]:
    """The policy and binding exactly as the chart renders them for one served namespace,
    applied with kubectl; yields the namespace once the API server enforces them."""
    rendered = subprocess.run(
        [str(binary("helm")), "template", RELEASE, str(CHART), "--show-only", "templates/admission-policy.yaml",
         "--set", "watch.scope=namespaced", "--set", f"watch.namespaces={{{namespace}}}"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    control_plane.kubectl("apply", "-f", "-", input=rendered)
    probe = server(namespace, "probe", methods=["no_such_method"])
    deadline = time.monotonic() + 30  # the API server picks policies up from an informer
    while try_apply(control_plane, namespace, probe, "--dry-run=server").returncode == 0:
        assert time.monotonic() < deadline, "the admission policy was not enforced within 30 s"
        time.sleep(0.25)
    try:
        yield namespace
    finally:
        control_plane.kubectl("delete", "-f", "-", input=rendered)


@pytest.mark.parametrize(("methods", "tags"), [
    (["read", "zeta_tool", "alpha_tool"], None),            # unknown methods, listed sorted
    (["lst"], ["triage", "no-such-tag"]),                   # both at once, as the operator reports them
    (["read"], ["zzz", "triage", "aaa"]),                   # unknown tags
    (["write", "custom"], ["recordings"]),                  # known values that select no tool
    (["get_single_coviu_team"], ["compliance"]),
], ids=["unknown-methods", "methods-and-tags", "unknown-tags", "empty-selection", "empty-by-tool-name"])
def test_apply_refuses_bad_filters_with_the_status_message(
    control_plane: ControlPlane, bound: str, methods: list[str], tags: list[str] | None,
) -> None:
    spec: dict[str, Any] = {"methods": methods, **({"tags": tags} if tags else {})}
    result = try_apply(control_plane, bound, server(bound, "bad", **spec))
    assert result.returncode != 0
    assert catalog_message(methods, tags) in result.stderr, result.stderr
    assert "ValidatingAdmissionPolicy" in result.stderr


def test_an_expiry_too_close_to_creation_is_refused(control_plane: ControlPlane, bound: str) -> None:
    now = datetime.now(UTC)
    soon = server(bound, "soon", expiresAt=rfc3339(now + MINIMUM_LIFETIME - timedelta(minutes=1)))
    result = try_apply(control_plane, bound, soon)
    assert result.returncode != 0 and "is less than 10 minutes after the server is created" in result.stderr
    past = try_apply(control_plane, bound, server(bound, "past", expiresAt="2026-01-01T08:00:00Z"))
    assert past.returncode != 0 and "expiresAt 2026-01-01T08:00:00Z" in past.stderr, past.stderr


def test_good_servers_pass_and_can_be_ended_early(control_plane: ControlPlane, bound: str) -> None:
    later = rfc3339(datetime.now(UTC) + MINIMUM_LIFETIME + timedelta(minutes=1))
    apply(control_plane, bound, server(bound, "good", methods=["read"], tags=["triage"], expiresAt=later))
    apply(control_plane, bound, server(bound, "all-tools"))
    # Moving expiresAt to the past is how access ends early while the record stays.
    merge_patch(control_plane, bound, "cmcp/good", {"spec": {"expiresAt": "2026-01-01T00:00:00Z"}})
    merge_patch(control_plane, bound, "cmcp/good", {"metadata": {"annotations": {"team": "platform"}}})
    refused = try_apply(control_plane, bound, server(bound, "good", methods=["read", "bogus"]))
    assert refused.returncode != 0 and catalog_message(["read", "bogus"]) in refused.stderr


async def test_without_the_policy_the_same_message_is_in_status(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    """A namespace the policy is not bound to (or a cluster without it) admits the server,
    and the operator reports the same message in the ToolsResolved condition."""
    methods, tags = ["write", "custom"], ["recordings"]
    apply(control_plane, namespace, creds(namespace), server(namespace, "unbound", methods=methods, tags=tags))

    async def resolved() -> dict[str, Any]:
        found = await cluster.condition("unbound", "ToolsResolved")
        return found if found.get("status") == "False" else {}

    condition = await eventually(resolved, what="ToolsResolved=False")
    assert condition["message"] == catalog_message(methods, tags)
