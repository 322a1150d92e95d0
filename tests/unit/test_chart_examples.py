"""The manifests users apply next to the chart: examples/ and the GitOps overlays.

Each CoviuMCPServer is checked against the CRD's OpenAPI schema and against the operator's
model (which also holds the CRD's CEL rules); each Secret that ships with an example is
checked the way the operator reads it. tests/k8s/test_chart_install.py applies them too.
"""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from coviu_operator.models import Server, Spec
from coviu_operator.names import API_VERSION, KIND
from coviu_operator.policy import use_api_tokens, use_credentials
from coviu_testbed.cluster.binaries import binary

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GITOPS = EXAMPLES / "gitops"
OVERLAYS = sorted(p for p in (GITOPS / "overlays").iterdir() if p.is_dir())
CRD = yaml.safe_load((ROOT / "crds" / "coviumcpservers.yaml").read_text())

Doc = dict[str, Any]


def kustomize(path: Path) -> list[Doc]:
    result = subprocess.run([str(binary("kubectl")), "kustomize", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, f"kubectl kustomize {path}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def docs_of(source: Path) -> list[Doc]:
    """The objects of an example file, or of a Kustomize overlay."""
    return kustomize(source) if source.is_dir() else [d for d in yaml.safe_load_all(source.read_text()) if d]


SOURCES = sorted(EXAMPLES.glob("*.yaml")) + OVERLAYS
IDS = [str(source.relative_to(EXAMPLES)) for source in SOURCES]


def as_read(secret: Doc) -> Doc:
    """A Secret manifest as the API returns it: stringData folded into base64 data."""
    data = dict(secret.get("data") or {})
    data |= {k: base64.b64encode(v.encode()).decode() for k, v in (secret.get("stringData") or {}).items()}
    return {**secret, "data": data}


def test_there_is_an_example_of_each_kind_of_server() -> None:
    specs = [Spec.model_validate(d["spec"]) for source in SOURCES for d in docs_of(source) if d["kind"] == KIND]
    assert any(s.methods == ["read"] and s.expires_at for s in specs)  # read-only, expiring
    assert any("write" in (s.methods or []) and s.expires_at for s in specs)  # write access, expiring
    assert any(s.require_api_token_auth for s in specs)
    assert any(s.token_secret_ref for s in specs)  # bring your own token (GitOps)


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_servers_match_the_crd_and_the_model_and_their_shipped_secrets(source: Path) -> None:
    docs = docs_of(source)
    servers = [d for d in docs if d["kind"] == KIND]
    assert servers, f"{source.name} has no {KIND}"
    (version,) = CRD["spec"]["versions"]
    secrets = {d["metadata"]["name"]: as_read(d) for d in docs if d["kind"] == "Secret"}
    for server in servers:
        assert server["apiVersion"] == API_VERSION
        jsonschema.validate(server, version["schema"]["openAPIV3Schema"])
        parsed = Server.parse({**server, "metadata": {**server["metadata"], "namespace": "default", "uid": "u"}})
        spec = parsed.spec
        # A Secret that ships with its server must be what the operator accepts, shared with it.
        if spec.credentials_secret_ref.name in secrets:
            use_credentials(secrets[spec.credentials_secret_ref.name], parsed)
        ref = spec.api_token_secret_ref
        if ref is not None and ref.name in secrets:
            use_api_tokens(secrets[ref.name], parsed)


def test_the_eight_hour_recipe_rewrites_the_committed_instant() -> None:
    path = EXAMPLES / "scheduling-write-8h.yaml"
    text = path.read_text()
    placeholder = re.search(r'sed "s/([^/]+)/\$\(date -u -d \'\+8 hours\'', text)
    assert placeholder is not None, "the sed one-liner is gone from the header"
    (server,) = [d for d in yaml.safe_load_all(text) if d]
    assert server["spec"]["expiresAt"] == placeholder.group(1)


def test_gitops_overlays_put_one_server_per_tenant_namespace_and_no_secret_in_git() -> None:
    namespaces = set()
    for overlay in OVERLAYS:
        docs = docs_of(overlay)
        assert [d["kind"] for d in docs] == [KIND], f"{overlay.name}: Git must not hold the Secrets"
        (server,) = docs
        assert server["metadata"]["namespace"] == overlay.name
        assert server["spec"]["tokenSecretRef"]["name"]
        namespaces.add(overlay.name)
    assert len(namespaces) >= 2
