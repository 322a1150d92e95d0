"""The ValidatingAdmissionPolicy that rejects bad CoviuMCPServers at `kubectl apply`.

    python -m coviu_operator.admission > charts/coviu-mcp-operator/files/admission-policy.yaml

The CRD's OpenAPI schema cannot know the catalog, so without this policy an unknown method
or tag, or filters that select no tool, are only reported later in the ToolsResolved
condition. The policy's CEL carries the catalog's vocabulary and, per record, the `methods`
entries and tags that select it; its messages are cut from the same functions in
coviu_catalog.filters that write the condition's message, so both say the same thing. A unit
test compares this output with the committed file.

The policy also refuses a new server whose `expiresAt` is less than MINIMUM_LIFETIME after
its creation (see docs/operator.md). CEL has no clock; on CREATE the API server has just set
`metadata.creationTimestamp`, which serves as "now". Updates may move `expiresAt` anywhere,
the past included: that is how access is ended early while the record stays.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import yaml

from coviu_catalog import Catalog, load_catalog
from coviu_catalog.filters import (
    empty_selection_message,
    listed,
    listed_or_all,
    method_keys,
    method_vocabulary,
    unknown_values_message,
)

from .names import API_VERSION, GROUP, KIND, PLURAL, VERSION

POLICY_NAME = f"{PLURAL}.{GROUP}"
MINIMUM_LIFETIME = timedelta(minutes=10)
_SLOTS = ("SLOTA", "SLOTB")  # stand-ins for CEL expressions in messages; upper case never is a value


def cel_string(text: str) -> str:
    """A CEL string literal (JSON's escapes are valid CEL)."""
    return json.dumps(text)


def cel_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(cel_string(value) for value in values) + "]"


def _cel_listed(expression: str) -> str:
    """CEL that renders a non-empty list of strings as `listed` does."""
    opening, rest = listed(_SLOTS).split(_SLOTS[0])
    separator, closing = rest.split(_SLOTS[1])
    return f"{cel_string(opening)} + {expression}.sort().join({cel_string(separator)}) + {cel_string(closing)}"


def _cel_message(render: Callable[..., str], *slots: str) -> str:
    """CEL for `render(...)` with each list argument replaced by the CEL expression that
    renders it: `render` is called with one stand-in value per slot and cut at each."""
    stand_ins = [[_SLOTS[0] + str(index)] for index in range(len(slots))]
    text = render(*stand_ins)
    parts: list[str] = []
    for stand_in, slot in zip(stand_ins, slots, strict=True):
        before, text = text.split(listed(stand_in), 1)
        parts += [cel_string(before), slot]
    return " + ".join(part for part in [*parts, cel_string(text)] if part != cel_string(""))


def _or_all(variable: str) -> str:
    return f"(size({variable}) == 0 ? {cel_string(listed_or_all(None))} : {_cel_listed(variable)})"


def _validation(expression: str, message_expression: str) -> dict[str, Any]:
    return {"expression": expression, "messageExpression": message_expression, "reason": "Invalid"}


def build_policy(catalog: Catalog | None = None) -> dict[str, Any]:
    catalog = catalog or load_catalog()
    methods_known = sorted(method_vocabulary(catalog.records))
    tags_known = list(catalog.tags)
    records = [
        f"{{'methods': {cel_list(sorted(method_keys(record)))}, 'tags': {cel_list(sorted(record.tags))}}}"
        for record in catalog.records
    ]
    selects = ("variables.records.exists(r, "
               "(size(variables.methods) == 0 || r.methods.exists(m, m in variables.methods)) && "
               "(size(variables.tags) == 0 || r.tags.exists(t, t in variables.tags)))")
    minutes = int(MINIMUM_LIFETIME.total_seconds() // 60)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME, "labels": {"app.kubernetes.io/name": "coviu-mcp-operator"}},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [GROUP], "apiVersions": [VERSION],
                "operations": ["CREATE", "UPDATE"], "resources": [PLURAL],
            }]},
            # Metadata-only writes (finalizers, annotations) pass, so the operator can still
            # finish a server stored before the policy or before a catalog change.
            "matchConditions": [{
                "name": "spec-written",
                "expression": "request.operation == 'CREATE' || object.spec != oldObject.spec",
            }],
            "variables": [
                {"name": "methods", "expression": "has(object.spec.methods) ? object.spec.methods : []"},
                {"name": "tags", "expression": "has(object.spec.tags) ? object.spec.tags : []"},
                {"name": "unknownMethods",
                 "expression": f"variables.methods.filter(m, !(m in {cel_list(methods_known)}))"},
                {"name": "unknownTags", "expression": f"variables.tags.filter(t, !(t in {cel_list(tags_known)}))"},
                {"name": "records", "expression": "[" + ", ".join(records) + "]"},
            ],
            # In the operator's order, each rule only once the ones before it pass, so the
            # one message is the condition's message.
            "validations": [
                _validation(
                    "size(variables.unknownMethods) == 0",
                    _cel_message(lambda unknown: unknown_values_message("methods", unknown, methods_known),
                                 _cel_listed("variables.unknownMethods")),
                ),
                _validation(
                    "size(variables.unknownMethods) > 0 || size(variables.unknownTags) == 0",
                    _cel_message(lambda unknown: unknown_values_message("tags", unknown, tags_known),
                                 _cel_listed("variables.unknownTags")),
                ),
                _validation(
                    f"size(variables.unknownMethods) > 0 || size(variables.unknownTags) > 0 || {selects}",
                    _cel_message(empty_selection_message, _or_all("variables.methods"), _or_all("variables.tags")),
                ),
                _validation(
                    "request.operation != 'CREATE' || !has(object.spec.expiresAt) || "
                    "timestamp(string(object.spec.expiresAt)) - timestamp(string(object.metadata.creationTimestamp))"
                    f" >= duration('{minutes}m')",
                    f"'expiresAt ' + string(object.spec.expiresAt) + ' is less than {minutes} minutes after the "
                    "server is created (' + string(object.metadata.creationTimestamp) + '): it would be torn down "
                    "before its URL can be used; pick a later instant or leave expiresAt out'",
                ),
            ],
        },
    }


def render() -> str:
    header = (f"# {API_VERSION} {KIND} admission policy: generated by `python -m coviu_operator.admission`; "
              "do not edit.\n")
    body: str = yaml.safe_dump(build_policy(), sort_keys=False, width=120)
    return header + body


if __name__ == "__main__":
    sys.stdout.write(render())
