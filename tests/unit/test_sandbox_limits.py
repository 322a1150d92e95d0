"""Rate windows, fault draws and tokens, without HTTP."""

from __future__ import annotations

import base64

import pytest

from coviu_sandbox.auth import TokenIssuer
from coviu_sandbox.errors import BadRequest, Unauthorized
from coviu_sandbox.faults import FaultInjector
from coviu_sandbox.ratelimit import FixedWindowLimiter
from coviu_sandbox.settings import FaultSettings, RateLimitSettings
from coviu_sandbox.testing import START, ManualClock

FORM = "application/x-www-form-urlencoded"
BASIC = "Basic " + base64.b64encode(b"id:secret").decode()


def test_fixed_window_counts_per_client_and_resets_on_the_boundary() -> None:
    clock = ManualClock(START + 10)
    limiter = FixedWindowLimiter(RateLimitSettings(limit=2, window_s=60), clock)
    decisions = [limiter.check("a") for _ in range(3)]
    assert [(d.allowed, d.remaining) for d in decisions if d] == [(True, 1), (True, 0), (False, 0)]
    refused = decisions[-1]
    assert refused is not None and refused.reset_at == START + 60 and refused.retry_after == 50
    assert refused.headers()["Retry-After"] == "50"
    other = limiter.check("b")
    assert other is not None and other.allowed
    clock.advance(50)
    again = limiter.check("a")
    assert again is not None and again.allowed and again.reset_at == START + 120


def test_no_limit_means_no_decision() -> None:
    assert FixedWindowLimiter(RateLimitSettings(), ManualClock()).check("a") is None


def test_fault_draws_repeat_for_the_same_seed() -> None:
    settings = FaultSettings(error_rate=0.3, drop_rate=0.2)
    first, second = FaultInjector(settings, seed=5), FaultInjector(settings, seed=5)
    sequence = [first.draw() for _ in range(200)]
    assert sequence == [second.draw() for _ in range(200)]
    assert {None, "drop", "error"} == set(sequence)
    first.configure(settings)
    assert [first.draw() for _ in range(200)] == sequence


@pytest.mark.parametrize(
    ("settings", "outcome"),
    [
        (FaultSettings(), None),
        (FaultSettings(error_rate=1), "error"),
        (FaultSettings(drop_rate=1, error_rate=1), "drop"),
    ],
)
def test_shares_of_zero_and_one_are_exact(settings: FaultSettings, outcome: str | None) -> None:
    injector = FaultInjector(settings, seed=1)
    assert {injector.draw() for _ in range(100)} == {outcome}


def _issuer(clock: ManualClock) -> TokenIssuer:
    return TokenIssuer(client_id="id", client_secret="secret", ttl_s=60, user_id="user", clock=clock)


def test_access_tokens_are_jwt_shaped_and_expire() -> None:
    clock = ManualClock()
    issuer = _issuer(clock)
    grant = issuer.grant(BASIC, FORM, b"grant_type=client_credentials")
    token = grant["access_token"]
    assert token.count(".") == 2 and grant["expires_in"] == 60
    assert issuer.authenticate(f"Bearer {token}") == "id"
    clock.advance(60)
    with pytest.raises(Unauthorized) as caught:
        issuer.authenticate(f"Bearer {token}")
    assert caught.value.code == "token_expired"


def test_a_token_signed_by_another_issuer_is_forged() -> None:
    clock = ManualClock()
    foreign = _issuer(clock).grant(BASIC, FORM, b"grant_type=client_credentials")["access_token"]
    with pytest.raises(Unauthorized) as caught:
        _issuer(clock).authenticate(f"Bearer {foreign}")
    assert caught.value.code == "invalid_token"


def test_refresh_tokens_rotate() -> None:
    issuer = _issuer(ManualClock())
    refresh = issuer.grant(BASIC, FORM, b"grant_type=client_credentials")["refresh_token"]
    renewed = issuer.grant(BASIC, FORM, f"grant_type=refresh_token&refresh_token={refresh}".encode())
    assert renewed["refresh_token"] != refresh
    with pytest.raises(BadRequest) as caught:
        issuer.grant(BASIC, FORM, f"grant_type=refresh_token&refresh_token={refresh}".encode())
    assert caught.value.code == "invalid_grant"
