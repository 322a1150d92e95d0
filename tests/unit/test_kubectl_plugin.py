"""The pure parts of `kubectl cmcp`: durations and countdowns (the commands themselves run
through real kubectl in tests/k8s/test_kubectl_plugin.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coviu_operator.errors import PluginError
from coviu_operator.plugin.commands import countdown, parse_duration

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("8h", timedelta(hours=8)), ("90m", timedelta(minutes=90)), ("1d12h", timedelta(days=1, hours=12)),
    ("1h30m", timedelta(hours=1, minutes=30)), ("45s", timedelta(seconds=45)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "8", "8x", "h", "1m1h", "0h", "-1h"])
def test_bad_durations_are_named(text: str) -> None:
    with pytest.raises(PluginError, match=f"invalid duration {text!r}"):
        parse_duration(text)


@pytest.mark.parametrize(("expires_at", "expected"), [
    (None, "never"),
    (NOW + timedelta(hours=7, minutes=59, seconds=30), "7h59m"),
    (NOW + timedelta(minutes=5), "5m"),
    (NOW + timedelta(days=2, hours=3), "2d3h"),
    (NOW - timedelta(minutes=5), "expired 5m ago"),
    (NOW, "expired 0m ago"),
])
def test_countdowns(expires_at: datetime | None, expected: str) -> None:
    assert countdown(expires_at, NOW) == expected
