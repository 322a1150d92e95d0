"""Coviu's vendor rate-limit headers become IETF RateLimit headers, figures unchanged."""

from __future__ import annotations

from coviu_mcp.ratelimit import normalise, retry_after_seconds

NOW = 1_800_000_000.0


def test_vendor_headers_become_ietf_headers() -> None:
    out = normalise(
        {
            "X-Coviu-RateLimit-Limit": "100",
            "X-Coviu-RateLimit-Remaining": "0",
            "X-Coviu-RateLimit-Reset": str(int(NOW) + 42),
            "Retry-After": "42",
        },
        NOW,
    )
    assert out == {
        "RateLimit-Limit": "100",
        "RateLimit-Policy": '"coviu";q=100',
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "42",
        "RateLimit": '"coviu";r=0;t=42',
        "Retry-After": "42",
    }


def test_reset_given_as_seconds_is_kept() -> None:
    assert normalise({"x-ratelimit-reset": "17", "x-ratelimit-remaining": "3"}, NOW)["RateLimit-Reset"] == "17"


def test_retry_after_alone_sets_reset_when_nothing_remains() -> None:
    out = normalise({"x-coviu-ratelimit-remaining": "0", "retry-after": "9"}, NOW)
    assert out["RateLimit-Reset"] == "9" and out["Retry-After"] == "9"


def test_http_date_retry_after() -> None:
    assert retry_after_seconds("Fri, 15 Jan 2027 08:00:10 GMT", 1_800_000_000.0) is not None
    assert retry_after_seconds("garbage", NOW) is None


def test_no_headers_no_output() -> None:
    assert normalise({"content-type": "application/json"}, NOW) == {}


def test_malformed_values_are_ignored_not_invented() -> None:
    assert normalise({"x-coviu-ratelimit-limit": "lots"}, NOW) == {}
