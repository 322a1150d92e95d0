"""Who gets in: Host, Origin, URL token, expiry to the millisecond, API tokens."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from coviu_mcp.config import load_settings
from coviu_mcp.errors import ConfigError
from coviu_mcp.guard import Guard
from coviu_mcp.metrics import ProxyMetrics

TOKEN = "s3cret-url-token"
API_TOKEN = "api-token-1"
EXPIRES = datetime(2026, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def guard(now: float = 0.0, metrics: ProxyMetrics | None = None, **env: str) -> Guard:
    settings = load_settings(
        COVIU_CLIENT_ID="id", COVIU_CLIENT_SECRET="secret", MCP_TOKEN_SHA256=sha(TOKEN), **env
    )
    return Guard(settings, metrics or ProxyMetrics(), clock=lambda: now)


def scope(
    token: str = TOKEN, headers: dict[str, str] | None = None, extra: list | None = None, peer: str = "127.0.0.1"
) -> dict:
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1:8080", **(headers or {})}.items()]
    return {"type": "http", "path_params": {"token": token}, "headers": raw + (extra or []), "client": (peer, 40000)}


def refusal(g: Guard, s: dict) -> int | None:
    result = g.check(s)
    return None if result is None else result.response.status_code


def test_right_token_passes_and_wrong_token_is_not_found() -> None:
    g = guard()
    assert refusal(g, scope()) is None
    assert refusal(g, scope("s3cret-url-tokeN")) == 404
    assert refusal(g, scope("")) == 404


def test_foreign_host_and_origin() -> None:
    g = guard()
    assert refusal(g, scope(headers={"host": "evil.example"})) == 421
    assert refusal(g, scope(headers={"origin": "https://evil.example"})) == 403
    assert refusal(g, scope(headers={"origin": "http://localhost:6274"})) is None


def test_public_url_and_extra_hosts_are_accepted() -> None:
    g = guard(MCP_PUBLIC_URL="https://mcp.clinic.example", MCP_ALLOWED_HOSTS="svc.ns.svc:8080")
    assert refusal(g, scope(headers={"host": "mcp.clinic.example", "origin": "https://mcp.clinic.example"})) is None
    assert refusal(g, scope(headers={"host": "svc.ns.svc:8080"})) is None
    assert refusal(g, scope(headers={"host": "other.ns.svc:8080"})) == 421


def test_the_previous_token_is_accepted_until_its_deadline_exactly() -> None:
    deadline = EXPIRES.timestamp()
    env = {"MCP_PREVIOUS_TOKEN_SHA256": sha("old-url-token"), "MCP_PREVIOUS_TOKEN_UNTIL": EXPIRES.isoformat()}
    assert refusal(guard(deadline - 0.001, **env), scope("old-url-token")) is None
    assert refusal(guard(deadline, **env), scope("old-url-token")) == 404
    assert refusal(guard(deadline + 1, **env), scope()) is None, "the current token is not affected"
    assert refusal(guard(0.0, **env), scope("")) == 404


def test_a_previous_token_without_a_deadline_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="MCP_PREVIOUS_TOKEN_SHA256 and MCP_PREVIOUS_TOKEN_UNTIL go together"):
        guard(MCP_PREVIOUS_TOKEN_SHA256=sha("old-url-token"))


def test_expiry_is_exact_to_the_millisecond() -> None:
    instant = EXPIRES.timestamp()
    env = {"MCP_EXPIRES_AT": EXPIRES.isoformat()}
    assert refusal(guard(instant - 0.001, **env), scope()) is None
    expired = guard(instant, **env).check(scope())
    assert expired is not None and expired.response.status_code == 410
    assert b"expired at 2026-12-31T23:59:59.500000+00:00" in expired.response.body


def test_expiry_is_checked_after_the_token() -> None:
    # An expired server must not confirm that it exists to someone without its token.
    assert refusal(guard(EXPIRES.timestamp() + 1, MCP_EXPIRES_AT=EXPIRES.isoformat()), scope("nope")) == 404


@pytest.fixture
def api_guard() -> Guard:
    return guard(MCP_REQUIRE_API_TOKEN="true", MCP_API_TOKEN_SHA256S=f"{sha('other')},{sha(API_TOKEN)}")


@pytest.mark.parametrize(
    ("headers", "extra", "status"),
    [
        ({"authorization": f"Bearer {API_TOKEN}"}, None, None),
        ({"authorization": f"bearer {API_TOKEN}"}, None, None),
        ({}, None, 401),
        ({"authorization": "Bearer wrong"}, None, 401),
        ({"authorization": f"Basic {API_TOKEN}"}, None, 401),
        ({"authorization": "Bearer "}, None, 401),
        ({"authorization": f"Bearer {API_TOKEN}"}, [(b"authorization", b"Bearer wrong")], 401),
    ],
)
def test_api_tokens(api_guard: Guard, headers: dict, extra: list | None, status: int | None) -> None:
    assert refusal(api_guard, scope(headers=headers, extra=extra)) == status


def test_api_token_refusal_names_the_scheme(api_guard: Guard) -> None:
    result = api_guard.check(scope())
    assert result is not None and result.response.headers["www-authenticate"].startswith("Bearer")


def test_refusals_are_counted_by_reason() -> None:
    metrics = ProxyMetrics()
    g = guard(metrics=metrics)
    g.check(scope("nope"))
    g.check(scope(headers={"origin": "https://evil.example"}))
    samples = {
        s.labels["reason"]: s.value
        for metric in metrics.registry.collect()
        for s in metric.samples
        if s.name == "coviu_mcp_auth_failures_total"
    }
    assert samples == {"token": 1.0, "origin": 1.0}


def test_valid_credentials_are_never_refused_for_other_clients_failures() -> None:
    g = guard(MCP_AUTH_FAILURE_LIMIT="3")
    assert [refusal(g, scope("guess")) for _ in range(4)] == [404, 404, 404, 429]
    assert refusal(g, scope()) is None
    assert refusal(g, scope("guess")) == 429


def test_expiry_is_told_to_token_holders_even_when_their_address_is_blocked() -> None:
    g = guard(EXPIRES.timestamp() + 1, MCP_EXPIRES_AT=EXPIRES.isoformat(), MCP_AUTH_FAILURE_LIMIT="1")
    assert [refusal(g, scope("guess")) for _ in range(2)] == [404, 429]
    assert refusal(g, scope()) == 410


def forwarded(hops: str, peer: str = "10.0.0.5") -> dict:
    return scope("guess", headers={"x-forwarded-for": hops}, peer=peer)


def test_the_client_is_the_rightmost_hop_the_trusted_ingress_did_not_add() -> None:
    g = guard(MCP_AUTH_FAILURE_LIMIT="2", MCP_FORWARDED_ALLOW_IPS="10.0.0.0/8")
    # Rotating the client-written part of the header does not make a new client.
    assert [refusal(g, forwarded(f"192.0.2.{n}, 198.51.100.7")) for n in range(3)] == [404, 404, 429]
    # Naming a victim in the header does not block the victim.
    victim = "203.0.113.20"
    for _ in range(3):
        g.check(forwarded(f"{victim}, 198.51.100.7"))
    assert refusal(g, forwarded(victim)) == 404
    # Trusted hops in the chain are skipped; the first untrusted one is the client.
    assert refusal(g, forwarded("198.51.100.7, 10.1.2.3")) == 429


def test_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    g = guard(MCP_AUTH_FAILURE_LIMIT="2", MCP_FORWARDED_ALLOW_IPS="10.0.0.0/8")
    assert [refusal(g, forwarded(f"192.0.2.{n}", peer="198.51.100.9")) for n in range(3)] == [404, 404, 429]
    g = guard(MCP_AUTH_FAILURE_LIMIT="2")
    assert [refusal(g, forwarded(f"192.0.2.{n}")) for n in range(3)] == [404, 404, 429]
