"""Tool schemas without `type` arrays (coviu_mcp.portable), accepting exactly what the
catalog's schemas accept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from coviu_catalog import load_catalog
from coviu_mcp.portable import single_typed
from coviu_mcp.tools import build_tools
from tests.unit.test_operator_crd import walk

SAMPLES: list[Any] = [None, "text", "", 0, 7, -1.5, True, False, [], ["a", None], {}, {"k": None}]


def type_arrays(schema: Any) -> list[str]:
    return [path for path, node in walk(schema) if isinstance(node.get("type"), list)]


def test_no_tool_schema_has_a_type_array() -> None:
    for spec in build_tools(load_catalog().records).values():
        assert not type_arrays(spec.input_schema), spec.name
        assert not type_arrays(spec.output_schema), spec.name


def catalog_subschemas() -> Iterator[dict[str, Any]]:
    for record in load_catalog().records:
        for schema in (record.response.schema_, record.query.model_dump(), record.body.model_dump()):
            # a node whose `type` is a name or a list is a schema (not a map with a `type` property)
            yield from (node for _, node in walk(schema) if isinstance(node.get("type"), str | list))


def test_the_rewrite_accepts_the_same_values_as_the_catalog() -> None:
    checked = 0
    for schema in catalog_subschemas():
        original = Draft202012Validator(schema)
        rewritten = Draft202012Validator(single_typed(schema))
        for sample in SAMPLES:
            assert original.is_valid(sample) == rewritten.is_valid(sample), (schema, sample)
        checked += 1
    assert checked > 100


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": ["string", "null"], "description": "d", "format": "date-time"},
     {"description": "d", "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}),
    ({"type": ["integer"], "minimum": 1}, {"type": "integer", "minimum": 1}),
    ({"type": "object", "properties": {"a": {"type": ["array", "null"], "items": {"type": ["string", "null"]}}}},
     {"type": "object", "properties": {"a": {"anyOf": [
         {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}}, {"type": "null"}]}}}),
    ({"enum": ["a", None]}, {"enum": ["a", None]}),
])
def test_rewrites(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert single_typed(schema) == expected
