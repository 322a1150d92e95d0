"""Argument validation with JSON Schema's own regular-expression semantics.

Schemas are written for ECMA-262, where `$` matches only at the end of the string. Python's
`re` lets `$` match before a final newline as well, so the stock validator accepts "abc\n" for
an id pattern `^...$`, and the newline would reach Coviu's URL. The `pattern` keyword here
reads `$` as the end of the string, for every pattern of every tool.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators


@functools.lru_cache(maxsize=256)
def end_anchored(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled with each unescaped `$` outside a character class as `\\Z`."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not end_anchored(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# The jsonschema stubs leave `extend` unannotated.
ArgumentValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]
