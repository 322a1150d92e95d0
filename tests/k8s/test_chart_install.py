"""The Helm chart installed on the real control plane.

Three releases serve this module: the default values with the CRD (serving only the release's
own namespace), one cluster-wide (`watch.scope=cluster`), and one for two listed namespaces
with every optional feature the plane can hold (no prometheus-operator CRDs here). All run in
namespaces that enforce the "restricted" Pod Security Standard, and kwok makes their Pods
Ready. Their ServiceAccounts are then checked with `kubectl auth can-i`: allowed exactly what
coviu_operator.rbac lists, where they serve, and nothing else. Finally the operator runs with a
release's ServiceAccount token and configuration, and serves the chart's NOTES walk-through, a
GitOps overlay and the sandbox walk-through of docs/cluster.md.
"""

from __future__ import annotations

import base64
import logging
import secrets
import shlex
import textwrap
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from coviu_operator import rbac
from coviu_operator.names import CRD_NAME, KIND, SECRET_SERVERS_ANNOTATION, SECRET_USE_LABEL
from coviu_operator.settings import OperatorSettings
from coviu_testbed.cluster import ApiError, ControlPlane
from coviu_testbed.k8s import helm, new_namespace
from coviu_testbed.operator import OperatorThread

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "coviu-mcp-operator"
ALL_FEATURES = CHART / "ci" / "all-features-values.yaml"
EXAMPLES = ROOT / "examples"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted",
              "pod-security.kubernetes.io/enforce-version": "latest"}
Rule = tuple[str, str, str]  # (apiGroup, resource, verb)
NEEDED: set[Rule] = {(group, resource, verb) for rule in rbac.FRAMEWORK_RULES + rbac.APPLICATION_RULES
                     for group in rule["apiGroups"] for resource in rule["resources"] for verb in rule["verbs"]}
CLUSTER_SCOPED = {"customresourcedefinitions", "namespaces"}
# Granted to every authenticated user by the default ClusterRoles (system:basic-user etc.).
EVERYONE = {("authentication.k8s.io", "selfsubjectreviews", "create"),
            ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
            ("authorization.k8s.io", "selfsubjectrulesreviews", "create")}
# What a compromised operator must still not be able to do.
NEVER = [
    ("delete", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "pods/exec"),
    ("get", "pods"),
    ("list", "nodes"),
    ("get", "configmaps"),
    ("update", "deployments.apps"),
    ("create", "coviumcpservers.mcp.coviu.dev"),
    ("delete", "coviumcpservers.mcp.coviu.dev"),
    ("update", "coviumcpservers.mcp.coviu.dev/status"),
    ("delete", "serviceaccounts"),
    ("create", "serviceaccounts/token"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
    ("escalate", "clusterroles.rbac.authorization.k8s.io"),
    ("impersonate", "users"),
]


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    served: tuple[str, ...]  # empty: the whole cluster
    notes: str

    @property
    def fullname(self) -> str:
        return f"{self.name}-coviu-mcp-operator"

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.fullname}"


def install(plane: ControlPlane, *args: str, served: tuple[str, ...] | None = None) -> Iterator[Release]:
    """Install the chart (waiting for the operator Deployment), yield it, uninstall it.
    `served`: None for the release's own namespace (the default values)."""
    name, namespace = f"cm-{uuid.uuid4().hex[:6]}", new_namespace(plane, RESTRICTED)
    result = helm(plane, "install", name, str(CHART), "--namespace", namespace, "--wait", "--timeout=120s", *args)
    try:
        yield Release(name, namespace, (namespace,) if served is None else served,
                      result.stdout.split("NOTES:", 1)[1])
    finally:
        helm(plane, "uninstall", name, "--namespace", namespace, "--wait", "--timeout=120s")
        plane.api("DELETE", f"/api/v1/namespaces/{namespace}")


@pytest.fixture(scope="module")
def default_release(control_plane: ControlPlane) -> Iterator[Release]:
    """The default values. The plane already has the CRD (tests/k8s/conftest.py), so the
    release takes it over, as it would adopt a CRD applied by hand before Helm."""
    yield from install(control_plane, "--take-ownership")


@pytest.fixture(scope="module")
def cluster_release(control_plane: ControlPlane) -> Iterator[Release]:
    yield from install(control_plane, "--set", "watch.scope=cluster",
                       "--set", "crds.enabled=false", served=())  # the default release owns the CRD


@pytest.fixture(scope="module")
def namespaced_release(control_plane: ControlPlane) -> Iterator[Release]:
    served = (new_namespace(control_plane, RESTRICTED), new_namespace(control_plane, RESTRICTED))
    try:
        yield from install(
            control_plane, "--values", str(ALL_FEATURES), "--set", f"watch.namespaces={{{','.join(served)}}}",
            "--set", "crds.enabled=false",  # the default release owns it
            "--set", "metrics.serviceMonitor.enabled=false", "--set", "metrics.prometheusRule.enabled=false",
            served=served)
    finally:
        for namespace in served:
            control_plane.api("DELETE", f"/api/v1/namespaces/{namespace}")


@pytest.fixture(params=["default_release", "cluster_release", "namespaced_release"])
def release(request: pytest.FixtureRequest) -> Release:
    found: Release = request.getfixturevalue(request.param)
    return found


def get(plane: ControlPlane, path: str) -> dict[str, Any] | None:
    try:
        return plane.api("GET", path)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def can_i(plane: ControlPlane, release: Release, verb: str, resource: str, namespace: str) -> bool:
    """`resource` may name a subresource: pods/exec (for kubectl, pods/exec is a Pod named exec)."""
    resource, _, sub = resource.partition("/")
    extra = [f"--subresource={sub}"] if sub else []
    result = plane.kubectl("auth", "can-i", verb, resource, *extra, "-n", namespace, f"--as={release.user}",
                           check=False)
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), result.stderr
    return answer == "yes"


def can_i_all(plane: ControlPlane, release: Release, checks: list[tuple[str, str, str]]) -> dict[tuple[str, ...], bool]:
    with ThreadPoolExecutor(4) as pool:
        answers = pool.map(lambda check: can_i(plane, release, *check), checks)
        return dict(zip(checks, answers, strict=True))


def granted(plane: ControlPlane, release: Release, namespace: str) -> set[Rule]:
    """Every resource permission the ServiceAccount has in `namespace` (`kubectl auth can-i --list`)."""
    out = plane.kubectl("auth", "can-i", "--list", "-n", namespace, f"--as={release.user}").stdout
    rules = set()
    for line in out.splitlines()[1:]:
        if line.startswith(" "):
            continue  # a non-resource URL (/healthz, /api, ...)
        resource, _urls, _names, *verbs = line.split()
        plural, _, group = resource.partition(".")
        if "/" in group:  # coviumcpservers.mcp.coviu.dev/status
            group, _, sub = group.partition("/")
            plural = f"{plural}/{sub}"
        rules |= {(group, plural, verb.strip("[]")) for verb in verbs if verb.strip("[]")}
    return rules - EVERYONE


def resource_name(group: str, resource: str) -> str:
    plural, _, sub = resource.partition("/")
    return (f"{plural}.{group}" if group else plural) + (f"/{sub}" if sub else "")


def test_the_operator_deployment_becomes_ready_under_the_restricted_standard(
    control_plane: ControlPlane, release: Release,
) -> None:
    path = f"/apis/apps/v1/namespaces/{release.namespace}/deployments/{release.fullname}"
    deployment = control_plane.api("GET", path)
    assert deployment["status"].get("readyReplicas") == 1
    pods = control_plane.api("GET", f"/api/v1/namespaces/{release.namespace}/pods")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running"]  # admitted under "restricted"
    env = {e["name"]: e.get("value") for e in pods[0]["spec"]["containers"][0]["env"]}
    assert env.get("COVIU_OPERATOR_NAMESPACES") == (",".join(release.served) or None)


def test_the_release_owns_the_crd_and_marks_it_to_be_kept(
    control_plane: ControlPlane, default_release: Release,
) -> None:
    crd = control_plane.api("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}")
    annotations = crd["metadata"]["annotations"]
    assert annotations["helm.sh/resource-policy"] == "keep"
    assert annotations["meta.helm.sh/release-name"] == default_release.name
    assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_uninstalling_keeps_the_crd_and_removes_everything_else(control_plane: ControlPlane) -> None:
    crd_path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}"
    uid = control_plane.api("GET", crd_path)["metadata"]["uid"]
    name, namespace = f"cm-{uuid.uuid4().hex[:6]}", new_namespace(control_plane)
    try:
        helm(control_plane, "install", name, str(CHART), "--namespace", namespace, "--take-ownership")
        role = f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}-coviu-mcp-operator"
        assert get(control_plane, role) is not None
        helm(control_plane, "uninstall", name, "--namespace", namespace, "--wait", "--timeout=60s")
        assert get(control_plane, role) is None
        assert get(control_plane, f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}-coviu-mcp-operator") is None
        assert control_plane.api("GET", crd_path)["metadata"]["uid"] == uid  # never deleted
    finally:
        control_plane.api("DELETE", f"/api/v1/namespaces/{namespace}")


def test_cluster_scope_allows_exactly_the_operator_rules_everywhere(
    control_plane: ControlPlane, cluster_release: Release, namespace: str,
) -> None:
    expected = NEEDED - {("", "namespaces", "list"), ("", "namespaces", "watch")}  # kopf needs them with a list only
    for where in (namespace, "kube-system"):
        assert granted(control_plane, cluster_release, where) == expected
    checks = [(verb, resource_name(group, resource), namespace) for group, resource, verb in sorted(expected)]
    answers = can_i_all(control_plane, cluster_release, checks)
    assert all(answers.values()), [check for check, yes in answers.items() if not yes]


@pytest.mark.parametrize("which", ["default_release", "namespaced_release"])
def test_namespaced_scope_allows_the_operator_rules_only_in_the_served_namespaces(
    control_plane: ControlPlane, request: pytest.FixtureRequest, which: str, namespace: str,
) -> None:
    """By default only in the release's own namespace: no Secret of any other namespace."""
    namespaced_release: Release = request.getfixturevalue(which)
    cluster_rules = {rule for rule in NEEDED if rule[1] in CLUSTER_SCOPED}
    for served in namespaced_release.served:
        assert granted(control_plane, namespaced_release, served) == NEEDED
    assert granted(control_plane, namespaced_release, namespace) == cluster_rules
    wheres = dict.fromkeys((namespaced_release.served[0], namespace, namespaced_release.namespace))
    checks = [(verb, resource_name(group, resource), where) for group, resource, verb in sorted(NEEDED - cluster_rules)
              for where in wheres]
    answers = can_i_all(control_plane, namespaced_release, checks)
    allowed = {check for check, yes in answers.items() if yes}
    assert allowed == {check for check in checks if check[2] == namespaced_release.served[0]}
    # Not even a cluster-wide read of Secrets.
    assert control_plane.kubectl("auth", "can-i", "list", "secrets", "--all-namespaces",
                                 f"--as={namespaced_release.user}", check=False).stdout.strip() == "no"


def test_what_the_operator_must_never_do_is_denied(control_plane: ControlPlane, release: Release) -> None:
    where = release.served[0] if release.served else "default"
    answers = can_i_all(control_plane, release, [(verb, resource, where) for verb, resource in NEVER])
    assert not [check for check, yes in answers.items() if yes]


def test_optional_objects_protect_the_proxies_in_the_served_namespaces(
    control_plane: ControlPlane, namespaced_release: Release,
) -> None:
    for served in namespaced_release.served:
        name = namespaced_release.fullname
        policy = control_plane.api(
            "GET", f"/apis/networking.k8s.io/v1/namespaces/{served}/networkpolicies/{name}-proxy-egress")
        assert policy["spec"]["policyTypes"] == ["Egress"]
        budget = control_plane.api("GET", f"/apis/policy/v1/namespaces/{served}/poddisruptionbudgets/{name}-proxies")
        assert budget["spec"]["maxUnavailable"] == 1


def test_examples_pass_server_side_validation(control_plane: ControlPlane, namespace: str) -> None:
    # The cluster-wide release's admission policy refuses an expiresAt in the past: fill in
    # the 8-hour example's instant as its comment says.
    in_8h = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for path in sorted(EXAMPLES.glob("*.yaml")):
        manifest = path.read_text().replace("2026-01-01T08:00:00Z", in_8h)
        control_plane.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=manifest)
    for overlay in sorted((EXAMPLES / "gitops" / "overlays").iterdir()):
        docs = yaml.safe_load_all(control_plane.kubectl("kustomize", str(overlay)).stdout)
        moved = [{**doc, "metadata": {**doc["metadata"], "namespace": namespace}} for doc in docs if doc]
        control_plane.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump_all(moved))
    # The same dry run rejects what the CRD's CEL rules forbid.
    broken = {"apiVersion": "mcp.coviu.dev/v1alpha1", "kind": KIND, "metadata": {"name": "broken"},
              "spec": {"credentialsSecretRef": {"name": "c"}, "requireApiTokenAuth": True}}
    result = control_plane.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-",
                                   input=yaml.safe_dump(broken), check=False)
    assert result.returncode != 0 and "apiTokenSecretRef is required" in result.stderr


@contextmanager
def operator_as(plane: ControlPlane, release: Release, workdir: Path) -> Iterator[OperatorThread]:
    """The operator, serving what the release serves, logged in with a token of the release's
    ServiceAccount."""
    token = plane.kubectl("create", "token", release.fullname, "-n", release.namespace, "--duration=1h").stdout.strip()
    config = yaml.safe_load(plane.kubeconfig.read_text())
    config["users"] = [{"name": "operator", "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = "operator"
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    # As installed with `--set policy.sandboxHosts={coviu-sandbox}`, for the sandbox walk-through.
    settings = OperatorSettings(sandbox_hosts=("coviu-sandbox",))
    with OperatorThread(settings, namespaces=release.served, kubeconfig=str(kubeconfig)) as running:
        yield running


def permission_problems(caplog: pytest.LogCaptureFixture, release: Release) -> list[str]:
    """Requests RBAC refused: kopf logs them and carries on (e.g. without watching namespaces)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
            and ("Not enough permissions" in r.getMessage() or f'User "{release.user}" cannot' in r.getMessage())]


def notes_commands(notes: str) -> dict[str, str]:
    """The kubectl commands of the NOTES by their first two words, lines joined, placeholders filled in."""
    text = notes.replace("\\\n", " ").replace("<client id>", "id-1").replace("<client secret>", "secret-1")
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("kubectl ")]
    return {" ".join(c.split()[1:3]): c for c in commands if "port-forward" not in c and "{.data.token}" not in c}


def run_notes_command(plane: ControlPlane, command: str, stdin: str | None = None) -> str:
    """Run a NOTES command; what follows a pipe or starts a here-document is left to the caller."""
    argv = shlex.split(command.split(" | ", 1)[0].split(" <<", 1)[0])
    return plane.kubectl(*argv[1:], input=stdin).stdout


def test_the_operator_serves_the_notes_and_gitops_with_the_namespaced_service_account(
    control_plane: ControlPlane, namespaced_release: Release, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """Ready means the proxy Pods run too: admitted under the namespace's restricted standard."""
    served = namespaced_release.served[0]
    commands = notes_commands(namespaced_release.notes)
    manifest = textwrap.dedent(namespaced_release.notes.split("<<'EOF'", 1)[1].split("EOF", 1)[0])
    overlay = yaml.safe_load(control_plane.kubectl("kustomize", str(EXAMPLES / "gitops/overlays/clinic-a")).stdout)
    overlay["metadata"]["namespace"] = served
    server, url_token = overlay["metadata"]["name"], secrets.token_hex(32)
    with caplog.at_level(logging.WARNING), operator_as(control_plane, namespaced_release, tmp_path):
        # The NOTES, step by step.
        for step in ("create secret", "label -n", "annotate -n"):
            run_notes_command(control_plane, commands[step])
        run_notes_command(control_plane, commands["apply -n"], stdin=manifest)
        run_notes_command(control_plane, commands["wait -n"].replace("kubectl wait", "kubectl wait --timeout=90s"))
        url = base64.b64decode(run_notes_command(control_plane, commands["get secret"])).decode()
        status = control_plane.api("GET", f"/apis/mcp.coviu.dev/v1alpha1/namespaces/{served}/coviumcpservers/triage")
        assert url.startswith(status["status"]["url"]) and len(url) > len(status["status"]["url"]) + 32
        # A GitOps tenant that brings its own URL token.
        brought = overlay["spec"]["tokenSecretRef"]["name"]
        control_plane.kubectl("create", "secret", "generic", "coviu-credentials", "-n", served,
                              "--from-literal=client_id=id-2", "--from-literal=client_secret=secret-2")
        control_plane.kubectl("create", "secret", "generic", brought, "-n", served, f"--from-literal=token={url_token}")
        # Shared as examples/gitops/README.md says.
        control_plane.kubectl("label", "-n", served, "secret/coviu-credentials", SECRET_USE_LABEL + "=credentials")
        control_plane.kubectl("label", "-n", served, f"secret/{brought}", SECRET_USE_LABEL + "=url-token")
        control_plane.kubectl("annotate", "-n", served, "secret/coviu-credentials", f"secret/{brought}",
                              f"{SECRET_SERVERS_ANNOTATION}={server}")
        control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(overlay))
        control_plane.kubectl("wait", "-n", served, "--for=condition=Ready", "--timeout=90s", f"cmcp/{server}")
        secret = control_plane.api("GET", f"/api/v1/namespaces/{served}/secrets/{server}-mcp-token")
        assert base64.b64decode(secret["data"]["url"]).decode().endswith(f"/mcp/{url_token}")
    assert not permission_problems(caplog, namespaced_release)


def test_the_operator_serves_the_sandbox_walk_through_in_a_listed_namespace_with_its_service_account(
    control_plane: ControlPlane, namespaced_release: Release, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """docs/cluster.md, "On the local control plane": installed with `watch.namespaces={default}`,
    here another listed namespace."""
    namespace = namespaced_release.served[1]
    with caplog.at_level(logging.WARNING), operator_as(control_plane, namespaced_release, tmp_path):
        control_plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / "sandbox.yaml"))
        control_plane.kubectl("wait", "-n", namespace, "--for=condition=Ready", "--timeout=90s", "cmcp/sandbox-demo")
        url = control_plane.kubectl("get", "secret", "-n", namespace, "sandbox-demo-mcp-token",
                                    "-o", "jsonpath={.data.url}").stdout
        assert base64.b64decode(url).decode().startswith(f"http://sandbox-demo-mcp.{namespace}.svc.cluster.local/mcp/")
        # Deleted while the operator runs, so that none of its finalizers is left behind.
        control_plane.kubectl("delete", "-n", namespace, "cmcp/sandbox-demo", "--timeout=60s")
    assert not permission_problems(caplog, namespaced_release)
