"""The methods and tags filters, as the seed product defines them."""

from __future__ import annotations

import pytest

from coviu_catalog import EmptySelectionError, UnknownFilterValueError, load_catalog, select, tool_name

RECORDS = load_catalog().records


def names(**filters) -> set[str]:
    return {tool_name(r) for r in select(RECORDS, **filters)}


def test_no_filter_selects_everything() -> None:
    assert len(names()) == len(RECORDS)
    assert names(methods=[], tags=[]) == names()


def test_read_selects_only_get_and_list() -> None:
    selected = names(methods=["read"])
    assert selected and all(n.startswith(("get_single_", "list_all_")) for n in selected)
    assert "get_single_coviu_session_summary_by_id" not in selected  # custom, not read


def test_write_selects_create_update_delete() -> None:
    selected = names(methods=["write"])
    assert selected == {n for n in names() if n.startswith(("create_a_", "update_a_", "delete_a_"))}


def test_custom_selects_non_crud_methods() -> None:
    assert names(methods=["custom"]) == {"get_single_coviu_session_summary_by_id"}


def test_method_names_and_exact_tool_names() -> None:
    assert names(methods=["list"]) == {n for n in names() if n.startswith("list_all_")}
    assert names(methods=["create_a_coviu_session", "summary"]) == {
        "create_a_coviu_session",
        "get_single_coviu_session_summary_by_id",
    }


def test_methods_and_tags_must_both_pass() -> None:
    selected = names(methods=["read"], tags=["triage"])
    assert "list_all_coviu_waiting_queue_calls" in selected
    assert "create_a_coviu_participant" not in selected  # triage, but write
    assert "list_all_coviu_sessions" not in selected  # read, but not triage


def test_a_tag_selects_records_carrying_any_listed_tag() -> None:
    assert names(tags=["recordings"]) >= {"get_single_coviu_audio_recording_by_id", "list_all_coviu_collections"}
    assert names(tags=["compliance", "triage"]) == names(tags=["compliance"]) | names(tags=["triage"])


def test_unknown_values_are_named() -> None:
    with pytest.raises(UnknownFilterValueError, match=r"methods: unknown value\(s\) \['raed'\]"):
        select(RECORDS, methods=["raed"])
    with pytest.raises(UnknownFilterValueError, match=r"tags: .*billing"):
        select(RECORDS, tags=["billing"])


def test_a_filter_that_leaves_nothing_is_an_error() -> None:
    with pytest.raises(EmptySelectionError, match="no tool matches"):
        select(RECORDS, methods=["custom"], tags=["triage"])
