from __future__ import annotations

import pytest

from coviu_sandbox.errors import RangeNotSatisfiable
from coviu_sandbox.ranges import parse_range

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, 999),
        ("bytes=-500", 500, 999),
        ("bytes=-5000", 0, 999),
        ("bytes=990-2000", 990, 999),
        ("bytes=999-999", 999, 999),
        ("Bytes = 10-19", 10, 19),
        ("bytes= 5-9 , 20-29", 5, 9),
    ],
)
def test_single_ranges(header: str, first: int, last: int) -> None:
    byte_range = parse_range(header, SIZE)
    assert byte_range is not None
    assert (byte_range.first, byte_range.last, byte_range.length) == (first, last, last - first + 1)
    assert byte_range.content_range == f"bytes {first}-{last}/{SIZE}"


def test_no_header_or_other_unit_means_the_whole_body() -> None:
    assert parse_range(None, SIZE) is None
    assert parse_range("items=0-5", SIZE) is None
    assert parse_range("0-5", SIZE) is None


def test_several_ranges_are_answered_with_the_first_satisfiable_one() -> None:
    byte_range = parse_range("bytes=5000-6000, 300-399, 0-9", SIZE)
    assert byte_range is not None and (byte_range.first, byte_range.last) == (300, 399)


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1005", "bytes=-0", "bytes=2000-,3000-3001"])
def test_unsatisfiable_ranges_report_the_size(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, SIZE)
    assert caught.value.status_code == 416
    assert caught.value.headers == {"Content-Range": f"bytes */{SIZE}"}
    assert "0 to 999" in caught.value.message


@pytest.mark.parametrize("header", ["bytes=", "bytes=abc", "bytes=5-2", "bytes=--5", "bytes=1-2-3", "bytes=0-1,x"])
def test_malformed_ranges_are_refused_with_416(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, SIZE)
    assert "malformed" in caught.value.message or "names no byte range" in caught.value.message


def test_nothing_is_satisfiable_in_an_empty_body() -> None:
    for header in ("bytes=0-", "bytes=-1"):
        with pytest.raises(RangeNotSatisfiable, match="body is empty"):
            parse_range(header, 0)
