"""The ValidatingAdmissionPolicy generated from the catalog (coviu_operator.admission).

What it admits and the messages it writes are checked on the real API server
(tests/k8s/test_admission_policy.py); here: the committed copy is the generated one, and the
policy carries the whole catalog.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from coviu_catalog import load_catalog, tool_name
from coviu_operator.admission import build_policy, render
from coviu_testbed.cluster.binaries import binary

CHART = Path(__file__).parents[2] / "charts" / "coviu-mcp-operator"
POLICY_FILE = CHART / "files" / "admission-policy.yaml"


def test_the_committed_policy_is_the_generated_one() -> None:
    assert POLICY_FILE.read_text() == render(), (
        "charts/coviu-mcp-operator/files/admission-policy.yaml is stale: run `make admission-policy`")


def test_every_tool_and_tag_of_the_catalog_is_in_the_policy() -> None:
    variables = {v["name"]: v["expression"] for v in build_policy()["spec"]["variables"]}
    catalog = load_catalog()
    for record in catalog.records:
        assert f'"{tool_name(record)}"' in variables["unknownMethods"]
        assert f'"{tool_name(record)}"' in variables["records"]
    for tag in catalog.tags:
        assert f'"{tag}"' in variables["unknownTags"]


def render_chart(*args: str) -> list[dict[str, Any]]:
    out = subprocess.run([str(binary("helm")), "template", "cmcp", str(CHART), *args],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc and doc["apiVersion"].startswith("admissionregistration")]


def test_the_chart_ships_the_policy_bound_to_the_served_namespaces() -> None:
    policy, binding = render_chart("--set", "watch.scope=namespaced", "--set", "watch.namespaces={a,b}")
    assert policy["spec"] == build_policy()["spec"]
    assert binding["spec"]["policyName"] == policy["metadata"]["name"] == "cmcp-coviu-mcp-operator-coviumcpservers"
    assert binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["a", "b"]}]
    assert "matchResources" not in render_chart("--set", "watch.scope=cluster")[1]["spec"]  # every namespace


def test_the_policy_is_left_out_when_switched_off_or_too_old() -> None:
    assert render_chart("--set", "admissionPolicy.enabled=false") == []
    assert render_chart("--kube-version", "1.33.0") == []  # no CEL list library there
