"""Attacks on authentication: other servers' tokens, bypass attempts, DNS rebinding, guessing."""

from __future__ import annotations

import hashlib

from .proxy_harness import LEGACY_HEADERS, TOKEN, call_body, stack

BODY = call_body("get_single_coviu_team", {})
API_TOKEN = "an-api-token"


async def test_a_token_of_another_server_is_not_found() -> None:
    other = hashlib.sha256(b"another-server-token").hexdigest()
    async with stack(MCP_TOKEN_SHA256=other) as s:
        response = await s.http.post(f"/mcp/{TOKEN}", json=BODY, headers=LEGACY_HEADERS)
        assert response.status_code == 404
        assert (await s.http.post("/mcp/another-server-token", json=BODY, headers=LEGACY_HEADERS)).status_code == 200


async def test_api_token_bypass_attempts_fail() -> None:
    env = {"MCP_REQUIRE_API_TOKEN": "true", "MCP_API_TOKEN_SHA256S": hashlib.sha256(API_TOKEN.encode()).hexdigest()}
    async with stack(**env) as s:
        url = f"/mcp/{TOKEN}"
        attempts = [
            {"authorization": f"Bearer {API_TOKEN}x"},
            {"authorization": API_TOKEN},
            {"authorization": f"Token {API_TOKEN}"},
            {"x-api-token": API_TOKEN},
            {"authorization": f"Bearer {API_TOKEN.upper()}"},
        ]
        for headers in attempts:
            response = await s.http.post(url, json=BODY, headers={**LEGACY_HEADERS, **headers})
            assert response.status_code == 401, headers
        duplicated = [*LEGACY_HEADERS.items(), ("authorization", f"Bearer {API_TOKEN}"), ("authorization", "Bearer x")]
        assert (await s.http.post(url, json=BODY, headers=duplicated)).status_code == 401
        assert (
            await s.http.post(f"{url}?authorization=Bearer%20{API_TOKEN}", json=BODY, headers=LEGACY_HEADERS)
        ).status_code == 401
        case = await s.http.post(url, json=BODY, headers={**LEGACY_HEADERS, "AUTHORIZATION": f"BEARER {API_TOKEN}"})
        assert case.status_code == 200  # header names and the scheme are case-insensitive, the token is not


async def test_dns_rebinding_is_refused_even_with_the_right_token() -> None:
    async with stack() as s:
        for headers in ({"host": "attacker.example"}, {"host": "127.0.0.1.attacker.example"}, {"origin": "http://attacker.example"}):
            response = await s.http.post(f"/mcp/{TOKEN}", json=BODY, headers={**LEGACY_HEADERS, **headers})
            assert response.status_code in (403, 421), headers


async def test_guessing_is_throttled_but_the_right_token_still_gets_in() -> None:
    async with stack(MCP_AUTH_FAILURE_LIMIT="5", MCP_AUTH_FAILURE_WINDOW="600") as s:
        for n in range(5):
            assert (await s.http.post(f"/mcp/guess-{n}", json=BODY, headers=LEGACY_HEADERS)).status_code == 404
        blocked = await s.http.post("/mcp/guess-5", json=BODY, headers=LEGACY_HEADERS)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        # Same address, right token: other clients' failures never lock a real user out.
        assert (await s.http.post(f"/mcp/{TOKEN}", json=BODY, headers=LEGACY_HEADERS)).status_code == 200
        metrics = (await s.admin.get("/metrics")).text
        assert 'coviu_mcp_auth_failures_total{reason="throttled"} 1.0' in metrics
        assert 'coviu_mcp_auth_failures_total{reason="token"} 5.0' in metrics


async def test_right_url_and_api_tokens_get_in_while_their_address_is_blocked() -> None:
    env = {
        "MCP_AUTH_FAILURE_LIMIT": "3", "MCP_REQUIRE_API_TOKEN": "true",
        "MCP_API_TOKEN_SHA256S": hashlib.sha256(API_TOKEN.encode()).hexdigest(),
    }
    async with stack(**env) as s:
        url = f"/mcp/{TOKEN}"
        wrong_api = {**LEGACY_HEADERS, "authorization": "Bearer guess"}
        assert [(await s.http.post(url, json=BODY, headers=wrong_api)).status_code for _ in range(4)] == [
            401,
            401,
            401,
            429,
        ]
        right = {**LEGACY_HEADERS, "authorization": f"Bearer {API_TOKEN}"}
        assert (await s.http.post(url, json=BODY, headers=right)).status_code == 200


# Every way of writing a wrong token, and paths that are no endpoint at all.
WRONG_PATHS = [
    "/mcp/wrong",
    "/mcp/wrong/",
    "/mcp/wrong//",
    "/mcp//wrong",
    "/mcp/wrong/x",
    "/mcp/wrong/files/get_single_coviu_team",
    "/mcp/wrong/files/",
    "/MCP/wrong",
    "/mcp/wrong%2F",
    "/mcp/",
    "/mcp",
    "/",
    "/mcp/files/",
    "/mcp/files/nope",
    f"/mcp/{TOKEN}/",
    f"/mcp/{TOKEN}/files/get_single_coviu_audio_recording_by_id",
    "/healthz",
    "/metrics",
]


async def test_every_path_variant_of_a_wrong_token_gets_the_same_answer() -> None:
    async with stack(MCP_AUTH_FAILURE_LIMIT="0") as s:
        reference = await s.http.post("/mcp/wrong", json=BODY, headers=LEGACY_HEADERS)
        assert reference.status_code == 404
        for path in WRONG_PATHS:
            for method in ("GET", "POST", "DELETE", "OPTIONS"):
                response = await s.http.request(method, path, json=BODY, headers=LEGACY_HEADERS)
                assert response.status_code == 404, (method, path)
                assert "location" not in response.headers, (method, path)
                assert (response.content, sorted(response.headers.items())) == (
                    reference.content, sorted(reference.headers.items())
                ), (method, path)
        foreign = await s.http.get("/mcp/wrong/", headers={"host": "attacker.example"})
        assert foreign.status_code == 421 and "location" not in foreign.headers


async def test_unknown_paths_count_as_failed_attempts() -> None:
    async with stack(MCP_AUTH_FAILURE_LIMIT="3") as s:
        statuses = [(await s.http.get(path)).status_code for path in ("/mcp/a/", "/mcp/b/x", "/nothing", "/mcp/c/")]
        assert statuses == [404, 404, 404, 429]
