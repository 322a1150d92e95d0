"""A disposable Kubernetes control plane made of real processes on loopback.

etcd and kube-apiserver are started the way controller-runtime's envtest starts them; on
top of that kube-controller-manager (Deployments get ReplicaSets and Pods, owner references
are garbage-collected, namespaces can be deleted), kube-scheduler (Pods get a node) and
kwok (the fake Node stays Ready and its Pods become Running and Ready with no container
runtime). Everything binds to 127.0.0.1 on ports picked at start, all state lives in one
temporary directory, and every process is stopped by process group on exit.

``ControlPlane(real_node=True)`` runs a real Node instead of kwok's (node.py: containerd,
the CNI bridge, a kubelet; services.py: kube-proxy and CoreDNS). Real-pod tests get a
control plane of their own rather than a labelled, tainted node beside kwok's: Pods must
reach the API server (bound to the bridge address, endpoints for the `kubernetes` Service,
ServiceAccount tokens, the kube-root-ca.crt ConfigMap), which changes the cluster every
kwok test sees; and with one node, no manifest under test needs a nodeSelector or
toleration that a user's cluster would not.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import yaml

from coviu_testbed.launch import free_ports

from . import network, services
from .binaries import binary, kwok_stages
from .certs import CertificateAuthority, KeyPair, write_service_account_keys
from .kubeconfig import write_kubeconfig
from .node import RealNode, clean_stale
from .process import Process, ProcessExited, http_ok, wait_until

HOST = "127.0.0.1"
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"
NODE_IP = "10.0.1.1"  # reported by the fake Node; outside both ranges above
# The controllers the tests rely on; the rest of kube-controller-manager stays off.
CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "horizontal-pod-autoscaler-controller",  # scales to minReplicas even without a metrics API
)
# What Pods of a real node need besides: Service endpoints for kube-proxy, the `default`
# ServiceAccount of each namespace, and the CA bundle their token volumes mount.
REAL_NODE_CONTROLLERS = (
    "endpointslice-controller",
    "serviceaccount-controller",
    "root-ca-certificate-publisher-controller",
)
KUBERNETES_SERVICE_IP = "10.0.0.1"  # first address of SERVICE_CIDR
KUBERNETES_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local")
WORKDIR_PREFIX = "coviu-k8s-"
OWNER_FILE = "owner.pid"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
START_TIMEOUT = 120.0  # generous: two cores may be busy with other test processes
PORT_ATTEMPTS = 3


class ApiError(RuntimeError):
    """The API server refused a request made with ControlPlane.api()."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {body}")
        self.status = status


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call; the message carries kubectl's own error output."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{(self.stderr or '').strip()}"


class ControlPlane:
    """Start with ``with ControlPlane() as cp:`` (or start()/stop()).

    Attributes available after start: ``kubeconfig`` (admin, group system:masters),
    ``server`` (the API server URL), ``workdir`` (certificates, logs, etcd data),
    ``node_name`` (kwok's fake Node, or the real one), ``node`` (the RealNode, with
    ``real_node=True``) and ``startup_seconds``.

    ``crds`` are YAML files whose CustomResourceDefinitions are installed (and awaited
    until Established) before kube-controller-manager starts: its garbage collector only
    rediscovers resource types every 30 seconds, so owners of a CRD type installed later
    are honoured with that much delay.
    """

    def __init__(
        self,
        *,
        crds: Sequence[Path] = (),
        node_name: str | None = None,
        real_node: bool = False,
        keep_workdir: bool = False,
    ) -> None:
        self.crds = list(crds)
        self.real_node = real_node
        self.node_name = node_name or ("real-node-0" if real_node else "kwok-node-0")
        self.node: RealNode | None = None
        self._lock: Any = None
        self.keep_workdir = keep_workdir
        self.workdir = Path()
        self.kubeconfig = Path()
        self.server = ""
        self.startup_seconds = 0.0
        self.processes: dict[str, Process] = {}
        self._ca: CertificateAuthority | None = None
        self._ssl: ssl.SSLContext | None = None

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        """Start every component and return once the fake Node is Ready."""
        # Resolve every binary first so a missing one fails before anything starts.
        names = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
        names += ["kubelet", "kube-proxy", "coredns", "pause"] if self.real_node else ["kwok"]
        paths = {name: binary(name) for name in names}
        stages = Path() if self.real_node else kwok_stages()
        began = time.monotonic()
        if self.real_node:
            network.require_host()
            self._lock = network.acquire_lock()
            clean_stale(WORKDIR_PREFIX)  # before the workdirs of killed runs go
        _remove_orphaned_workdirs()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
            (self.workdir / OWNER_FILE).write_text(str(os.getpid()))
            _register(self)
            try:
                self._start(paths, stages)
                break
            except ProcessExited as exc:
                self.stop()
                # A port picked by free_ports() can be taken by someone else before the
                # component binds it; start again on fresh ports rather than fail the run.
                # (Not with a real node: stop() gave up its machine-wide lock.)
                if self.real_node or "address already in use" not in str(exc) or attempt == PORT_ATTEMPTS:
                    raise
            except BaseException:
                self.stop()
                raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _start(self, paths: dict[str, Path], stages: Path) -> None:
        work = self.workdir
        pki = work / "pki"
        pki.mkdir()
        ca = self._ca = CertificateAuthority(pki)
        admin = ca.issue_client("admin", ("system:masters",))
        service_accounts = write_service_account_keys(pki)
        etcd_client, etcd_peer, api, kcm, sched, *node_ports = free_ports(11)
        if self.real_node:
            network.set_up()  # the API server binds to the bridge's address
            api_host = network.GATEWAY
            serving = ca.issue_serving(ips=(network.GATEWAY, KUBERNETES_SERVICE_IP), names=KUBERNETES_NAMES)
            kubelet_client = ca.issue_client("kube-apiserver-kubelet-client")
            node_flags = [
                f"--kubelet-client-certificate={kubelet_client.cert}",
                f"--kubelet-client-key={kubelet_client.key}",
                f"--kubelet-certificate-authority={ca.cert_path}",
                "--kubelet-preferred-address-types=InternalIP",
                # Endpoints of the `kubernetes` Service: the advertise address.
                "--endpoint-reconciler-type=lease",
                # TaintNodesByCondition: it taints new Nodes not-ready, and only the
                # node-lifecycle controller (not run here) would lift the taint.
                "--disable-admission-plugins=TaintNodesByCondition",
            ]
        else:
            api_host = HOST
            serving = ca.issue_serving()
            node_flags = [
                # ServiceAccount: no controller creates the `default` ServiceAccount, so
                # Pods would be refused. TaintNodesByCondition: as above.
                "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
                # Test-friendly settings, as kwokctl uses: no endpoint churn.
                "--endpoint-reconciler-type=none",
            ]
        self.server = f"https://{api_host}:{api}"
        self._ssl = ssl.create_default_context(cafile=str(ca.cert_path))
        self._ssl.load_cert_chain(str(admin.cert), str(admin.key))

        etcd_url = f"http://{HOST}:{etcd_client}"
        etcd = self._spawn("etcd", [
            str(paths["etcd"]),
            "--name=test",
            f"--data-dir={work / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls=http://{HOST}:{etcd_peer}",
            f"--initial-advertise-peer-urls=http://{HOST}:{etcd_peer}",
            f"--initial-cluster=test=http://{HOST}:{etcd_peer}",
            "--unsafe-no-fsync=true",  # throw-away data: durability only costs time
            "--log-level=warn",
        ])
        wait_until(lambda: http_ok(f"{etcd_url}/health"), what="etcd /health",
                   timeout=START_TIMEOUT, watch=[etcd])

        apiserver = self._spawn("kube-apiserver", [
            str(paths["kube-apiserver"]),
            f"--etcd-servers={etcd_url}",
            f"--bind-address={api_host}",
            f"--advertise-address={api_host}",
            f"--secure-port={api}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={ca.cert_path}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={service_accounts.cert}",
            f"--service-account-signing-key-file={service_accounts.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            *node_flags,
            # Test-friendly settings, as kwokctl uses: no throttling.
            "--enable-priority-and-fairness=false",
            "--max-requests-inflight=0",
            "--max-mutating-requests-inflight=0",
            "--profiling=false",
        ])
        wait_until(lambda: http_ok(f"{self.server}/readyz", self._ssl),
                   what="kube-apiserver /readyz", timeout=START_TIMEOUT, watch=[etcd, apiserver])

        self.kubeconfig = write_kubeconfig(
            work / "kubeconfig", server=self.server, ca=ca.cert_path,
            cert=admin.cert, key=admin.key,
        )
        if self.real_node:
            self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(services.rbac()))
        else:
            self._create_node()
        self.install_crds(self.crds)

        common = [
            f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            f"--bind-address={HOST}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            "--kube-api-qps=100",
            "--kube-api-burst=200",
        ]
        controllers = CONTROLLERS + (REAL_NODE_CONTROLLERS if self.real_node else ())
        self._spawn("kube-controller-manager", [
            str(paths["kube-controller-manager"]), *common,
            f"--secure-port={kcm}",
            f"--controllers={','.join(controllers)}",
            f"--root-ca-file={ca.cert_path}",
        ])
        self._spawn("kube-scheduler", [
            str(paths["kube-scheduler"]), *common, f"--secure-port={sched}",
        ])
        if self.real_node:
            self._wait_healthy(kcm, sched)
            self.node = RealNode(self, self.node_name)
            self.node.start(node_ports)
            return
        self._spawn("kwok", [
            str(paths["kwok"]),
            f"--kubeconfig={self.kubeconfig}",
            f"--config={stages}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={POD_CIDR}",
            f"--node-ip={NODE_IP}",
            "--node-lease-duration-seconds=40",
        ])
        self._wait_healthy(kcm, sched)
        wait_until(self._node_ready, what=f"kwok to report Node {self.node_name} Ready",
                   timeout=START_TIMEOUT, watch=list(self.processes.values()))

    def _wait_healthy(self, kcm: int, sched: int) -> None:
        for name, port in (("kube-controller-manager", kcm), ("kube-scheduler", sched)):
            url = f"https://{HOST}:{port}/healthz"
            wait_until(partial(http_ok, url, self._ssl), what=f"{name} /healthz",
                       timeout=START_TIMEOUT, watch=list(self.processes.values()))

    def stop(self) -> None:
        """Stop the node, then the components in reverse start order, and remove the
        work directory."""
        if self.node is not None:
            self.node.stop()
            self.node = None
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.processes.clear()
        if self.workdir != Path() and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        network.release_lock(self._lock)
        self._lock = None
        _unregister(self)

    def restart(self, component: str, *, graceful: bool = True, timeout: float = START_TIMEOUT) -> float:
        """Stop one component and start it again with the same flags, for fault tests.

        ``graceful=False`` sends SIGKILL right after SIGTERM (a crash rather than a
        shutdown). The new process logs to ``<component>.<n>.log``. Returns the seconds
        from the stop until it is healthy again (for etcd: until the API server is ready).
        """
        old = self.processes[component]
        began = time.monotonic()
        old.stop(timeout=10.0 if graceful else 0.0)
        generation = len(list(self.workdir.glob(f"{component}*.log"))) + 1
        self.processes[component] = new = Process(component, old.argv, self.workdir / f"{component}.{generation}.log")
        wait_until(partial(self._healthy, component), what=f"{component} to be healthy again",
                   timeout=timeout, watch=[new])
        return time.monotonic() - began

    def _healthy(self, component: str) -> bool:
        flags = dict(arg[2:].split("=", 1) for arg in self.processes[component].argv if arg.startswith("--")
                     and "=" in arg)
        if component == "etcd":
            return http_ok(f"{flags['listen-client-urls']}/health") and http_ok(f"{self.server}/readyz", self._ssl)
        if component == "kube-apiserver":
            return http_ok(f"{self.server}/readyz", self._ssl)
        if component == "kwok":
            return self._node_ready()
        return http_ok(f"https://{HOST}:{flags['secure-port']}/healthz", self._ssl)

    def _spawn(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log")
        self.processes[name] = process
        return process

    # -- helpers for tests -----------------------------------------------------------

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this control plane as the admin user; raise on failure."""
        argv = [str(binary("kubectl")), f"--kubeconfig={self.kubeconfig}",
                f"--cache-dir={self.workdir / 'kubectl-cache'}", *args]  # not in ~/.kube
        result = subprocess.run(argv, input=input, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, argv, result.stdout, result.stderr)
        return result

    def user_kubeconfig(self, user: str, groups: tuple[str, ...] = ()) -> Path:
        """A kubeconfig for another identity, to exercise RBAC rules (e.g. the operator's)."""
        pair = self._authority().issue_client(user, groups)
        return write_kubeconfig(
            self.workdir / f"kubeconfig-{pair.cert.stem}", server=self.server,
            ca=self._ca.cert_path, cert=pair.cert, key=pair.key, user=user,
        )

    def issue_serving(self, stem: str, ips: tuple[str, ...]) -> KeyPair:
        """A serving certificate of this plane's CA (the kubelet's, for the API server)."""
        return self._authority().issue_serving(stem, ips)

    def _authority(self) -> CertificateAuthority:
        if self._ca is None:
            raise RuntimeError("the control plane is not running")
        return self._ca

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A minimal admin JSON request to the API server (no client library needed)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.server + path, data=data, method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, context=self._ssl, timeout=10) as response:
                result: dict[str, Any] = json.load(response)
                return result
        except urllib.error.HTTPError as exc:
            raise ApiError(method, path, exc.code, exc.read().decode(errors="replace")) from None

    def install_crds(self, files: Sequence[Path]) -> list[str]:
        """Create the CustomResourceDefinitions found in ``files`` (other kinds are
        ignored) and wait until each is Established; return their names."""
        names = []
        for path in files:
            for doc in yaml.safe_load_all(Path(path).read_text()):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    self.api("POST", CRD_PATH, doc)
                    names.append(doc["metadata"]["name"])
        for name in names:
            wait_until(partial(self._crd_established, name),
                       what=f"CRD {name} to be Established", timeout=START_TIMEOUT,
                       watch=list(self.processes.values()))
        return names

    def _crd_established(self, name: str) -> bool:
        crd = self.api("GET", f"{CRD_PATH}/{name}")
        conditions = crd.get("status", {}).get("conditions") or []
        return any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in conditions)

    def _create_node(self) -> None:
        resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
        self.api("POST", "/api/v1/nodes", {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
            "status": {"capacity": resources, "allocatable": resources},
        })

    def _node_ready(self) -> bool:
        return self.node_ready(self.node_name)

    def node_ready(self, name: str) -> bool:
        try:
            node = self.api("GET", f"/api/v1/nodes/{name}")
        except (ApiError, urllib.error.URLError, OSError):
            return False
        conditions = node.get("status", {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _remove_orphaned_workdirs() -> None:
    """Delete work directories left behind by runs that were killed with SIGKILL (their
    processes died with them, see process.py, but nothing could remove the files)."""
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            pid = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass  # alive, and someone else's


# -- safety net: stop whatever is still running when the interpreter goes away ----------

_running: set[ControlPlane] = set()
_lock = threading.Lock()
_hooks = threading.Event()  # set once atexit and the SIGTERM handler are installed


def _register(plane: ControlPlane) -> None:
    with _lock:
        _running.add(plane)
        if _hooks.is_set():
            return
        _hooks.set()
    atexit.register(_stop_all)
    # SIGTERM would end the interpreter without running atexit handlers or finalizers.
    # Turn it into KeyboardInterrupt, which pytest and `with` blocks unwind cleanly.
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
        signal.signal(signal.SIGTERM, _interrupt)


def _unregister(plane: ControlPlane) -> None:
    with _lock:
        _running.discard(plane)


def _stop_all() -> None:
    with _lock:
        planes = list(_running)
    for plane in planes:
        plane.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received signal {signum}")


