"""The real node's configuration builders (coviu_testbed.cluster): the settings that keep test
traffic on the machine and every file of the node in its work directory."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from coviu_testbed.cluster import network, node, services
from coviu_testbed.cluster.images import pause_archive


def test_the_cni_bridge_masquerades_nothing_and_keeps_leases_in_the_work_directory(tmp_path: Path) -> None:
    bridge = node.cni_config(tmp_path / "ipam")["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["bridge"] == network.BRIDGE
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.245.0.0/24", "gateway": "10.245.0.1"}]]
    assert bridge["ipam"]["dataDir"] == str(tmp_path / "ipam")


def test_coredns_serves_the_cluster_domain_only_and_forwards_nothing() -> None:
    corefile = services.corefile(kubeconfig="/k", health_port=1, ready_port=2)
    assert corefile.startswith("cluster.local:53 {")
    assert "forward" not in corefile and ". {" not in corefile
    assert f"bind {network.GATEWAY}" in corefile


def test_pods_get_the_cluster_dns_and_never_the_machines_resolvers(tmp_path: Path) -> None:
    config = node.kubelet_config(work=tmp_path, socket=tmp_path / "s", port=1, healthz_port=2,
                                 ca=tmp_path / "ca", cert=tmp_path / "c", key=tmp_path / "k")
    assert config["clusterDNS"] == [network.GATEWAY] and config["resolvConf"] == ""
    assert config["failCgroupV1"] is False and config["cgroupDriver"] == "cgroupfs"
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert all(str(v).startswith(str(tmp_path)) for k, v in config.items() if k.endswith("Dir"))
    assert config["containerRuntimeEndpoint"] == f"unix://{tmp_path}/s"


def test_containerd_keeps_its_state_and_network_namespaces_in_the_work_directory(tmp_path: Path) -> None:
    config = node.containerd_config(tmp_path, "localhost/pause:x")
    assert f'root = "{tmp_path}/root"' in config and f'state = "{tmp_path}/state"' in config
    assert "netns_mounts_under_state_dir = true" in config
    assert "restrict_oom_score_adj = true" in config
    assert 'sandbox_image = "localhost/pause:x"' in config


def test_kube_proxy_changes_no_sysctl() -> None:
    config = services.kube_proxy_config(kubeconfig="/k", node="n", healthz_port=1, metrics_port=2)
    assert config["mode"] == "iptables" and config["clusterCIDR"] == network.POD_CIDR
    assert config["iptables"]["localhostNodePorts"] is False
    assert config["conntrack"]["maxPerCore"] == 0 and config["oomScoreAdj"] == 0


def test_the_pause_archive_is_a_one_layer_image_of_the_binary(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF-static")
    with tarfile.open(pause_archive(binary, tmp_path / "pause.tar", "localhost/pause:t")) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tar.extractfile("config.json"))  # type: ignore[arg-type]
        with tarfile.open(fileobj=tar.extractfile("layer.tar")) as layer:
            member = layer.getmember("pause")
            assert layer.extractfile(member).read() == b"\x7fELF-static"  # type: ignore[union-attr]
    assert member.mode == 0o755
    assert manifest == [{"Config": "config.json", "RepoTags": ["localhost/pause:t"], "Layers": ["layer.tar"]}]
    assert config["config"]["Entrypoint"] == ["/pause"]
