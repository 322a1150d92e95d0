"""Fixtures for the tests that run against a real control plane (see coviu_testbed.cluster).

Every test collected under tests/k8s gets the ``cluster`` marker, and those on the real
node also ``realnode``. Each control plane is started once per session; each test gets a
namespace of its own. A missing binary is an error, never a skip, and the session summary
says how many tests ran on the real plane.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client, config

from coviu_operator.names import CRD_NAME
from coviu_operator.rbac import cluster_role
from coviu_operator.settings import OperatorSettings
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.k8s import CRD_FILE, Cluster, new_namespace
from coviu_testbed.operator import OperatorThread
from coviu_testbed.pods import RESTRICTED, figures, import_images

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Installed before the controllers start, so garbage collection knows their kinds at once.
CRDS = sorted((ROOT / "crds").glob("*.yaml")) + sorted((HERE / "crds").glob("*.yaml"))
OPERATOR_USER = "coviu-operator-under-test"
_ours: set[str] = set()  # node ids of the tests collected under this directory
_outcomes: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.cluster)
            if "real_plane" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.realnode)
            _ours.add(item.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _ours:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _outcomes[report.outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran = _outcomes["passed"] + _outcomes["failed"]
    terminalreporter.write_sep(
        "-",
        f"real control plane: {ran} tests ran ({_outcomes['passed']} passed, "
        f"{_outcomes['failed']} failed or errored, {_outcomes['skipped']} skipped)",
    )
    for what, value in figures.items():
        shown = f"{value:.1f} s" if isinstance(value, float) else value
        terminalreporter.write_line(f"real node: {what}: {shown}")


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """The running control plane, with the project's CRDs (crds/*.yaml) and the smoke
    tests' CRDs installed; set CONTROL_PLANE_KEEP=1 to keep its logs and data.

    KUBECONFIG is deliberately not exported: tests pass ``control_plane.kubeconfig`` on, so
    that no other test in the session can reach this cluster by accident.
    """
    keep = os.environ.get("CONTROL_PLANE_KEEP", "") not in ("", "0")
    with ControlPlane(crds=CRDS, keep_workdir=keep) as plane:
        yield plane


@pytest.fixture(scope="session")
def real_plane() -> Iterator[ControlPlane]:
    """A control plane of its own with a real node (containerd, kubelet, kube-proxy,
    CoreDNS) instead of kwok; see coviu_testbed.cluster.controlplane for why it is separate.
    No CRD is installed up front: the chart installs its own, as in a user's cluster."""
    keep = os.environ.get("CONTROL_PLANE_KEEP", "") not in ("", "0")
    with ControlPlane(real_node=True, keep_workdir=keep) as plane:
        assert plane.node is not None
        figures["control plane with the real node started"] = plane.startup_seconds
        figures["of which the node (containerd, kubelet, kube-proxy, CoreDNS)"] = plane.node.startup_seconds
        yield plane


@pytest.fixture(scope="session")
def real_images(real_plane: ControlPlane) -> ControlPlane:
    """The real plane with the product and sandbox images (``make image``) in its containerd."""
    import_images(real_plane)
    return real_plane


@pytest.fixture
def real_namespace(real_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace on the real plane that enforces the "restricted" Pod Security Standard."""
    name = new_namespace(real_plane, RESTRICTED)
    yield name
    real_plane.api("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace name per test, deleted (in the background) afterwards."""
    name = new_namespace(control_plane)
    yield name
    control_plane.api("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture
async def api_client(control_plane: ControlPlane) -> AsyncIterator[client.ApiClient]:
    """A kubernetes_asyncio client logged in as the admin user of the control plane."""
    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(control_plane.kubeconfig), client_configuration=configuration
    )
    async with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture(scope="session")
def crd(control_plane: ControlPlane) -> None:
    """The CoviuMCPServer CRD, established (the plane installs crds/ before its controllers start)."""
    control_plane.kubectl("apply", "-f", str(CRD_FILE))
    control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")


@pytest.fixture(scope="session")
def operator_kubeconfig(control_plane: ControlPlane) -> str:
    """Credentials of a user bound to exactly the ClusterRole of coviu_operator.rbac, so that a
    permission the docs forget fails the tests that log in with them."""
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": OPERATOR_USER},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": OPERATOR_USER},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": OPERATOR_USER}],
    }
    control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([cluster_role(OPERATOR_USER), binding]))
    return str(control_plane.user_kubeconfig(OPERATOR_USER))


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, crd: None) -> Iterator[OperatorThread]:
    """One cluster-wide operator, in a thread of its own, for every test of a module."""
    settings = OperatorSettings(expiring_soon_window=timedelta(hours=1), sandbox_hosts=("127.0.0.1",))
    with OperatorThread(settings, kubeconfig=str(control_plane.kubeconfig)) as running:
        yield running


@pytest.fixture
async def cluster(api_client: client.ApiClient, namespace: str) -> Cluster:
    return Cluster(api_client, namespace)

