"""MCP tool definitions generated from catalog records, and the argument routing they imply.

Every argument of a tool is one flat JSON Schema property; the record says whether it goes in
the path, the query string or the body, so `route_arguments` can put it back where Coviu
expects it. Output schemas describe exactly what `results.py` returns, because the official
client rejects structured content that does not match.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import mcp_types as types
from jsonschema import Draft202012Validator

from coviu_catalog import Pagination, Record, tool_name

from .portable import single_typed
from .validation import ArgumentValidator

# Path values are ids: refusing '/', '.', '..' and other reserved characters keeps every call on
# the endpoint its record names, whatever the model puts in an argument.
PATH_VALUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_~-]*$"

NEXT_PAGE = "next_page"
NEXT_OFFSET = "next_offset"

BINARY_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["content_type", "size", "download_url"],
    "properties": {
        "content_type": {"type": "string", "description": "Media type of the file."},
        "size": {
            "anyOf": [{"type": "integer"}, {"type": "null"}],
            "description": "Size in bytes, when Coviu tells it.",
        },
        "download_url": {
            "type": "string",
            "description": "GET this URL to stream the bytes; it accepts Range requests.",
        },
        "accept_ranges": {"type": "boolean", "description": "Whether partial downloads are possible."},
    },
}


@dataclass(frozen=True)
class ToolSpec:
    """A record made callable: its MCP definition plus what is needed to serve a call."""

    record: Record
    tool: types.Tool
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    validator: Draft202012Validator = field(repr=False)

    @property
    def name(self) -> str:
        return self.tool.name

    @property
    def is_binary(self) -> bool:
        return self.record.response.kind == "binary"


@dataclass(frozen=True)
class RoutedArguments:
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


def build_tools(records: Iterable[Record]) -> dict[str, ToolSpec]:
    return {spec.name: spec for spec in (build_tool(record) for record in records)}


def build_tool(record: Record) -> ToolSpec:
    inputs = input_schema(record)
    outputs = output_schema(record)
    tool = types.Tool(
        name=tool_name(record),
        title=record.summary,
        description=description(record),
        input_schema=inputs,
        output_schema=outputs,
        annotations=tool_annotations(record),
    )
    return ToolSpec(record, tool, inputs, outputs, ArgumentValidator(inputs))


def input_schema(record: Record) -> dict[str, Any]:
    properties: dict[str, Any] = {
        name: {**schema, "pattern": PATH_VALUE_PATTERN, "minLength": 1}
        for name, schema in record.path_params.items()
    }
    properties.update(record.query.properties)
    properties.update(record.body.properties)
    required = [*record.path_params, *record.query.required, *record.body.required]
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return copy.deepcopy(single_typed(schema))


def output_schema(record: Record) -> dict[str, Any] | None:
    if record.response.kind == "binary":
        return copy.deepcopy(BINARY_RESULT_SCHEMA)
    body = record.response.schema_
    if body is None:
        return None
    if body.get("type") == "array":
        return {"type": "object", "required": ["items"], "properties": {"items": copy.deepcopy(single_typed(body))}}
    schema: dict[str, Any] = copy.deepcopy(single_typed(body))
    continuation = continuation_field(record)
    if continuation:
        schema.setdefault("properties", {})[continuation] = {
            "anyOf": [{"type": "integer"}, {"type": "null"}],
            "description": f"Pass as {_continuation_argument(record)} for the next page; null on the last page.",
        }
    return schema


def tool_annotations(record: Record) -> types.ToolAnnotations:
    verb = record.http_method
    return types.ToolAnnotations(
        title=record.summary,
        read_only_hint=verb == "GET",
        destructive_hint=verb in ("PUT", "PATCH", "DELETE"),
        idempotent_hint=verb in ("GET", "PUT", "DELETE"),
        open_world_hint=False,
    )


def description(record: Record) -> str:
    parts = [record.description]
    if record.constraints:
        parts.append("Constraints:\n" + "\n".join(f"- {rule}" for rule in record.constraints))
    return "\n\n".join(parts)


def route_arguments(record: Record, arguments: Mapping[str, Any]) -> RoutedArguments:
    """Split validated arguments back into path, query string and JSON body."""
    path = record.path
    for name in record.path_params:
        path = path.replace("{" + name + "}", quote(str(arguments[name]), safe=""))
    query = {
        name: _query_value(arguments[name]) for name in record.query.properties if name in arguments
    }
    body = {name: arguments[name] for name in record.body.properties if name in arguments}
    return RoutedArguments(path, query, body if record.http_method in ("POST", "PUT", "PATCH") else None)


def continuation(record: Record, body: Mapping[str, Any], query: Mapping[str, str]) -> int | None:
    """The argument value that fetches the page after `body`, or None on the last page."""
    if record.pagination is Pagination.PAGE:
        return int(body.get("page", query.get("page", 0))) + 1 if body.get("more") else None
    if record.pagination is Pagination.OFFSET:
        offset = int(query.get("offset", 0))
        following = offset + len(body.get("items") or [])
        total = body.get("total")
        return following if isinstance(total, int) and following < total and body.get("items") else None
    return None


def continuation_field(record: Record) -> str | None:
    """The result field that carries the continuation, for paginated lists."""
    return {Pagination.PAGE: NEXT_PAGE, Pagination.OFFSET: NEXT_OFFSET}.get(record.pagination)


def _continuation_argument(record: Record) -> str:
    return {Pagination.PAGE: "page", Pagination.OFFSET: "offset"}[record.pagination]


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
