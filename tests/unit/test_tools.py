"""Tool definitions generated from records: schemas, annotations, routing, continuations."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from coviu_catalog import load_catalog
from coviu_mcp.results import json_text, structured_content
from coviu_mcp.tools import build_tools, route_arguments

TOOLS = build_tools(load_catalog().records)


def test_one_tool_per_record_with_description_and_title() -> None:
    assert len(TOOLS) == len(load_catalog().records)
    for spec in TOOLS.values():
        assert spec.tool.description and spec.tool.title


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_schemas_are_object_shaped_json_schema(name: str) -> None:
    spec = TOOLS[name]
    Draft202012Validator.check_schema(spec.input_schema)
    assert spec.input_schema["type"] == "object" and spec.input_schema["additionalProperties"] is False
    if spec.output_schema is not None:
        Draft202012Validator.check_schema(spec.output_schema)
        assert spec.output_schema["type"] == "object"


def test_path_query_and_body_are_flattened_into_one_schema() -> None:
    schema = TOOLS["create_a_coviu_participant"].input_schema
    assert set(schema["properties"]) == {"session_id", "display_name", "role", "state", "picture", "phone"}
    assert schema["required"] == ["session_id", "display_name", "role"]
    listing = TOOLS["list_all_coviu_sessions"].input_schema
    assert {"page", "page_size", "order"} <= set(listing["properties"])


def test_arguments_are_routed_back_where_coviu_expects_them() -> None:
    routed = route_arguments(
        TOOLS["create_a_coviu_participant"].record,
        {"session_id": "s-1", "display_name": "Interpreter", "role": "guest"},
    )
    assert routed.path == "/sessions/s-1/participants"
    assert routed.query == {}
    assert routed.body == {"display_name": "Interpreter", "role": "guest"}
    routed = route_arguments(TOOLS["list_all_coviu_sessions"].record, {"page": 2, "include_canceled": True})
    assert (routed.path, routed.query, routed.body) == ("/sessions", {"page": "2", "include_canceled": "true"}, None)


@pytest.mark.parametrize(
    "value", ["../etc", "..", ".", "a/b", "a%2Fb", "a?b=c", "", "a b", "#frag", "abc\n", "abc\r\n"]
)
def test_path_arguments_cannot_leave_their_endpoint(value: str) -> None:
    spec = TOOLS["get_single_coviu_session_by_id"]
    assert list(spec.validator.iter_errors({"id": value}))


def test_annotations_follow_the_http_method() -> None:
    def hints(name: str) -> tuple:
        a = TOOLS[name].tool.annotations
        return a.read_only_hint, a.destructive_hint, a.idempotent_hint

    assert hints("list_all_coviu_sessions") == (True, False, True)
    assert hints("create_a_coviu_session") == (False, False, False)
    assert hints("update_a_coviu_session_by_id") == (False, True, True)
    assert hints("delete_a_coviu_session_by_id") == (False, True, True)


def test_descriptions_state_lifecycle_constraints() -> None:
    assert "already finished" in TOOLS["create_a_coviu_participant"].tool.description


def test_page_continuation() -> None:
    spec = TOOLS["list_all_coviu_sessions"]
    page = {"content": [{"session_id": "a"}], "page": 3, "page_size": 1, "more": True}
    assert structured_content(spec, page, {"page": "3"})["next_page"] == 4
    assert structured_content(spec, {**page, "more": False}, {})["next_page"] is None
    Draft202012Validator(spec.output_schema).validate(structured_content(spec, page, {}))


def test_offset_continuation() -> None:
    spec = TOOLS["list_all_coviu_submissions"]
    body = {"items": [{"item_submission_id": "x"}] * 20, "total": 30}
    assert structured_content(spec, body, {"offset": "0"})["next_offset"] == 20
    assert structured_content(spec, {"items": body["items"][:10], "total": 30}, {"offset": "20"})["next_offset"] is None
    assert structured_content(spec, {"items": [], "total": 30}, {"offset": "40"})["next_offset"] is None


def test_arrays_are_wrapped_to_match_the_output_schema() -> None:
    spec = TOOLS["list_all_coviu_waiting_queue_calls"]
    wrapped = structured_content(spec, [{"callId": "c1", "joinedAt": "2026-11-25T10:00:00.000Z"}], {})
    assert wrapped == {"items": [{"callId": "c1", "joinedAt": "2026-11-25T10:00:00.000Z"}]}
    Draft202012Validator(spec.output_schema).validate(wrapped)


def test_binary_tools_describe_a_download_not_bytes() -> None:
    spec = TOOLS["get_single_coviu_audio_recording_by_id"]
    assert spec.is_binary
    assert spec.output_schema["required"] == ["content_type", "size", "download_url"]


@pytest.mark.parametrize(
    ("name", "body_text", "query"),
    [
        ("list_all_coviu_sessions", '{"content":[{"session_id":"a"}],"page":0,"page_size":1,"more":true}\n', {}),
        ("list_all_coviu_sessions", '{"content": [], "page": 2, "more": false}', {"page": "2"}),
        ("list_all_coviu_sessions", '{"content":[],"more":true,"next_page":9}', {}),
        ("list_all_coviu_sessions", "{}", {}),
        ("list_all_coviu_submissions", '{"items":[{"item_submission_id":"x"}],"total":5}', {"offset": "0"}),
        ("list_all_coviu_waiting_queue_calls", ' [{"callId":"c1","details":"{\\"a\\": 1}"}] ', {}),
        ("get_single_coviu_team", '{"team_id":"t","name":"Clinic \\u00e9"}', {}),
    ],
)
def test_text_content_is_the_structured_content(name: str, body_text: str, query: dict) -> None:
    body = json.loads(body_text)
    structured = structured_content(TOOLS[name], body, query)
    assert json.loads(json_text(structured, body, body_text)) == structured
