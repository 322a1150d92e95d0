"""A real Node for the control plane: containerd and runc from Debian's packages, the CNI
bridge, and a kubelet built from the API server's Kubernetes module.

Everything the node writes lives in ``<plane workdir>/node`` (containerd's root and state,
network namespaces, CNI address leases, kubelet root, Pod logs), except what the kernel
keeps machine-wide: the bridge and iptables chains (network.py) and the Pods' cgroups.
Stopping kills the containers through their shims, stops containerd, unmounts what
containerd and the kubelet mounted and removes the bridge and chains; start-up does the
same for a run that was killed before it could (see clean_stale()).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import network, services
from .binaries import binary
from .images import PAUSE_IMAGE, pause_archive
from .process import Process, http_ok, wait_until

if TYPE_CHECKING:
    from .controlplane import ControlPlane

CNI_BIN = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
NODE_LABELS = {"type": "real"}
SHIM = "containerd-shim-runc-v2"
K8S_NAMESPACE = "k8s.io"  # containerd namespace of the CRI plugin


def containerd_config(root: Path, pause: str) -> str:
    """containerd 1.6 configuration (TOML, version 2) that keeps all state under ``root``."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{root / 'root'}"
state = "{root / 'state'}"
[grpc]
  address = "{root / 'containerd.sock'}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{root / 'opt'}"
[{cri}]
  sandbox_image = "{pause}"
  # Writing a negative oom_score_adj (-998 for sandboxes) is refused on these machines.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
[{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{root / 'net.d'}"
"""


def cni_config(ipam_dir: Path) -> dict[str, Any]:
    """The bridge network: Pods get addresses of POD_CIDR, nothing is masqueraded."""
    return {
        "cniVersion": "0.4.0",
        "name": "coviu-node",
        "plugins": [{
            "type": "bridge",
            "bridge": network.BRIDGE,
            "isGateway": True,
            "ipMasq": False,
            "hairpinMode": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": network.POD_CIDR, "gateway": network.GATEWAY}]],
                "routes": [{"dst": "0.0.0.0/0"}],
                "dataDir": str(ipam_dir),
            },
        }],
    }


def kubelet_config(*, work: Path, socket: Path, port: int, healthz_port: int, ca: Path,
                   cert: Path, key: Path) -> dict[str, Any]:
    """KubeletConfiguration: cgroup v1 with cgroupfs, no swap check, no eviction or image GC
    (test Pods must not be evicted because a shared disk is busy), TLS with our CA for the
    API server's logs/exec/port-forward calls, and the cluster DNS on the bridge."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": network.GATEWAY,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(cert),
        "tlsPrivateKeyFile": str(key),
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                           "x509": {"clientCAFile": str(ca)}},
        # Only holders of a certificate of this plane's CA get in (the API server does).
        "authorization": {"mode": "AlwaysAllow"},
        "containerRuntimeEndpoint": f"unix://{socket}",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDNS": [network.GATEWAY],
        "clusterDomain": "cluster.local",
        "resolvConf": "",  # Pods never get the machine's resolvers
        "podLogsDir": str(work / "pod-logs"),
        "volumePluginDir": str(work / "volume-plugins"),
        "evictionHard": {"memory.available": "0%", "nodefs.available": "0%", "imagefs.available": "0%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "registerWithTaints": [],
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
    }


class RealNode:
    """containerd + kubelet registered as Node ``name`` of ``plane``.

    ``processes`` holds the running components; the plane watches them while it waits
    and stops the node before its own components.
    """

    def __init__(self, plane: ControlPlane, name: str) -> None:
        self.plane = plane
        self.name = name
        self.work = plane.workdir / "node"
        self.socket = self.work / "containerd" / "containerd.sock"
        self.processes: dict[str, Process] = {}
        self.startup_seconds = 0.0

    def start(self, ports: list[int]) -> None:
        """containerd, the pause image, the kubelet, kube-proxy and CoreDNS (six free
        ``ports``); returns once the Node is Ready, Services are programmed and DNS answers."""
        kubelet_port, healthz_port, proxy_healthz, proxy_metrics, dns_health, dns_ready = ports[:6]
        began = time.monotonic()
        ctrd = self.work / "containerd"
        (ctrd / "net.d").mkdir(parents=True)
        (ctrd / "config.toml").write_text(containerd_config(ctrd, PAUSE_IMAGE))
        (ctrd / "net.d" / "10-coviu.conflist").write_text(json.dumps(cni_config(self.work / "cni-ipam")))
        containerd = self._spawn("containerd", ["containerd", f"--config={ctrd / 'config.toml'}",
                                                "--log-level=warn"])
        wait_until(lambda: self.ctr("version", check=False).returncode == 0,
                   what="containerd to answer on its socket", timeout=60, watch=[containerd])
        self.import_image(pause_archive(binary("pause"), self.work / "pause.tar"))

        pki = self.plane.workdir / "pki"
        serving = self.plane.issue_serving("kubelet", (network.GATEWAY,))
        config = kubelet_config(work=self.work, socket=self.socket, port=kubelet_port,
                                healthz_port=healthz_port, ca=pki / "ca.crt",
                                cert=serving.cert, key=serving.key)
        (self.work / "kubelet.yaml").write_text(yaml.safe_dump(config))
        kubeconfig = self.plane.user_kubeconfig(f"system:node:{self.name}", ("system:nodes",))
        labels = ",".join(f"{k}={v}" for k, v in NODE_LABELS.items())
        self._spawn("kubelet", [
            str(binary("kubelet")),
            f"--config={self.work / 'kubelet.yaml'}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={self.work / 'kubelet'}",
            f"--cert-dir={self.work / 'kubelet' / 'pki'}",
            f"--hostname-override={self.name}",
            f"--node-ip={network.GATEWAY}",
            f"--node-labels={labels}",
            "--v=1",
        ])
        wait_until(self.ready, what=f"the kubelet to register Node {self.name} Ready",
                   timeout=120, watch=list(self.processes.values()))

        proxy_config = services.kube_proxy_config(
            kubeconfig=str(self.plane.user_kubeconfig(services.KUBE_PROXY_USER)), node=self.name,
            healthz_port=proxy_healthz, metrics_port=proxy_metrics)
        (self.work / "kube-proxy.yaml").write_text(yaml.safe_dump(proxy_config))
        self._spawn("kube-proxy", [str(binary("kube-proxy")), f"--config={self.work / 'kube-proxy.yaml'}"])
        (self.work / "Corefile").write_text(services.corefile(
            kubeconfig=str(self.plane.user_kubeconfig(services.COREDNS_USER)),
            health_port=dns_health, ready_port=dns_ready))
        self._spawn("coredns", [str(binary("coredns")), "-conf", str(self.work / "Corefile")])
        for what, url in (("kube-proxy /healthz", f"http://127.0.0.1:{proxy_healthz}/healthz"),
                          ("CoreDNS /ready", f"http://127.0.0.1:{dns_ready}/ready")):
            wait_until(partial(http_ok, url), what=what, timeout=60, watch=list(self.processes.values()))
        self.startup_seconds = time.monotonic() - began

    def ready(self) -> bool:
        return self.plane.node_ready(self.name)

    def ctr(self, *args: str, check: bool = True) -> Any:
        return network.run("ctr", f"--address={self.socket}", f"--namespace={K8S_NAMESPACE}", *args, check=check)

    def import_image(self, archive: Path) -> None:
        """Load a docker or OCI archive (``podman save``) into the node's containerd."""
        self.ctr("images", "import", str(archive))

    def images(self) -> list[str]:
        return self.ctr("images", "ls", "-q").stdout.split()

    def _spawn(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self.plane.workdir / f"{name}.log")
        self.processes[name] = process
        return process

    def stop(self) -> None:
        """Kubelet first (it would restart what we kill), then the containers, containerd,
        the mounts under the work directory, and the bridge and chains."""
        kubelet = self.processes.pop("kubelet", None)
        if kubelet is not None:
            kubelet.stop()
        kill_shims(lambda address: address.is_relative_to(self.work))
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.processes.clear()
        unmount_under(lambda mount: mount.is_relative_to(self.work))
        network.tear_down()


def clean_stale(prefix: str) -> None:
    """Remove what a killed run left: containers of orphaned shims, mounts in work
    directories whose owner process is gone, and the bridge and chains."""
    def orphaned(path: Path) -> bool:
        parts = path.relative_to(tempfile.gettempdir()).parts if path.is_relative_to(tempfile.gettempdir()) else ()
        if not parts or not parts[0].startswith(prefix):
            return False
        owner = Path(tempfile.gettempdir()) / parts[0] / "owner.pid"
        try:
            os.kill(int(owner.read_text()), 0)
        except (OSError, ValueError):
            return True
        return False

    kill_shims(orphaned)
    unmount_under(orphaned)
    network.tear_down()


def _processes() -> list[tuple[int, int, list[str]]]:
    """(pid, parent pid, argv) of every process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            found.append((int(entry.name), ppid, [a.decode(errors="replace") for a in argv if a]))
    return found


def kill_shims(belongs: Any) -> None:
    """SIGKILL the containers (the shims' children: each is its PID namespace's init, so
    its whole namespace dies) and then the shims whose containerd address ``belongs``."""
    processes = _processes()
    shims = [pid for pid, _, argv in processes
             if argv and argv[0].endswith(SHIM) and "-address" in argv
             and belongs(Path(argv[argv.index("-address") + 1]))]
    for pid, ppid, _ in processes:
        if ppid in shims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for pid in shims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def unmount_under(belongs: Any) -> None:
    """Lazily unmount every mount point that ``belongs``, deepest first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if belongs(point):
            points.append(point)
    for point in sorted(points, key=lambda p: len(p.parts), reverse=True):
        network.run("umount", "-l", str(point), check=False)
