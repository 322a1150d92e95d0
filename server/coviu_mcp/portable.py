"""Tool schemas that clients with a single-`type` schema dialect can read.

The catalog writes a nullable field as `type: [string, "null"]`, which is valid JSON Schema,
but clients that map tool schemas onto a dialect where `type` is one name (e.g. Gemini's
function declarations) may reject such a tool or drop the constraint; the MCP Inspector's
`--strict` tools/list flags every one. `single_typed` rewrites each type array into `anyOf`
branches of one type each, accepting exactly the same values, so the official client still
validates structured content against it.
"""

from __future__ import annotations

from typing import Any

# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
_SCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
           "unevaluatedItems", "unevaluatedProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
# Keywords that describe the value as a whole; they stay next to the anyOf.
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment")


def single_typed(schema: Any) -> Any:
    """`schema` with every `type` array written as `anyOf` single-type branches."""
    if not isinstance(schema, dict):
        return schema
    node = dict(schema)
    for key in _SCHEMA:
        if key in node:
            node[key] = single_typed(node[key])
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [single_typed(item) for item in node[key]]
    for key in _SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {name: single_typed(item) for name, item in node[key].items()}
    types = node.get("type")
    if not isinstance(types, list):
        return node
    annotations = {key: node.pop(key) for key in _ANNOTATIONS if key in node}
    del node["type"]
    # Type-specific keywords only constrain values of their own type, so every non-null
    # branch may carry all of them; the null branch is just null.
    branches = [{"type": "null"} if name == "null" else {"type": name, **node} for name in types]
    return {**annotations, "anyOf": branches} if len(branches) > 1 else {**annotations, **branches[0]}
