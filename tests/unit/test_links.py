"""Signed download links: bound to a tool and its arguments, short-lived, capped at expiry."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from coviu_mcp.errors import ProxyError
from coviu_mcp.links import LinkSigner

KEY = b"k" * 32
ARGS = {"team_id": "t1", "collection_id": "c1", "id": "r1"}
TOOL = "get_single_coviu_audio_recording_by_id"


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def signer(clock: Clock, expires_at: float | None = None, key: bytes = KEY) -> LinkSigner:
    return LinkSigner(key, ttl=600, expires_at=expires_at, clock=clock)


def query(path: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(path).query)


def test_a_link_opens_its_own_arguments_until_it_expires() -> None:
    clock = Clock()
    path = signer(clock).path(TOOL, ARGS)
    assert urlsplit(path).path == f"/mcp/files/{TOOL}"
    assert signer(clock).verify(TOOL, query(path)) == ARGS
    clock.now += 599
    assert signer(clock).verify(TOOL, query(path)) == ARGS
    clock.now += 1
    assert signer(clock).verify(TOOL, query(path)) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda q: [(k, "r2" if k == "id" else v) for k, v in q],
        lambda q: [(k, str(int(v) + 60) if k == "expires" else v) for k, v in q],
        lambda q: [(k, v[:-1] + ("A" if v[-1] != "A" else "B") if k == "signature" else v) for k, v in q],
        lambda q: [(k, v) for k, v in q if k != "signature"],
        lambda q: [(k, v) for k, v in q if k != "team_id"],
        lambda q: [*q, ("page", "2")],
        lambda q: [*q, ("id", "r1")],
        lambda q: [(k, "x" if k == "expires" else v) for k, v in q],
    ],
)
def test_any_change_breaks_the_signature(change) -> None:
    clock = Clock()
    assert signer(clock).verify(TOOL, change(query(signer(clock).path(TOOL, ARGS)))) is None


def test_a_link_lives_its_whole_lifetime_whatever_the_fraction_of_the_second() -> None:
    clock = Clock()
    clock.now += 0.999
    path = signer(clock).path(TOOL, ARGS)
    clock.now += 599.9
    assert signer(clock).verify(TOOL, query(path)) == ARGS


def test_a_link_is_bound_to_its_tool_and_key() -> None:
    clock = Clock()
    path = signer(clock).path(TOOL, ARGS)
    assert signer(clock).verify("get_single_coviu_submission_file_by_id", query(path)) is None
    assert signer(clock, key=b"o" * 32).verify(TOOL, query(path)) is None


def test_a_link_never_outlives_the_server() -> None:
    clock = Clock()
    expires_at = clock.now + 30.5
    path = signer(clock, expires_at).path(TOOL, ARGS)
    assert int(dict(query(path))["expires"]) == 1_000_030
    clock.now = expires_at - 0.1
    assert signer(clock, expires_at).verify(TOOL, query(path)) is None  # the signed instant has passed


def test_arguments_named_like_link_fields_cannot_be_linked() -> None:
    with pytest.raises(ProxyError, match="link field"):
        signer(Clock()).path(TOOL, {**ARGS, "signature": "x"})
