"""The seed product's `methods` and `tags` filters.

`methods` entries are method classes (`read`, `write`, `custom`), method names (`list`,
`get`, `summary`, ...) or exact tool names; `tags` entries are catalog tags. A tool must pass
both filters; an absent filter passes everything. Unknown entries are errors rather than
silently selecting less, so a typo in a manifest is caught before a server is deployed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .errors import EmptySelectionError, UnknownFilterValueError
from .models import MethodClass, Record
from .naming import tool_name

ALL = "all"


def select(
    records: Sequence[Record],
    methods: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
) -> tuple[Record, ...]:
    unknown: list[str] = []
    method_set = _checked(methods, method_vocabulary(records), "methods", unknown)
    tag_set = _checked(tags, {tag for record in records for tag in record.tags}, "tags", unknown)
    if unknown:  # every unknown entry at once, so one fix of the manifest is enough
        raise UnknownFilterValueError("; ".join(unknown))
    chosen = tuple(
        record
        for record in records
        if (method_set is None or _method_matches(record, method_set))
        and (tag_set is None or tag_set.intersection(record.tags))
    )
    if not chosen:
        raise EmptySelectionError(empty_selection_message(method_set, tag_set))
    return chosen


def unknown_values_message(field: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """The error for filter entries the catalog does not know; the admission policy
    (coviu_operator.admission) builds its CEL message from this function too."""
    return f"{field}: unknown value(s) {listed(unknown)}; known values are {listed(known)}"


def empty_selection_message(methods: Iterable[str] | None, tags: Iterable[str] | None) -> str:
    """The error for valid filters that leave no tool (None: the filter is absent)."""
    return f"no tool matches methods={listed_or_all(methods)} and tags={listed_or_all(tags)}"


def listed(values: Iterable[str]) -> str:
    """Sorted values in Python list notation, e.g. ['list', 'read']."""
    return str(sorted(values))


def listed_or_all(values: Iterable[str] | None) -> str:
    """`listed`, or `all` for an absent filter."""
    return listed(values) if values else ALL


def _method_matches(record: Record, wanted: set[str]) -> bool:
    return bool(method_keys(record) & wanted)


def method_keys(record: Record) -> set[str]:
    """The `methods` entries that select a record: its class, method name and tool name."""
    return {record.method_class.value, record.method, tool_name(record)}


def method_vocabulary(records: Sequence[Record]) -> set[str]:
    """Everything a `methods` entry may be: method classes, method names and tool names."""
    classes = {member.value for member in MethodClass}
    return classes | {record.method for record in records} | {tool_name(record) for record in records}


def _checked(values: Iterable[str] | None, known: set[str], field: str, problems: list[str]) -> set[str] | None:
    """The wanted values (None: no filter); a problem naming the unknown ones goes to `problems`."""
    if values is None:
        return None
    wanted = {value.strip() for value in values if value.strip()}
    if not wanted:
        return None
    unknown = wanted - known
    if unknown:
        problems.append(unknown_values_message(field, unknown, known))
    return wanted
