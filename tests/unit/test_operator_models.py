"""The CoviuMCPServer spec model: what parses, what is refused, and the names users write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from coviu_operator.models import Server, Spec
from coviu_testbed.operator import server_body

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))

# (spec overrides, fragment of the error): each must be refused by the model and the CRD alike.
INVALID_SPECS: list[tuple[dict[str, Any], str]] = [
    ({"credentialsSecretRef": None}, "credentialsSecretRef"),
    ({"credentialsSecretRef": {"name": "Not_A_Name"}}, "name"),
    ({"replicas": 0}, "replicas"),
    ({"replicas": 11}, "replicas"),
    ({"methods": []}, "methods"),
    ({"methods": ["Read"]}, "methods"),
    ({"methods": ["read; drop"]}, "methods"),
    ({"tags": ["Triage"]}, "tags"),
    ({"apiBaseURL": "ftp://api.coviu.com"}, "apiBaseURL"),
    ({"publicURL": "mcp.example.com"}, "publicURL"),
    ({"expiresAt": "next tuesday"}, "expiresAt"),
    ({"tokenSecretRef": {"name": "byo", "key": "a key"}}, "key"),
    ({"podTemplate": {"tolerations": [{"operator": "Maybe"}]}}, "operator"),
    ({"resources": {"limits": {"memory": "lots"}}}, "limits"),
    ({"image": "has space"}, "image"),
    ({"unknownField": 1}, "unknownField"),
]
# Cross-field rules, enforced by CEL in the CRD.
INVALID_BY_RULE: list[tuple[dict[str, Any], str]] = [
    ({"requireApiTokenAuth": True}, "apiTokenSecretRef is required"),
]


def spec(**overrides: Any) -> dict[str, Any]:
    body = server_body("demo", "clinic")["spec"]
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_server_parses(path: Path) -> None:
    servers = [doc for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] == "CoviuMCPServer"]
    assert servers
    for doc in servers:
        Spec.model_validate(doc["spec"])


def test_field_names_are_the_ones_users_write() -> None:
    parsed = Spec.model_validate(spec(apiBaseURL="http://sandbox:8000/v1", publicURL="https://mcp.example.com",
                                      requireApiTokenAuth=True, apiTokenSecretRef={"name": "api"}))
    assert parsed.api_base_url == "http://sandbox:8000/v1"
    assert parsed.public_url == "https://mcp.example.com"
    assert parsed.api_token_secret_ref is not None and parsed.api_token_secret_ref.name == "api"
    assert parsed.credentials_secret_ref.client_secret_key == "client_secret"
    assert parsed.model_dump(by_alias=True, exclude_none=True)["apiBaseURL"] == "http://sandbox:8000/v1"


@pytest.mark.parametrize(("overrides", "fragment"), INVALID_SPECS + INVALID_BY_RULE)
def test_invalid_specs_are_refused(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Spec.model_validate(spec(**overrides))


def test_an_expiry_needs_a_time_zone() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        Spec.model_validate(spec(expiresAt="2030-01-01T00:00:00"))


def test_the_object_needs_a_uid_for_owner_references() -> None:
    with pytest.raises(ValidationError, match="uid"):
        Server.parse(server_body())
    server = Server.parse(server_body(uid="u-1"))
    assert server.owner_reference() == {
        "apiVersion": "mcp.coviu.dev/v1alpha1", "kind": "CoviuMCPServer", "name": "demo", "uid": "u-1",
        "controller": True, "blockOwnerDeletion": True,
    }


def test_models_are_frozen() -> None:
    parsed = Spec.model_validate(spec())
    with pytest.raises(ValidationError):
        parsed.replicas = 2


# Refused at admission by the CRD's CEL rules (tests/k8s/test_operator_policy.py applies them to a
# real API server) and by the model, so an object stored before the rules existed is reported.
REFUSED_AT_ADMISSION: list[tuple[dict[str, Any], str]] = [
    ({"apiBaseURL": "http://collector.attacker.example/v1"}, "apiBaseURL must be https"),
    ({"apiBaseURL": "http://api.coviu.com/v1"}, "apiBaseURL must be https"),
    ({"apiBaseURL": "https://api.coviu.com@attacker.example/v1"}, "apiBaseURL"),
    ({"expiresAt": "9999-12-31T23:59:59-14:00"}, "expiresAt must be between"),
    ({"expiresAt": "0001-01-01T00:00:00+14:00"}, "expiresAt must be between"),
    ({"expiresAt": "2200-01-01T00:00:00Z"}, "expiresAt must be between"),
]


@pytest.mark.parametrize(("overrides", "fragment"), REFUSED_AT_ADMISSION)
def test_credentials_in_clear_and_unbounded_dates_are_refused(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Spec.model_validate(spec(**overrides))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8090/v1", "http://coviu-sandbox/v1",
                                 "http://coviu-sandbox.sandbox.svc.cluster.local:8080/v1", "https://api.coviu.com/v1"])
def test_plain_http_is_accepted_only_in_the_cluster(url: str) -> None:
    assert Spec.model_validate(spec(apiBaseURL=url)).api_base_url == url
