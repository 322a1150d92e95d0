"""The installer's policy (coviu_operator.policy): what a manifest writer cannot make the operator do."""

from __future__ import annotations

from typing import Any

import kopf
import pytest

from coviu_operator import handlers
from coviu_operator.errors import InputError
from coviu_operator.models import Server
from coviu_operator.names import (
    API_TOKENS_USE,
    CREDENTIALS_USE,
    SECRET_KEYS_ANNOTATION,
    SECRET_USE_LABEL,
    URL_TOKEN_USE,
)
from coviu_operator.policy import (
    REASON,
    api_base_url_allowed,
    check_spec,
    public_host_allowed,
    shared,
    use_credentials,
)
from coviu_operator.settings import OperatorSettings
from coviu_testbed.operator import credentials_secret, secret_body, server_body
from coviu_testbed.operator import shared as share

SANDBOX = ("coviu-sandbox.sandbox.svc",)


def server(name: str = "demo", **spec: Any) -> Server:
    return Server.parse(server_body(name, "clinic", spec, uid="uid-1"))


def refused(server: Server) -> str:
    with pytest.raises(InputError) as caught:
        check_spec(server, OperatorSettings())
    assert caught.value.reason == REASON
    return caught.value.message


@pytest.mark.parametrize(("url", "sandbox_hosts", "allowed"), [
    ("https://api.coviu.com/v1", (), True),
    ("https://api.coviu.com/v1/", (), True),
    ("http://api.coviu.com/v1", (), False),  # the right host, but in clear
    ("https://api.coviu.com.attacker.example/v1", (), False),
    ("https://attacker.example/v1", (), False),
    ("http://coviu-sandbox.sandbox.svc/v1", (), False),  # a sandbox only when listed
    ("http://coviu-sandbox.sandbox.svc:8090/v1", SANDBOX, True),
    ("http://x@coviu-sandbox.sandbox.svc/v1", SANDBOX, False),
    ("http://coviu-sandbox.sandbox.svc.attacker.example/v1", SANDBOX, False),
])
def test_credentials_go_only_to_the_installers_api_base_urls(url: str, sandbox_hosts: tuple[str, ...],
                                                             allowed: bool) -> None:
    assert api_base_url_allowed(url, OperatorSettings(sandbox_hosts=sandbox_hosts)) is allowed


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://mcp.clinic-a.example.com", True), ("https://clinic-b.mcp.example.net/", True),
    ("https://mcp.example.net", False), ("https://links.attacker.example", False),
    ("https://mcp.clinic-a.example.com.attacker.example", False),
])
def test_download_links_point_only_at_the_installers_hosts(url: str, allowed: bool) -> None:
    settings = OperatorSettings(allowed_public_hosts=("mcp.clinic-a.example.com", "*.mcp.example.net"))
    assert public_host_allowed(url, settings) is allowed
    assert not public_host_allowed(url, OperatorSettings())


def test_every_refused_field_is_named_at_once() -> None:
    message = refused(server(apiBaseURL="https://attacker.example/v1", image="registry.example/evil:1",
                             publicURL="https://links.attacker.example", podTemplate={
        "labels": {"app": "payments"},
        "annotations": {"container.apparmor.security.beta.kubernetes.io/mcp-server": "unconfined"},
        "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
        "tolerations": [{"operator": "Exists"}, {"key": "node-role.kubernetes.io/control-plane"}],
        "priorityClassName": "system-cluster-critical",
    }))
    for field in ["spec.apiBaseURL: 'https://attacker.example/v1'", "spec.image: 'registry.example/evil:1'",
                  "spec.publicURL: 'https://links.attacker.example'",
                  "spec.podTemplate.labels: 'app'",
                  "spec.podTemplate.annotations: 'container.apparmor.security.beta.kubernetes.io/mcp-server'",
                  "spec.podTemplate.nodeSelector: 'node-role.kubernetes.io/control-plane'",
                  "spec.podTemplate.tolerations[0].key: an empty key (every taint)",
                  "spec.podTemplate.tolerations[1].key: 'node-role.kubernetes.io/control-plane'",
                  "spec.podTemplate.priorityClassName: 'system-cluster-critical'"]:
        assert field in message
    assert "COVIU_OPERATOR_ALLOWED_POD_ANNOTATIONS" in message


def test_what_the_installer_allows_passes() -> None:
    settings = OperatorSettings(allowed_images=("registry.example/mcp:2",), allowed_pod_labels=("team",),
                                allowed_public_hosts=("mcp.example.com",),
                                allowed_node_selector_keys=("pool",), allowed_toleration_keys=("dedicated",),
                                allowed_priority_classes=("mcp",), allowed_pod_annotations=("example.com/cost",))
    check_spec(server(image="registry.example/mcp:2", publicURL="https://mcp.example.com", podTemplate={
        "labels": {"team": "triage"}, "annotations": {"example.com/cost": "clinic-a"},
        "nodeSelector": {"pool": "mcp"}, "priorityClassName": "mcp",
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "mcp", "effect": "NoSchedule"}],
        "imagePullSecrets": [{"name": "regcred"}],
    }), settings)
    defaults = OperatorSettings()
    check_spec(server(image=defaults.image, resources={"limits": {"memory": "1Gi"}}), defaults)


def test_a_secret_is_used_only_as_its_owner_shared_it() -> None:
    demo = server()
    plain = secret_body("coviu-credentials", "clinic", client_id="a", client_secret="b")
    for secret, why in [
        (plain, "is not shared for this use"),
        (share(plain, API_TOKENS_USE), "is not shared for this use"),
        (share(plain, CREDENTIALS_USE, servers="other, another"), "is not shared with CoviuMCPServer demo"),
    ]:
        with pytest.raises(InputError, match=why):
            use_credentials(secret, demo)
    assert use_credentials(share(plain, CREDENTIALS_USE, servers="other, demo"), demo)
    assert shared(None, CREDENTIALS_USE, demo, "spec.credentialsSecretRef") is None


def test_only_shared_keys_are_read() -> None:
    secret = credentials_secret("clinic", patient_note="Zebediah Quillfeather")
    other_key = server(credentialsSecretRef={"name": "coviu-credentials", "clientSecretKey": "patient_note"})
    with pytest.raises(InputError, match=r"spec.credentialsSecretRef: .*key 'patient_note' is not shared"):
        use_credentials(secret, other_key)
    listed = {**secret, "metadata": {**secret["metadata"], "annotations": {
        **secret["metadata"]["annotations"], SECRET_KEYS_ANNOTATION: "client_id, patient_note, refresh_token"}}}
    assert use_credentials(listed, other_key)
    cut = shared(secret, CREDENTIALS_USE, server(), "f", ("client_id",))
    assert cut is not None and set(cut["data"]) == {"client_id", "client_secret"}
    tokens = share(secret_body("t", "clinic", token="x" * 40, other="y"), URL_TOKEN_USE)
    cut = shared(tokens, URL_TOKEN_USE, server(), "f", ("token",))
    assert cut is not None and set(cut["data"]) == {"token"}


def test_the_api_server_sends_the_operator_only_labelled_secrets() -> None:
    """Issue 14, attack 8: the Secret watch is filtered by the API server, not after the fact."""
    settings = kopf.OperatorSettings()
    handlers.configure(settings=settings)
    fields = {"version": "v1", "kind": "", "singular": "", "shortcuts": frozenset(), "categories": frozenset(),
              "subresources": frozenset(), "namespaced": True, "preferred": True, "verbs": frozenset()}
    secrets = kopf.Resource(group="", plural="secrets", **fields)
    deployments = kopf.Resource(group="apps", plural="deployments", **fields)
    assert list(settings.watching.label_selectors.collect(secrets)) == [SECRET_USE_LABEL]
    assert not list(settings.watching.label_selectors.collect(deployments))
