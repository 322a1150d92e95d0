"""The Helm chart, rendered offline with the real helm binary (`make kube-clients`).

Each rendering is checked against the Kubernetes schemas (kubernetes-validate) and against
the operator's own contracts: its CRD, its permissions (coviu_operator.rbac), its settings
(coviu_operator.settings), its metrics and the labels it puts on proxies.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client import generate_latest

from coviu_operator import builders, names, rbac
from coviu_operator.builders import RUN_AS
from coviu_operator.metrics import RESULTS, Metrics
from coviu_operator.models import Server
from coviu_operator.settings import ENV_PREFIX, OperatorSettings, load_settings
from coviu_testbed.cluster.binaries import binary
from coviu_testbed.operator import server_body

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "coviu-mcp-operator"
ALL_FEATURES = CHART / "ci" / "all-features-values.yaml"
CRD_FILE = ROOT / "crds" / "coviumcpservers.yaml"
# The oldest release the chart supports (Chart.yaml kubeVersion) and the one we test on.
KUBE_VERSIONS = ("1.29", "1.35")
ADMISSION_POLICY_SINCE = "1.34"  # CEL's list library (sort) in ValidatingAdmissionPolicy
MONITORING_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PodMonitor"),
                    ("monitoring.coreos.com/v1", "PrometheusRule")}
RELEASE, NAMESPACE = "cmcp", "platform"
FULLNAME = f"{RELEASE}-coviu-mcp-operator"

Doc = dict[str, Any]
Rule = tuple[str, str, str]  # (apiGroup, resource, verb)


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(binary("helm")), *args], capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"helm {' '.join(args)} failed:\n{result.stderr}")
    return result


def render(*sets: str, values: Sequence[Path] = ()) -> list[Doc]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += [arg for path in values for arg in ("--values", str(path))]
    args += [arg for value in sets for arg in ("--set", value)]
    return [doc for doc in yaml.safe_load_all(helm(*args).stdout) if doc]


def one(docs: list[Doc], kind: str, namespace: str | None = None) -> Doc:
    found = [d for d in docs
             if d["kind"] == kind and (namespace is None or d["metadata"].get("namespace") == namespace)]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def env_of(docs: list[Doc]) -> dict[str, str]:
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item["value"] for item in container["env"]}


RENDERINGS = {
    "defaults": ((), ()),
    "all-features": ((), (ALL_FEATURES,)),
    "cluster-scope-with-proxy-policies": (
        ("watch.scope=cluster", "proxy.namespaces={clinic-a}", "proxy.networkPolicy.enabled=true",
         "proxy.podDisruptionBudget.enabled=true", "crds.keep=false", "serviceAccount.create=false",
         "serviceAccount.name=existing"), ()),
}


@pytest.fixture(scope="module", params=sorted(RENDERINGS))
def rendering(request: pytest.FixtureRequest) -> list[Doc]:
    sets, values = RENDERINGS[request.param]
    return render(*sets, values=values)


@pytest.mark.parametrize("values", [(), (ALL_FEATURES,)], ids=["defaults", "all-features"])
def test_helm_lint_is_clean(values: tuple[Path, ...]) -> None:
    args = [arg for path in values for arg in ("--values", str(path))]
    result = helm("lint", "--strict", str(CHART), *args)
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(rendering: list[Doc], version: str) -> None:
    for doc in rendering:
        what = f"{doc['kind']} {doc['metadata']['name']}"
        if (doc["apiVersion"], doc["kind"]) in MONITORING_KINDS:
            continue  # prometheus-operator kinds: checked for consistency below, no schema offline
        if doc["apiVersion"] == "admissionregistration.k8s.io/v1" and version < ADMISSION_POLICY_SINCE:
            continue  # the admission policy template renders only on 1.34 or newer
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{what} is not valid for Kubernetes {version}: {str(exc).splitlines()[0]}")


def test_all_features_values_render_every_template() -> None:
    """ci/all-features-values.yaml switches everything on, and no template is dead."""
    out = helm("template", RELEASE, str(CHART), "--values", str(ALL_FEATURES)).stdout
    rendered = set(re.findall(r"^# Source: coviu-mcp-operator/templates/(\S+)$", out, re.MULTILINE))
    templates = {p.name for p in (CHART / "templates").iterdir() if p.suffix == ".yaml"}
    assert rendered == templates


def test_defaults_render_no_optional_objects() -> None:
    kinds = sorted(doc["kind"] for doc in render())
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Deployment", "Role",
                     "RoleBinding", "Service", "ServiceAccount", "ValidatingAdmissionPolicy",
                     "ValidatingAdmissionPolicyBinding"]


@pytest.mark.parametrize(("override", "message"), [
    ("operator.resyncInterval=60", "resyncInterval"),  # a typo of resyncIntervalSeconds
    ("metrics.serviceMonitor.enable=true", "enable"),
    ("imageTag=1.0", "imageTag"),
    ("watch.scope=namespace", "scope"),
    ("operator.logFormat=yaml", "logFormat"),
    ("proxy.podDisruptionBudget.maxUnavailable=0", "maxUnavailable"),
])
def test_values_outside_the_schema_fail(override: str, message: str) -> None:
    result = helm("template", RELEASE, str(CHART), "--set", override, check=False)
    assert result.returncode != 0, f"--set {override} rendered"
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr


def _key_lines(node: yaml.Node, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], int]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, key.value)
            yield here, key.start_mark.line
            yield from _key_lines(value, here)


def test_every_value_is_documented() -> None:
    """helm-docs rules: a key is documented by a `# --` comment; a documented map documents
    everything in it, an undocumented one needs each of its keys documented."""
    schema = yaml.safe_load((CHART / "values.schema.json").read_text())
    text = (CHART / "values.yaml").read_text()
    lines = text.splitlines()
    keys = dict(_key_lines(yaml.compose(text)))

    def documented(line: int) -> bool:
        for above in reversed(lines[:line]):
            if not above.strip().startswith("#"):
                return False
            if above.strip().startswith("# --"):
                return True
        return False

    def undocumented(node: dict[str, Any], path: tuple[str, ...]) -> Iterator[str]:
        for key, child in node.get("properties", {}).items():
            here = (*path, key)
            if here == ("global",):
                continue
            assert here in keys, f"{'.'.join(here)} is in the schema but has no default in values.yaml"
            if documented(keys[here]):
                continue
            if "properties" in child:
                yield from undocumented(child, here)
            else:
                yield ".".join(here)

    assert not list(undocumented(schema, ()))


def test_the_schema_closes_every_object_it_describes() -> None:
    def open_objects(node: dict[str, Any], path: str) -> Iterator[str]:
        if "properties" in node and node.get("additionalProperties") is not False:
            yield path or "<root>"
        for key, child in node.get("properties", {}).items():
            yield from open_objects(child, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            yield from open_objects(node["items"], f"{path}[]")

    assert not list(open_objects(yaml.safe_load((CHART / "values.schema.json").read_text()), ""))


def test_the_chart_crd_is_the_crd() -> None:
    assert (CHART / "files" / "coviumcpservers.yaml").read_bytes() == CRD_FILE.read_bytes(), (
        "charts/coviu-mcp-operator/files/coviumcpservers.yaml differs from crds/coviumcpservers.yaml: "
        "copy it over after regenerating the CRD"
    )
    source = yaml.safe_load(CRD_FILE.read_text())
    rendered = one(render(), "CustomResourceDefinition")
    meta = rendered.pop("metadata")
    source_meta = source.pop("metadata")
    assert rendered == source
    assert meta["name"] == source_meta["name"]
    assert meta["labels"].items() >= source_meta["labels"].items()
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert meta["annotations"] == {"helm.sh/resource-policy": "keep"}


def test_crd_switches() -> None:
    assert "annotations" not in one(render("crds.keep=false"), "CustomResourceDefinition")["metadata"]
    assert not [d for d in render("crds.enabled=false") if d["kind"] == "CustomResourceDefinition"]


def _rules(role: Doc) -> set[Rule]:
    return {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


NEEDED = _rules({"rules": rbac.FRAMEWORK_RULES + rbac.APPLICATION_RULES})
# kopf lists and watches namespaces only when it is given a namespace list.
NAMESPACE_DISCOVERY = {("", "namespaces", "list"), ("", "namespaces", "watch")}


def test_cluster_scope_grants_what_the_operator_needs_in_one_cluster_role() -> None:
    docs = render("watch.scope=cluster")
    assert not [d for d in docs if d["kind"] in ("Role", "RoleBinding")]
    assert _rules(one(docs, "ClusterRole")) == NEEDED - NAMESPACE_DISCOVERY
    binding = one(docs, "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": FULLNAME}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]


@pytest.mark.parametrize(("sets", "served"), [
    ((), [NAMESPACE]),
    (("watch.scope=namespaced", "watch.namespaces={clinic-a,clinic-b}"), ["clinic-a", "clinic-b"]),
], ids=["defaults", "listed"])
def test_namespaced_scope_grants_namespaced_rights_only_in_the_served_namespaces(
    sets: tuple[str, ...], served: list[str],
) -> None:
    """The default: no right on Secrets, Deployments or Services outside the release's namespace."""
    docs = render(*sets)
    assert env_of(docs)[f"{ENV_PREFIX}NAMESPACES"] == ",".join(served)
    cluster_rules = _rules(one(docs, "ClusterRole"))
    assert {resource for _, resource, _ in cluster_rules} == {"customresourcedefinitions", "namespaces"}
    for namespace in served:
        role, binding = one(docs, "Role", namespace), one(docs, "RoleBinding", namespace)
        assert cluster_rules | _rules(role) == NEEDED
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": FULLNAME}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    assert {d["metadata"]["namespace"] for d in docs if d["kind"] in ("Role", "RoleBinding")} == set(served)


def test_rbac_create_false_renders_no_rbac() -> None:
    assert not [d for d in render("rbac.create=false") if d["apiVersion"].startswith("rbac.")]


def test_the_operator_env_is_a_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render("watch.scope=namespaced", "watch.namespaces={clinic-a,clinic-b}", "proxy.image=registry.example/p:1",
                  "proxy.imagePullPolicy=Always", "operator.expiringSoonWindowSeconds=1000000",
                  "operator.resyncIntervalSeconds=60", "operator.requestTimeoutSeconds=10",
                  "operator.clusterDomain=corp.internal", "metrics.port=9300", "operator.healthPort=8181",
                  "proxy.resources.limits.cpu=1", "proxy.forwardedAllowIps={10.2.0.0/16,fd00::1}")
    env = env_of(docs)
    unknown = {name for name in env if name.removeprefix(ENV_PREFIX).lower() not in OperatorSettings.model_fields}
    assert not unknown, "the operator ignores these variables"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.image == "registry.example/p:1"
    assert settings.image_pull_policy == "Always"
    assert settings.resources.model_dump(exclude_none=True) == {
        "requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": 1, "memory": "256Mi"}}
    assert settings.expiring_soon_window.total_seconds() == 1_000_000
    assert settings.namespaces == ("clinic-a", "clinic-b")
    assert settings.forwarded_allow_ips == ("10.2.0.0/16", "fd00::1")
    assert (settings.resync_interval, settings.request_timeout) == (60, 10)
    assert (settings.cluster_domain, settings.metrics_port, settings.health_port) == ("corp.internal", 9300, 8181)
    ports = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert {p["name"]: p["containerPort"] for p in ports} == {"metrics": 9300, "health": 8181}


def test_by_default_proxies_run_the_operator_image_and_only_the_release_namespace_is_served() -> None:
    docs = render("image.digest=sha256:" + "ab" * 32)
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/coviu/coviu-mcp-operator@sha256:" + "ab" * 32
    assert env_of(docs)["COVIU_OPERATOR_IMAGE"] == container["image"]
    assert env_of(docs)[f"{ENV_PREFIX}NAMESPACES"] == NAMESPACE
    assert f"{ENV_PREFIX}NAMESPACES" not in env_of(render("watch.scope=cluster")), "cluster: every namespace"
    assert one(render(), "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "ghcr.io/coviu/coviu-mcp-operator:0.1.0")


def test_the_operator_runs_once_hardened_and_non_root() -> None:
    deployment = one(render(), "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == RUN_AS  # the image's user, as for the proxies
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["resources"]["limits"]["memory"]


def test_pod_labels_cannot_override_the_selector() -> None:
    deployment = one(render("podLabels.app\\.kubernetes\\.io/instance=other", "podLabels.team=a"), "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["team"] == "a"
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_proxy_policies_select_the_proxies_in_the_served_namespaces() -> None:
    docs = render(values=(ALL_FEATURES,))
    proxy_labels = names.child_labels("any-server")
    for kind in ("NetworkPolicy", "PodDisruptionBudget"):
        objects = [d for d in docs if d["kind"] == kind]
        assert {d["metadata"]["namespace"] for d in objects} == {"clinic-a", "clinic-b"}
        for obj in objects:
            selector = obj["spec"]["podSelector" if kind == "NetworkPolicy" else "selector"]["matchLabels"]
            assert selector.items() <= proxy_labels.items()
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Egress"]
    dns, api = policy["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert api["ports"] == [{"protocol": "TCP", "port": 443}]
    private = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}
    assert private <= set(api["to"][0]["ipBlock"]["except"])


def test_proxy_policies_in_cluster_scope_need_their_namespaces() -> None:
    result = helm("template", RELEASE, str(CHART), "--set", "watch.scope=cluster",
                  "--set", "proxy.networkPolicy.enabled=true", check=False)
    assert result.returncode != 0
    assert "proxy.namespaces must list" in result.stderr
    by_default = render("proxy.networkPolicy.enabled=true")
    assert one(by_default, "NetworkPolicy")["metadata"]["namespace"] == NAMESPACE


def test_a_namespace_list_with_cluster_scope_is_refused() -> None:
    """It would be ignored: the installer would believe the operator confined."""
    result = helm("template", RELEASE, str(CHART), "--set", "watch.scope=cluster",
                  "--set", "watch.namespaces={clinic-a}", check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr


def test_monitors_scrape_the_operator_and_the_proxies_admin_port() -> None:
    docs = render(values=(ALL_FEATURES,))
    service = one(docs, "Service")
    operator_monitor = one(docs, "ServiceMonitor")
    assert operator_monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert operator_monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert operator_monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # The proxies' /metrics is on the admin port, which their Service does not expose: a PodMonitor.
    proxy_monitor = one(docs, "PodMonitor")
    assert proxy_monitor["spec"]["selector"]["matchLabels"].items() <= names.child_labels("x").items()
    assert proxy_monitor["spec"]["namespaceSelector"] == {"matchNames": ["clinic-a", "clinic-b"]}
    proxy = Server.parse({**server_body("x"), "metadata": {"name": "x", "namespace": "default", "uid": "u"}})
    container = builders.deployment(proxy, OperatorSettings(), "h")["spec"]["template"]["spec"]["containers"][0]
    admin = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert proxy_monitor["spec"]["podMetricsEndpoints"][0]["port"] == "admin" and admin["admin"] == names.ADMIN_PORT
    assert "admin" not in {p["targetPort"] for p in builders.service(proxy)["spec"]["ports"]}
    cluster = render("watch.scope=cluster", "metrics.serviceMonitor.enabled=true")
    assert one(cluster, "PodMonitor")["spec"]["namespaceSelector"] == {"any": True}


def test_alerts_query_series_the_operator_exports() -> None:
    docs = render("operator.expiringSoonWindowSeconds=7200", values=(ALL_FEATURES,))
    (operator_rules,) = [d for d in docs if d["kind"] == "PrometheusRule" and d["metadata"]["name"] == FULLNAME]
    rules = {r["alert"]: r for r in operator_rules["spec"]["groups"][0]["rules"]}  # the proxies': test_monitoring.py
    assert set(rules) == {"CoviuMCPOperatorReconcileErrors", "CoviuMCPServerExpiringSoon"}
    metrics = Metrics()
    metrics.reconciled("error", 0.1)
    metrics.observe("clinic-a", "demo", "ready", datetime.now(UTC))
    exported = generate_latest(metrics.registry).decode()
    for rule in rules.values():
        for series in re.findall(r"\bcoviu_operator_\w+", rule["expr"]):
            assert re.search(rf"^{series}\{{", exported, re.MULTILINE), f"{series} is not exported"
        assert f'job="{FULLNAME}-metrics"' in rule["expr"]  # Prometheus's job: the Service name
    results = re.search(r'result=~"([^"]+)"', rules["CoviuMCPOperatorReconcileErrors"]["expr"])
    assert results is not None and set(results.group(1).split("|")) <= set(RESULTS)
    assert rules["CoviuMCPServerExpiringSoon"]["expr"].strip().endswith("< 7200")
    assert "{{ $labels.name }}" in rules["CoviuMCPServerExpiringSoon"]["annotations"]["description"]
    assert one(docs, "Service")["metadata"]["name"] == f"{FULLNAME}-metrics"


def test_notes_walk_through_a_first_server_with_the_operator_names() -> None:
    result = helm("install", RELEASE, str(CHART), "--dry-run=client", "--namespace", NAMESPACE,
                  "--set", "watch.scope=namespaced", "--set", "watch.namespaces={clinic-a}")
    notes = result.stdout.split("NOTES:", 1)[1]
    manifest = yaml.safe_load(notes.split("<<'EOF'", 1)[1].split("EOF", 1)[0])
    assert manifest["apiVersion"] == names.API_VERSION and manifest["kind"] == names.KIND
    server = manifest["metadata"]["name"]
    secret, service = names.token_secret_name(server), names.workload_name(server)
    assert f"kubectl get secret -n clinic-a {secret} -o jsonpath='{{.data.url}}' | base64 -d" in notes
    assert f"kubectl port-forward -n clinic-a service/{service} 8080:{names.SERVICE_PORT}" in notes
    assert f"create secret generic {manifest['spec']['credentialsSecretRef']['name']} -n clinic-a" in notes
    assert "crds.enabled is false" not in notes
    defaults = helm("install", RELEASE, str(CHART), "--dry-run=client", "--namespace", NAMESPACE).stdout
    assert f"CoviuMCPServers in namespaces {NAMESPACE}." in defaults, "the notes say which namespace is served"
    assert f"kubectl apply -n {NAMESPACE} -f -" in defaults


def test_the_policy_values_become_the_operators_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default only Coviu's API, the operator's image and no Pod override; each list widens it."""
    default = env_of(render())
    assert not {name for name in default if "ALLOWED" in name or "SANDBOX" in name} - {
        f"{ENV_PREFIX}ALLOWED_API_BASE_URLS"}
    assert default[f"{ENV_PREFIX}ALLOWED_API_BASE_URLS"] == "https://api.coviu.com/v1"
    env = env_of(render("policy.sandboxHosts={coviu-sandbox}", "policy.images={registry.example/p:2}",
                        "policy.publicHosts={*.mcp.example.com}",
                        "policy.podLabels={team}", "policy.podAnnotations={example.com/cost}",
                        "policy.nodeSelectorKeys={pool}", "policy.tolerationKeys={dedicated}",
                        "policy.priorityClasses={mcp}", "policy.apiBaseURLs={https://a.example/v1,https://b.example/v1}"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.allowed_api_base_urls == ("https://a.example/v1", "https://b.example/v1")
    assert (settings.sandbox_hosts, settings.allowed_images) == (("coviu-sandbox",), ("registry.example/p:2",))
    assert settings.allowed_public_hosts == ("*.mcp.example.com",)
    assert (settings.allowed_pod_labels, settings.allowed_pod_annotations) == (("team",), ("example.com/cost",))
    assert (settings.allowed_node_selector_keys, settings.allowed_toleration_keys,
            settings.allowed_priority_classes) == (("pool",), ("dedicated",), ("mcp",))
    refused = helm("template", RELEASE, str(CHART), "--set", "policy.apiBaseURLs={http://a.example/v1}", check=False)
    assert refused.returncode != 0 and "apiBaseURLs" in refused.stderr
