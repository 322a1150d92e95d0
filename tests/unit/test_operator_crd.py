"""crds/coviumcpservers.yaml: generated from the models, structural, and agreeing with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from coviu_operator.crd import build_crd, render
from tests.unit.test_operator_models import EXAMPLES, INVALID_BY_RULE, INVALID_SPECS, spec

CRD_FILE = Path(__file__).parents[2] / "crds" / "coviumcpservers.yaml"
VERSION = build_crd()["spec"]["versions"][0]
SCHEMA = VERSION["schema"]["openAPIV3Schema"]
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_the_committed_crd_is_the_generated_one() -> None:
    assert CRD_FILE.read_text() == render(), (
        "crds/coviumcpservers.yaml is stale: run `.venv/bin/python -m coviu_operator.crd > crds/coviumcpservers.yaml`")


def test_identity_status_subresource_and_columns() -> None:
    crd = build_crd()
    assert crd["metadata"]["name"] == "coviumcpservers.mcp.coviu.dev"
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["shortNames"] == ["cmcp"]
    assert VERSION["name"] == "v1alpha1" and VERSION["subresources"] == {"status": {}}
    default_columns = [col["name"] for col in VERSION["additionalPrinterColumns"] if "priority" not in col]
    assert default_columns == ["Ready", "Tools", "Expires", "Expired", "Age"]


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def test_the_schema_is_structural() -> None:
    for path, node in walk(SCHEMA):
        assert "$ref" not in node and "title" not in node, path
        assert node.get("additionalProperties") is not False, path
        assert {"type": "null"} not in node.get("anyOf", []), path
        if "anyOf" in node:
            assert node.get("x-kubernetes-int-or-string") is True, f"{path}: anyOf only for int-or-string"


def test_every_spec_field_is_documented() -> None:
    for path, node in walk(SCHEMA["properties"]["spec"]):
        for name, prop in node.get("properties", {}).items():
            assert prop.get("description"), f"{path}.{name} has no description"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_are_valid_against_the_crd(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] == "CoviuMCPServer":
            VALIDATOR.validate(doc)


@pytest.mark.parametrize(("overrides", "fragment"), [case for case in INVALID_SPECS if "unknownField" not in case[0]])
def test_the_crd_refuses_what_the_model_refuses(overrides: dict[str, Any], fragment: str) -> None:
    obj = {"apiVersion": "mcp.coviu.dev/v1alpha1", "kind": "CoviuMCPServer", "metadata": {"name": "demo"},
           "spec": spec(**overrides)}
    assert not VALIDATOR.is_valid(obj), f"the CRD accepts what the model refuses ({fragment})"


@pytest.mark.parametrize(("overrides", "fragment"), INVALID_BY_RULE)
def test_cross_field_rules_are_cel_rules_of_the_crd(overrides: dict[str, Any], fragment: str) -> None:
    rules = SCHEMA["properties"]["spec"]["x-kubernetes-validations"]
    assert any(fragment in rule["message"] for rule in rules)


def test_the_account_binding_is_immutable_and_names_are_bounded() -> None:
    creds = SCHEMA["properties"]["spec"]["properties"]["credentialsSecretRef"]
    assert creds["x-kubernetes-validations"][0]["rule"] == "self.name == oldSelf.name"
    assert "size(self.metadata.name) <= 53" in SCHEMA["x-kubernetes-validations"][0]["rule"]
