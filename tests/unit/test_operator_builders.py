"""The manifests a server is made of: exact expected objects, and the proxy contract they honour."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from coviu_mcp.config import ServerSettings
from coviu_operator import builders
from coviu_operator.models import Server
from coviu_operator.secrets import sha256_hex
from coviu_operator.settings import OperatorSettings
from coviu_testbed.operator import credentials_secret, secret_body, server_body
from coviu_testbed.podenv import UnresolvedEnvError, resolve_env

TOKEN = "t" * 43
HASH = "c" * 64
OWNER = {"apiVersion": "mcp.coviu.dev/v1alpha1", "kind": "CoviuMCPServer", "name": "demo", "uid": "uid-1",
         "controller": True, "blockOwnerDeletion": True}
LABELS = {"app.kubernetes.io/name": "coviu-mcp-server", "app.kubernetes.io/instance": "demo",
          "app.kubernetes.io/component": "mcp-server", "app.kubernetes.io/managed-by": "coviu-mcp-operator",
          "mcp.coviu.dev/server": "demo"}
SELECTOR = {"app.kubernetes.io/name": "coviu-mcp-server", "app.kubernetes.io/instance": "demo"}


@pytest.fixture
def settings() -> OperatorSettings:
    """Built per test, from the environment the tests run in (cleared in tests/conftest.py)."""
    return OperatorSettings()


def server(**spec: Any) -> Server:
    return Server.parse(server_body("demo", "clinic", spec, uid="uid-1"))


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "clinic", "labels": LABELS, "ownerReferences": [OWNER], **extra}


def secret_meta(name: str, **extra: Any) -> dict[str, Any]:
    """A Secret of the operator's own carries the label its Secret watch selects."""
    return meta(name, **extra) | {"labels": {**LABELS, "mcp.coviu.dev/secret-use": "operator"}}


def secret_ref(name: str, secret: str, key: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, **extra}}}


def test_the_deployment_is_exactly_the_hardened_proxy(settings: OperatorSettings) -> None:
    hosts = [h for n in ("demo-mcp", "demo-mcp.clinic", "demo-mcp.clinic.svc", "demo-mcp.clinic.svc.cluster.local")
             for h in (n, f"{n}:80")]
    probe = {"periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 3}
    assert builders.deployment(server(), settings, HASH) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("demo-mcp", annotations={"mcp.coviu.dev/shares":  # the shares it uses (withdrawal.py)
                                                  '[["credentials","coviu-credentials",'
                                                  '["client_id","client_secret","refresh_token"]]]'}),
        "spec": {
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": SELECTOR},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": LABELS, "annotations": {"mcp.coviu.dev/config-hash": HASH}},
                "spec": {
                    "serviceAccountName": "demo-mcp",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "mcp-server",
                        "image": settings.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["coviu-mcp-server"],
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "admin", "containerPort": 9090, "protocol": "TCP"}],
                        "env": [
                            {"name": "COVIU_API_BASE_URL", "value": "https://api.coviu.com/v1"},
                            secret_ref("COVIU_CLIENT_ID", "coviu-credentials", "client_id"),
                            secret_ref("COVIU_CLIENT_SECRET", "coviu-credentials", "client_secret"),
                            secret_ref("COVIU_REFRESH_TOKEN", "coviu-credentials", "refresh_token", optional=True),
                            secret_ref("MCP_TOKEN_SHA256", "demo-mcp-token", "token_sha256"),
                            secret_ref("MCP_PREVIOUS_TOKEN_SHA256", "demo-mcp-token", "previous_token_sha256",
                                       optional=True),
                            secret_ref("MCP_PREVIOUS_TOKEN_UNTIL", "demo-mcp-token", "previous_token_until",
                                       optional=True),
                            secret_ref("MCP_LINK_SIGNING_KEY", "demo-mcp-link-key", "key"),
                            {"name": "MCP_REQUIRE_API_TOKEN", "value": "false"},
                            {"name": "MCP_ALLOWED_HOSTS", "value": ",".join(hosts)},
                            {"name": "PORT", "value": "8080"},
                            {"name": "MCP_ADMIN_PORT", "value": "9090"},
                        ],
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "admin"}, **probe},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "admin"}, **probe,
                                          "periodSeconds": 10},
                        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def test_the_service_and_service_account() -> None:
    assert builders.service(server()) == {
        "apiVersion": "v1", "kind": "Service", "metadata": meta("demo-mcp"),
        "spec": {"type": "ClusterIP", "selector": SELECTOR,
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
    }
    assert builders.service_account(server()) == {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("demo-mcp"),
        "automountServiceAccountToken": False,
    }


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def test_the_token_secret_holds_the_token_the_url_and_the_digest(settings: OperatorSettings) -> None:
    secret = builders.token_secret(server(), settings, TOKEN, None, ())
    assert secret["metadata"] == secret_meta("demo-mcp-token")
    assert decoded(secret) == {
        "token": TOKEN,
        "url": f"http://demo-mcp.clinic.svc.cluster.local/mcp/{TOKEN}",
        "token_sha256": sha256_hex(TOKEN),
    }


def test_the_token_secret_records_the_rotation_and_the_api_token_digests(settings: OperatorSettings) -> None:
    spec = {"requireApiTokenAuth": True, "apiTokenSecretRef": {"name": "api"},
            "publicURL": "https://mcp.example.com/clinic/"}
    secret = builders.token_secret(server(**spec), settings, TOKEN, "r2", ("a" * 64, "b" * 64))
    assert secret["metadata"]["annotations"] == {"mcp.coviu.dev/rotation": "r2"}
    assert decoded(secret)["api_token_sha256s"] == f"{'a' * 64},{'b' * 64}"
    assert decoded(secret)["url"] == f"https://mcp.example.com/clinic/mcp/{TOKEN}"


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_optional_spec_fields_become_proxy_settings(settings: OperatorSettings) -> None:
    built = builders.deployment(server(
        methods=["read", "create_a_coviu_session"], tags=["triage", "clinical"],
        expiresAt="2030-01-01T00:00:00+00:00", publicURL="https://mcp.example.com",
        requireApiTokenAuth=True, apiTokenSecretRef={"name": "api"},
    ), settings, HASH)
    env = env_of(built)
    assert env["MCP_METHODS"]["value"] == "read,create_a_coviu_session"
    assert env["MCP_TAGS"]["value"] == "triage,clinical"
    assert env["MCP_EXPIRES_AT"]["value"] == "2030-01-01T00:00:00Z"
    assert env["MCP_PUBLIC_URL"]["value"] == "https://mcp.example.com"
    assert env["MCP_REQUIRE_API_TOKEN"]["value"] == "true"
    assert env["MCP_API_TOKEN_SHA256S"] == secret_ref("MCP_API_TOKEN_SHA256S", "demo-mcp-token", "api_token_sha256s")


def test_the_ingress_addresses_let_the_proxy_throttle_per_real_client(settings: OperatorSettings) -> None:
    assert "MCP_FORWARDED_ALLOW_IPS" not in env_of(builders.deployment(server(), settings, HASH))
    behind_proxies = settings.model_copy(update={"forwarded_allow_ips": ("10.0.0.0/8", "192.168.1.7")})
    env = env_of(builders.deployment(server(), behind_proxies, HASH))
    assert env["MCP_FORWARDED_ALLOW_IPS"]["value"] == "10.0.0.0/8,192.168.1.7"


def all_options() -> Server:
    return server(methods=["read"], tags=["triage"], expiresAt="2030-01-01T00:00:00Z",
                  publicURL="https://mcp.example.com", requireApiTokenAuth=True, apiTokenSecretRef={"name": "api"},
                  credentialsSecretRef={"name": "coviu-credentials", "clientIdKey": "id"})


def test_every_variable_set_is_part_of_the_proxy_contract(settings: OperatorSettings) -> None:
    known = {field.alias for field in ServerSettings.model_fields.values()}
    assert set(env_of(builders.deployment(all_options(), settings, HASH))) <= known


def test_the_link_signing_key_has_a_secret_of_its_own_and_probes_use_the_admin_port(settings: OperatorSettings) -> None:
    """The token Secret is readable by whoever may read the MCP URL; the signing key must not be."""
    key = "k" * 43
    secret = builders.link_key_secret(server(), key)
    assert secret["metadata"] == secret_meta("demo-mcp-link-key") and decoded(secret) == {"key": key}
    assert key not in repr(builders.token_secret(server(), settings, TOKEN, None, ()))
    container = builders.deployment(server(), settings, HASH)["spec"]["template"]["spec"]["containers"][0]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"admin": 9090, "http": 8080}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert builders.service(server())["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}], "MCP clients never reach admin"


def test_the_resolved_environment_is_a_valid_proxy_configuration(settings: OperatorSettings) -> None:
    built = builders.deployment(all_options(), settings, HASH)
    secrets = {
        "coviu-credentials": credentials_secret("clinic", id="the-client-id", client_secret="the-secret"),
        "demo-mcp-token": builders.token_secret(all_options(), settings, TOKEN, None, ("a" * 64,)),
        "demo-mcp-link-key": builders.link_key_secret(all_options(), "k" * 43),
    }
    proxy = ServerSettings.model_validate(resolve_env(built, secrets))
    assert proxy.client_id == "the-client-id"
    assert proxy.client_secret.get_secret_value() == "the-secret"
    assert proxy.refresh_token is None  # optional key absent from the Secret
    assert proxy.token_sha256 == sha256_hex(TOKEN)
    assert proxy.api_token_sha256s == ("a" * 64,)
    assert "demo-mcp.clinic.svc.cluster.local:80" in proxy.allowed_hosts
    assert proxy.port == 8080


def test_no_secret_value_is_written_into_the_deployment(settings: OperatorSettings) -> None:
    built = repr(builders.deployment(all_options(), settings, HASH))
    for value in ("the-client-id", "the-secret", TOKEN):
        assert value not in built


def test_resolving_a_missing_required_key_fails_loudly(settings: OperatorSettings) -> None:
    built = builders.deployment(server(), settings, HASH)
    with pytest.raises(UnresolvedEnvError, match="MCP_TOKEN_SHA256"):
        resolve_env(built, {"coviu-credentials": credentials_secret("clinic"), "demo-mcp-token": secret_body("x")})


def test_pod_template_overrides_are_applied_and_our_labels_win(settings: OperatorSettings) -> None:
    built = builders.deployment(server(podTemplate={
        "labels": {"team": "triage", "app.kubernetes.io/instance": "spoofed"},
        "annotations": {"prometheus.io/scrape": "true"},
        "nodeSelector": {"pool": "mcp"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "mcp", "effect": "NoSchedule"}],
        "priorityClassName": "high",
        "imagePullSecrets": [{"name": "registry"}],
    }), settings, HASH)
    template = built["spec"]["template"]
    assert template["metadata"]["labels"] == {"team": "triage", **LABELS}
    assert template["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "mcp.coviu.dev/config-hash": HASH}
    pod = template["spec"]
    assert pod["nodeSelector"] == {"pool": "mcp"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "mcp", "effect": "NoSchedule"}]
    assert pod["priorityClassName"] == "high"
    assert pod["imagePullSecrets"] == [{"name": "registry"}]


def test_spec_image_replicas_and_resources_override_the_defaults(settings: OperatorSettings) -> None:
    built = builders.deployment(server(image="registry.example/mcp:2", replicas=3,
                                       resources={"limits": {"cpu": 1, "memory": "1Gi"}}), settings, HASH)
    container = built["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], built["spec"]["replicas"]) == ("registry.example/mcp:2", 3)
    assert container["resources"] == {"limits": {"cpu": 1, "memory": "1Gi"}}


def test_the_status_url_has_no_token_and_follows_the_public_url(settings: OperatorSettings) -> None:
    assert builders.status_url(server(), settings) == "http://demo-mcp.clinic.svc.cluster.local/mcp/"
    assert builders.status_url(server(publicURL="https://x.example/"), settings) == "https://x.example/mcp/"
    custom = OperatorSettings(cluster_domain="k8s.internal")
    assert builders.status_url(server(), custom) == "http://demo-mcp.clinic.svc.k8s.internal/mcp/"
