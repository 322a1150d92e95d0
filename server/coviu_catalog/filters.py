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


def select(
    records: Sequence[Record],
    methods: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
) -> tuple[Record, ...]:
    unknown: list[str] = []
    method_set = _checked(methods, _method_vocabulary(records), "methods", unknown)
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
        raise EmptySelectionError(
            f"no tool matches methods={sorted(method_set) if method_set else 'all'} "
            f"and tags={sorted(tag_set) if tag_set else 'all'}"
        )
    return chosen


def _method_matches(record: Record, wanted: set[str]) -> bool:
    return bool({record.method_class.value, record.method, tool_name(record)} & wanted)


def _method_vocabulary(records: Sequence[Record]) -> set[str]:
    classes = {member.value for member in MethodClass}
    return classes | {record.method for record in records} | {tool_name(record) for record in records}


def _checked(values: Iterable[str] | None, known: set[str], field: str, problems: list[str]) -> set[str] | None:
    """The wanted values (None: no filter); a problem naming the unknown ones goes to `problems`."""
    if values is None:
        return None
    wanted = {value.strip() for value in values if value.strip()}
    if not wanted:
        return None
    unknown = sorted(wanted - known)
    if unknown:
        problems.append(f"{field}: unknown value(s) {unknown}; known values are {sorted(known)}")
    return wanted
