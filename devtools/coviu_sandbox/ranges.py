"""HTTP ``Range`` parsing for the binary endpoints (RFC 9110 section 14).

Only the ``bytes`` unit is understood; a header in any other unit is ignored, as the RFC requires,
and the whole body is served. A request for several ranges is answered with the first
satisfiable one only, as a plain 206 whose ``Content-Range`` says exactly which bytes were sent,
instead of a ``multipart/byteranges`` body: clients that fetch one range at a time (every proxy
and SDK we care about) are unaffected, and a client asking for more can see what it got.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from coviu_sandbox.errors import RangeNotSatisfiable

_SPEC = re.compile(r"^(?:(\d+)-(\d*)|-(\d+))$")


class ByteRange(BaseModel):
    """An inclusive byte range ``first..last`` inside a body of ``size`` bytes."""

    model_config = ConfigDict(frozen=True)

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """Return the range to serve, or ``None`` to serve the whole body with 200.

    Raises:
        RangeNotSatisfiable: the header is malformed, or no range in it overlaps the body.
    """
    if header is None:
        return None
    unit, separator, specs = header.partition("=")
    if not separator or unit.strip().lower() != "bytes":
        return None
    parts = [part.strip() for part in specs.split(",")]
    if not any(parts):
        raise RangeNotSatisfiable(f"Range header {header!r} names no byte range", size)
    chosen: ByteRange | None = None
    for part in parts:
        candidate = _parse_spec(part, size, header)
        if chosen is None and candidate is not None:
            chosen = candidate
    if chosen is None:
        raise RangeNotSatisfiable(
            f"Range {header!r} does not overlap the {size}-byte body; valid offsets are 0 to {size - 1}"
            if size
            else f"Range {header!r} cannot be satisfied: the body is empty",
            size,
        )
    return chosen


def _parse_spec(part: str, size: int, header: str) -> ByteRange | None:
    """Parse one ``first-last``, ``first-`` or ``-suffix`` spec; ``None`` when it misses the body."""
    match = _SPEC.match(part)
    if match is None:
        raise RangeNotSatisfiable(
            f"Range header {header!r} is malformed: expected bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX",
            size,
        )
    first_text, last_text, suffix_text = match.groups()
    if suffix_text is not None:
        suffix = int(suffix_text)
        if suffix == 0 or size == 0:
            return None
        return ByteRange(first=max(size - suffix, 0), last=size - 1, size=size)
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        raise RangeNotSatisfiable(f"Range header {header!r} is malformed: {part!r} ends before it starts", size)
    if first >= size:
        return None
    return ByteRange(first=first, last=min(last, size - 1), size=size)
