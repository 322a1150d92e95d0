"""The CoviuMCPServer CustomResourceDefinition, generated from the pydantic models.

    python -m coviu_operator.crd > crds/coviumcpservers.yaml

Pydantic's JSON Schema is turned into a Kubernetes structural schema: references inlined,
optional fields unwrapped from anyOf-null, titles and `additionalProperties: false`
dropped (the API server prunes unknown fields instead). CEL rules and list types come from
`json_schema_extra` on the models, so the CRD and the models cannot drift; a unit test
compares this output with the committed file.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from pydantic import BaseModel

from .models import Spec, Status
from .names import (
    API_VERSION,
    CATEGORIES,
    CRD_NAME,
    GROUP,
    KIND,
    MAX_NAME_LENGTH,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    VERSION,
)

_DROPPED = {"title"}
_NULL = {"type": "null"}


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_structural(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        node = {**defs[node.pop("$ref").rsplit("/", 1)[-1]], **node}
    options = node.get("anyOf")
    if options and _NULL in options:
        rest = [option for option in options if option != _NULL]
        del node["anyOf"]
        if node.get("default", ...) is None:
            del node["default"]
        if len(rest) == 1:
            return _structural({**rest[0], **node}, defs)
        node["anyOf"] = rest
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if isinstance(node.get("description"), str):
        node["description"] = " ".join(node["description"].split())
    return {
        key: value if key in ("default", "enum", "x-kubernetes-validations") else _structural(value, defs)
        for key, value in node.items() if key not in _DROPPED
    }


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of a model, as the CRD embeds it."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    result: dict[str, Any] = _structural(raw, defs)
    return result


def _root_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "A Coviu MCP server: a proxy Deployment, Service and URL token for one Coviu account, "
                       "with tool filters and an optional expiry.",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": schema_of(Spec),
            "status": schema_of(Status),
        },
        "x-kubernetes-validations": [{
            "rule": f"size(self.metadata.name) <= {MAX_NAME_LENGTH} && "
                    "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
            "message": f"metadata.name must be a DNS label of at most {MAX_NAME_LENGTH} characters starting "
                       "with a letter: it names the Service <name>-mcp",
        }],
    }


def _column(name: str, type_: str, path: str, description: str, priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": type_, "jsonPath": path, "description": description}
    if priority:
        column["priority"] = priority
    return column


def _condition(type_: str, field: str) -> str:
    return f'.status.conditions[?(@.type=="{type_}")].{field}'


def build_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME, "labels": {"app.kubernetes.io/name": "coviu-mcp-operator"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND, "listKind": f"{KIND}List", "plural": PLURAL, "singular": SINGULAR,
                "shortNames": list(SHORT_NAMES), "categories": list(CATEGORIES),
            },
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    _column("Ready", "string", _condition("Ready", "status"), "Whether the MCP URL works"),
                    _column("Tools", "integer", ".status.toolCount", "Number of tools exposed"),
                    _column("Expires", "string", ".status.expiresAt", "When the server is torn down"),
                    _column("Expired", "string", _condition("Expired", "status"), "Whether it has been torn down"),
                    _column("Age", "date", ".metadata.creationTimestamp", "Time since creation"),
                    _column("Reason", "string", _condition("Ready", "reason"), "Why it is (not) ready", 1),
                    _column("URL", "string", ".status.url", "MCP URL without the token", 1),
                ],
                "schema": {"openAPIV3Schema": _root_schema()},
            }],
        },
    }


def render() -> str:
    header = f"# {API_VERSION} {KIND}: generated by `python -m coviu_operator.crd`; do not edit.\n"
    body: str = yaml.safe_dump(build_crd(), sort_keys=False, width=120)
    return header + body


if __name__ == "__main__":
    sys.stdout.write(render())
