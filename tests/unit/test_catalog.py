"""The catalog: every documented Coviu endpoint has a valid record, named as the seed names tools."""

from __future__ import annotations

import re

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from coviu_catalog import CatalogError, MethodClass, load_catalog, parse_catalog, tool_name
from coviu_catalog.openapi import render_openapi

# Every endpoint of the Coviu REST API reference except the OAuth token endpoint, which is
# how the proxy authenticates rather than something a tool exposes.
COVIU_ENDPOINTS = {
    ("POST", "/sessions"),
    ("GET", "/sessions"),
    ("GET", "/sessions/{}"),
    ("PUT", "/sessions/{}"),
    ("DELETE", "/sessions/{}"),
    ("GET", "/sessions/{}/summary"),
    ("GET", "/sessions/{}/participants"),
    ("POST", "/sessions/{}/participants"),
    ("GET", "/participants/{}"),
    ("PUT", "/participants/{}"),
    ("DELETE", "/participants/{}"),
    ("GET", "/waiting/{}"),
    ("GET", "/waiting/{}/queue/{}"),
    ("GET", "/waiting/{}/calls/{}"),
    ("GET", "/collections/{}"),
    ("GET", "/collections/{}/collection/{}"),
    ("GET", "/collections/{}/collection/{}/submission/{}"),
    ("GET", "/collections/{}/collection/{}/submission/{}/file/{}"),
    ("GET", "/collections/{}/collection/{}/recording/{}"),
    ("GET", "/user/team"),
}

SEED_TOOL_NAMES = {
    "list_all_coviu_waiting_queue_calls",
    "create_a_coviu_session",
    "create_a_coviu_participant",
    "get_single_coviu_session_summary_by_id",
    "get_single_coviu_audio_recording_by_id",
    "get_single_coviu_submission_file_by_id",
    "delete_a_coviu_session_by_id",
}

NAME_PATTERNS = {
    "list": r"^list_all_coviu_[a-z_]+s$",
    "get": r"^get_single_coviu_[a-z_]+(_by_id)?$",
    "create": r"^create_a_coviu_[a-z_]+$",
    "update": r"^update_a_coviu_[a-z_]+_by_id$",
    "delete": r"^delete_a_coviu_[a-z_]+_by_id$",
}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_catalog_covers_every_documented_endpoint_once() -> None:
    routes = [(r.http_method, _shape(r.path)) for r in load_catalog().records]
    assert len(routes) == len(set(routes))
    assert set(routes) == COVIU_ENDPOINTS


def test_seed_tool_names_exist() -> None:
    assert set(load_catalog().by_tool_name) >= SEED_TOOL_NAMES


@pytest.mark.parametrize("record", load_catalog().records, ids=tool_name)
def test_names_follow_the_convention(record) -> None:
    name = tool_name(record)
    pattern = NAME_PATTERNS.get(record.method, r"^get_single_coviu_[a-z_]+_by_id$")
    assert re.match(pattern, name), name
    assert len(name) <= 64 and re.match(r"^[A-Za-z0-9_.-]+$", name)


@pytest.mark.parametrize("record", load_catalog().records, ids=tool_name)
def test_schemas_are_valid_json_schema(record) -> None:
    for schema in (record.query.properties, record.body.properties, record.path_params):
        for prop in schema.values():
            Draft202012Validator.check_schema(prop)
    if record.response.schema_ is not None:
        Draft202012Validator.check_schema(record.response.schema_)


def test_method_classes() -> None:
    by_name = load_catalog().by_tool_name
    assert by_name["list_all_coviu_sessions"].method_class is MethodClass.READ
    assert by_name["delete_a_coviu_session_by_id"].method_class is MethodClass.WRITE
    assert by_name["get_single_coviu_session_summary_by_id"].method_class is MethodClass.CUSTOM


def test_lifecycle_rules_are_stated_where_they_apply() -> None:
    by_name = load_catalog().by_tool_name
    assert any("finished" in rule for rule in by_name["create_a_coviu_participant"].constraints)
    assert any("not started" in rule for rule in by_name["delete_a_coviu_session_by_id"].constraints)
    assert any("finished" in rule for rule in by_name["update_a_coviu_session_by_id"].constraints)
    assert any("future" in rule for rule in by_name["create_a_coviu_session"].constraints)


def test_binary_records_name_their_media_types() -> None:
    by_name = load_catalog().by_tool_name
    assert by_name["get_single_coviu_audio_recording_by_id"].response.content_types == ("audio/webm",)
    assert by_name["get_single_coviu_submission_file_by_id"].response.content_types == ("video/webm",)


def test_openapi_document_is_valid() -> None:
    document = render_openapi(load_catalog())
    validate(document)
    assert len([op for item in document["paths"].values() for op in item.values()]) == len(load_catalog().records)


def _raw() -> dict:
    from importlib import resources

    return yaml.safe_load(resources.files("coviu_catalog").joinpath("records/coviu.yaml").read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(id_param="id"), "id_param"),
        (lambda r: r.update(tags=[]), "tags"),
        (lambda r: r["body"]["properties"]["session_name"].pop("description"), "no description"),
        (lambda r: r.update(unknown_field=1), "unknown_field"),
        (lambda r: r.update(path_params={"id": {"type": "string", "description": "x"}}), "path_params"),
    ],
)
def test_bad_records_are_rejected_with_a_message_naming_the_problem(mutate, message) -> None:
    data = _raw()
    create = next(r for r in data["records"] if r["method"] == "create" and r["resource"] == "session")
    mutate(create)
    with pytest.raises(CatalogError, match=message):
        parse_catalog(data)


def test_duplicate_tool_names_are_rejected() -> None:
    data = _raw()
    data["records"].append(dict(data["records"][0], path="/sessions2"))
    with pytest.raises(CatalogError, match="tool name"):
        parse_catalog(data)
