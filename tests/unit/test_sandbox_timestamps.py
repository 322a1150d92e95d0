from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from coviu_sandbox.timestamps import format_timestamp, parse_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T09:30:00Z", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T09:30:00.250Z", datetime(2024, 5, 1, 9, 30, 0, 250_000, tzinfo=UTC)),
        ("2024-05-01T19:30:00+10:00", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T09:30:00", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("Wed, 08 Jun 2016 04:07:11 GMT", datetime(2016, 6, 8, 4, 7, 11, tzinfo=UTC)),
        ("Wed, 08 Jun 2016 14:07:11 +1000", datetime(2016, 6, 8, 4, 7, 11, tzinfo=UTC)),
    ],
)
def test_iso_8601_and_rfc_1123_are_accepted(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["", "   ", "yesterday", "2024-13-01T00:00:00Z", "Wed, 32 Jun 2016 04:07:11 GMT", "0001-01-01T00:00:00+01:00"],
)
def test_anything_else_is_a_value_error_that_names_the_input(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_timestamp(text)
    assert repr(text) in str(caught.value) or "empty" in str(caught.value)


def test_format_is_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2024, 5, 1, 19, 30, 5, 123_987, tzinfo=timezone(timedelta(hours=10)))
    assert format_timestamp(moment) == "2024-05-01T09:30:05.123Z"
    assert format_timestamp(datetime(2024, 5, 1, tzinfo=UTC)) == "2024-05-01T00:00:00.000Z"


def test_format_then_parse_round_trips() -> None:
    moment = datetime(2030, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)
    assert parse_timestamp(format_timestamp(moment)) == moment
