"""The tenant boundary on a real control plane: whoever can write a CoviuMCPServer gains nothing
they could not already read or run.

Each server below is one way a manifest writer tried to take the clinic's Coviu secret or run
something with it (issue 14, attack 1): send the credentials to a host of their own, run their
own image with them, read another key or another Secret through the server, copy a Secret into
the token Secret, or escape the Pod's hardening. Each must end in Ready=False with reason
PolicyViolation naming the field, a Warning Event, and nothing deployed. Then a tenant who may
write CoviuMCPServers but not read Secrets (attack 8) reads every object it can and finds no
Secret value, and no workload that references a Secret not shared with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any

import pytest
import yaml

from coviu_operator.names import SECRET_KEYS_ANNOTATION, SECRET_SERVERS_ANNOTATION, SECRET_USE_LABEL
from coviu_testbed.cluster import ControlPlane, KubectlError
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.k8s import Cluster, apply, creds, merge_patch, server
from coviu_testbed.operator import OperatorThread, credentials_secret
from tests.unit.test_operator_models import REFUSED_AT_ADMISSION

STRIPE_KEY = "sk_live_51HsentinelStripeKey0a1b2c3d4e5f6a7b8c9d"
PATIENT = "Zebediah Quillfeather, born 1931-02-03"
CLIENT_SECRET = "clinic-client-secret-7f3e1d"


def secret(name: str, **values: str) -> dict[str, Any]:
    """A Secret its owner did not share with any CoviuMCPServer."""
    data = {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "data": data}


ATTACKS: dict[str, tuple[dict[str, Any], str]] = {
    "exfil-url": ({"apiBaseURL": "https://collector.attacker.example/v1"}, "spec.apiBaseURL"),
    "exfil-image": ({"image": "registry.attacker.example/prints-env:1"}, "spec.image"),
    "link-redirect": ({"publicURL": "https://links.attacker.example"}, "spec.publicURL"),
    "other-key": ({"credentialsSecretRef": {"name": "coviu-credentials", "clientSecretKey": "patient_note"}},
                  "spec.credentialsSecretRef: Secret {ns}/coviu-credentials: key 'patient_note' is not shared"),
    "other-secret": ({"credentialsSecretRef": {"name": "payments", "clientIdKey": "api_key"}},
                     "spec.credentialsSecretRef: Secret {ns}/payments is not shared for this use"),
    "copy-token": ({"tokenSecretRef": {"name": "payments", "key": "api_key"}},
                   "spec.tokenSecretRef: Secret {ns}/payments is not shared for this use"),
    "wrong-use": ({"requireApiTokenAuth": True, "apiTokenSecretRef": {"name": "coviu-credentials"}},
                  "spec.apiTokenSecretRef: Secret {ns}/coviu-credentials is not shared for this use"),
    "pod-escape": ({"podTemplate": {
        "annotations": {"container.apparmor.security.beta.kubernetes.io/mcp-server": "unconfined"},
        "labels": {"app": "payments"},
        "tolerations": [{"operator": "Exists"}],
        "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
    }}, "spec.podTemplate.annotations: 'container.apparmor.security.beta.kubernetes.io/mcp-server' not allowed"),
}


async def _blocked(cluster: Cluster, name: str) -> dict[str, Any] | None:
    ready = await cluster.condition(name, "Ready")
    return ready if ready.get("reason") == "PolicyViolation" else None


async def test_a_manifest_cannot_send_credentials_or_secrets_anywhere_the_installer_did_not_allow(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    apply(control_plane, namespace, creds(namespace, client_secret=CLIENT_SECRET, patient_note=PATIENT),
          secret("payments", api_key=STRIPE_KEY), server(namespace, "good"))
    await eventually(lambda: cluster.ready("good"), what="the allowed server to be Ready")
    apply(control_plane, namespace, *(server(namespace, name, **spec) for name, (spec, _) in ATTACKS.items()))

    for name, (_, field) in ATTACKS.items():
        ready = await eventually(lambda name=name: _blocked(cluster, name), what=f"{name}: PolicyViolation")
        assert field.format(ns=namespace) in ready["message"], (name, ready["message"])
        assert await cluster.get("Deployment", f"{name}-mcp") is None, f"{name} was deployed"
        assert await cluster.get("Secret", f"{name}-mcp-token") is None, f"{name} got a token Secret"
    message = (await cluster.condition("pod-escape", "Ready"))["message"]
    for field in ("labels: 'app'", "tolerations[0].key: an empty key", "nodeSelector: 'node-role"):
        assert field in message, "every refused field is named at once"
    events = json.loads(control_plane.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    warned = {
        e["involvedObject"]["name"] for e in events if e["reason"] == "PolicyViolation" and e["type"] == "Warning"
    }
    assert warned == set(ATTACKS)

    # A running server whose URL is moved to the attacker's host keeps its allowed Deployment.
    merge_patch(control_plane, namespace, "cmcp/good", {"spec": {"apiBaseURL": "https://collector.attacker.example/v1"}})
    await eventually(lambda: _blocked(cluster, "good"), what="the moved server to be refused")
    env = (await cluster.must("Deployment", "good-mcp"))["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "COVIU_API_BASE_URL", "value": "https://api.coviu.com/v1"} in env


# How a Secret's owner withdraws a share, and what the server's Ready message then says is missing.
WITHDRAWALS: dict[str, tuple[list[str], str]] = {
    "unlabelled": (["label", f"{SECRET_USE_LABEL}-"], "is not shared for this use"),
    "unnamed": (["annotate", "--overwrite", f"{SECRET_SERVERS_ANNOTATION}=someone-else"],
                "is not shared with CoviuMCPServer unnamed"),
    "unkeyed": (["annotate", "--overwrite", f"{SECRET_KEYS_ANNOTATION}=client_id"], "key 'client_secret'"),
}


def _own_credentials(namespace: str, server_name: str) -> dict[str, Any]:
    """Credentials shared with `server_name` only, in a Secret of their own."""
    body = credentials_secret(namespace, f"creds-{server_name}", client_secret=CLIENT_SECRET)
    body["metadata"]["annotations"][SECRET_SERVERS_ANNOTATION] = server_name
    del body["metadata"]["namespace"]
    return body


async def _reason(cluster: Cluster, name: str, reason: str) -> dict[str, Any] | None:
    ready = await cluster.condition(name, "Ready")
    return ready if ready.get("reason") == reason else None


async def test_a_withdrawn_share_stops_the_pods_that_hold_it_and_restoring_it_redeploys(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    """The Secret's owner decides: once a share a running server uses is withdrawn (label removed,
    server no longer named, key no longer listed), no Pod may keep the credentials. A manifest
    writer's bad edit (`moved`, to a key not shared with it) keeps the last good Deployment."""
    names = [*WITHDRAWALS, "moved"]
    apply(control_plane, namespace, *(_own_credentials(namespace, name) for name in names),
          *(server(namespace, name, credentialsSecretRef={"name": f"creds-{name}"}) for name in names))
    for name in names:
        await eventually(lambda name=name: cluster.ready(name), what=f"{name} Ready")
    tokens = {name: await cluster.token(name) for name in names}

    for name, (change, _) in WITHDRAWALS.items():
        control_plane.kubectl(change[0], "-n", namespace, f"secret/creds-{name}", *change[1:])
    merge_patch(control_plane, namespace, "cmcp/moved", {"spec": {"credentialsSecretRef": {"clientSecretKey": "note"}}})

    for name, (_, missing) in WITHDRAWALS.items():
        ready = await eventually(lambda name=name: _reason(cluster, name, "SecretShareWithdrawn"),
                                 what=f"{name}: SecretShareWithdrawn")
        assert f"Secret {namespace}/creds-{name}" in ready["message"] and missing in ready["message"], ready
        await eventually(lambda name=name: _gone(cluster, f"{name}-mcp"), what=f"{name}: its Deployment removed")
        assert "url" not in (await cluster.must("CoviuMCPServer", name)).get("status", {})
    await eventually(lambda: _reason(cluster, "moved", "PolicyViolation"), what="moved: PolicyViolation")
    env = (await cluster.must("Deployment", "moved-mcp"))["spec"]["template"]["spec"]["containers"][0]["env"]
    assert '"key": "client_secret"' in json.dumps(env), "the last good Deployment keeps running"
    events = json.loads(control_plane.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)["items"]
    warned = {e["involvedObject"]["name"] for e in events
              if e["reason"] == "SecretShareWithdrawn" and e["type"] == "Warning"}
    assert warned == set(WITHDRAWALS)

    apply(control_plane, namespace, *(_own_credentials(namespace, name) for name in WITHDRAWALS))
    control_plane.kubectl("annotate", "-n", namespace, "secret/creds-unkeyed", f"{SECRET_KEYS_ANNOTATION}-")
    for name in WITHDRAWALS:
        await eventually(lambda name=name: cluster.ready(name), what=f"{name} redeployed once shared again")
        assert await cluster.token(name) == tokens[name], "the same URL works again"


async def _gone(cluster: Cluster, name: str) -> bool:
    return await cluster.get("Deployment", name) is None


@pytest.mark.parametrize(("overrides", "fragment"), REFUSED_AT_ADMISSION)
def test_the_api_server_refuses_credentials_in_clear_and_unbounded_dates(
    control_plane: ControlPlane, namespace: str, crd: None, overrides: dict[str, Any], fragment: str,
) -> None:
    """Issue 14, attacks 1 and 7: what CEL can see never reaches the operator."""
    try:
        apply(control_plane, namespace, server(namespace, "refused", **overrides))
        raise AssertionError(f"the API server accepted {overrides}")
    except KubectlError as exc:
        assert fragment in str(exc), str(exc)


TENANT = "tenant-manifest-writer"


def _tenant_role(namespace: str) -> list[dict[str, Any]]:
    """What a tenant team gets: write CoviuMCPServers, read what they produce, never Secrets."""
    read = ["get", "list", "watch"]
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": TENANT, "namespace": namespace},
        "rules": [
            {"apiGroups": ["mcp.coviu.dev"], "resources": ["coviumcpservers"],
             "verbs": [*read, "create", "patch", "update", "delete"]},
            {"apiGroups": ["mcp.coviu.dev"], "resources": ["coviumcpservers/status"], "verbs": read},
            {"apiGroups": [""], "resources": ["events", "pods", "services", "serviceaccounts", "configmaps"],
             "verbs": read},
            {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": read},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": read},
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": TENANT, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": TENANT},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": TENANT}],
    }
    return [role, binding]


def _forms(value: str) -> set[str]:
    return {value, base64.b64encode(value.encode()).decode(), hashlib.sha256(value.encode()).hexdigest()}


async def test_a_tenant_who_cannot_read_secrets_obtains_no_secret_value_through_any_field(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
) -> None:
    apply(control_plane, namespace, creds(namespace, client_secret=CLIENT_SECRET, patient_note=PATIENT),
          secret("payments", api_key=STRIPE_KEY, token=STRIPE_KEY.replace("_", "-")), *_tenant_role(namespace))
    kubeconfig = str(control_plane.user_kubeconfig(TENANT))

    def tenant(*args: str, **kwargs: Any) -> str:
        return control_plane.kubectl("--kubeconfig", kubeconfig, "-n", namespace, *args, **kwargs).stdout

    try:
        tenant("get", "secret", "payments")
        raise AssertionError("the tenant can read Secrets: the test proves nothing")
    except KubectlError as exc:
        assert "forbidden" in str(exc).lower()

    attacks = {name: spec for name, (spec, _) in ATTACKS.items()}
    attacks["byo-payments"] = {"tokenSecretRef": {"name": "payments"}}
    attacks["api-payments"] = {"requireApiTokenAuth": True, "apiTokenSecretRef": {"name": "payments"}}
    manifests = [server(namespace, name, **spec) for name, spec in attacks.items()]
    tenant("apply", "-f", "-", input=yaml.safe_dump_all([*manifests, server(namespace, "allowed")]))
    await eventually(lambda: cluster.ready("allowed"), what="the tenant's allowed server to be Ready")
    for name in attacks:
        await eventually(lambda name=name: _blocked(cluster, name), what=f"{name}: PolicyViolation")

    readable = {kind: tenant("get", kind, "-o", "json") for kind in [
        "coviumcpservers", "events", "events.events.k8s.io", "deployments", "replicasets", "pods",
        "services", "serviceaccounts", "configmaps"]}
    readable["describe"] = tenant("describe", "coviumcpservers")
    forbidden = _forms(STRIPE_KEY) | _forms(STRIPE_KEY.replace("_", "-")) | _forms(CLIENT_SECRET) | _forms(PATIENT)
    leaks = [f"{kind} holds {form!r}" for kind, text in readable.items() for form in forbidden if form in text]
    assert not leaks, "\n".join(leaks)

    # Nothing the tenant can run or read references a Secret that was not shared with it.
    shared = {"coviu-credentials", "allowed-mcp-token"}
    for deployment in json.loads(readable["deployments"])["items"]:
        pod = deployment["spec"]["template"]["spec"]
        refs = {env["valueFrom"]["secretKeyRef"]["name"] for c in pod["containers"] for env in c.get("env", [])
                if "secretKeyRef" in env.get("valueFrom", {})}
        assert deployment["metadata"]["name"] == "allowed-mcp", "only the allowed server is deployed"
        assert refs <= shared | {"allowed-mcp-link-key"}, refs
    unlabelled = control_plane.kubectl("get", "secret", "-n", namespace, "payments", "-o", "json").stdout
    assert SECRET_USE_LABEL not in unlabelled


async def test_the_api_server_sends_the_operator_only_shared_secrets(
    control_plane: ControlPlane, namespace: str, cluster: Cluster, operator: OperatorThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 14, attack 8: the Secret watch is filtered by the API server on the share label, so a
    Secret nobody shared never reaches the operator, not even as a watch event it ignores."""
    caplog.set_level(logging.DEBUG)
    apply(control_plane, namespace, secret("payments", api_key=STRIPE_KEY),
          _own_credentials(namespace, "watched"), server(namespace, "watched", credentialsSecretRef={
              "name": "creds-watched"}))
    await eventually(lambda: cluster.ready("watched"), what="watched Ready")
    control_plane.kubectl("annotate", "-n", namespace, "secret/payments", "secret/creds-watched", "touched=1")

    def seen(name: str) -> bool:  # kopf logs every handler it runs with the object's reference
        wanted = {"kind": "Secret", "namespace": namespace, "name": name}
        return any(wanted.items() <= (getattr(r, "k8s_ref", None) or {}).items() for r in caplog.records)

    await eventually(lambda: _true(seen("creds-watched")), what="the shared Secret's events to arrive")
    assert not seen("payments"), "an unshared Secret reached the operator"


async def _true(value: bool) -> bool:
    return value
