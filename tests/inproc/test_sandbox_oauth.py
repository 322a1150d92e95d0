"""OAuth2 against the in-process sandbox: grants, expiry, refresh, revocation and every 401."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from coviu_sandbox.settings import SandboxSettings
from coviu_sandbox.testing import InProcessSandbox

TEAM = "/v1/user/team"


@pytest.fixture
async def sandbox() -> AsyncIterator[InProcessSandbox]:
    async with InProcessSandbox(SandboxSettings(token_ttl_s=60)) as sandbox:
        yield sandbox


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_client_credentials_grant(sandbox: InProcessSandbox) -> None:
    response = await sandbox.token()
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    grant = response.json()
    assert set(grant) == {"access_token", "refresh_token", "expires_in", "token_type", "scope"}
    assert (grant["expires_in"], grant["token_type"], grant["scope"]) == (60, "Bearer", "")
    claims = json.loads(base64.urlsafe_b64decode(grant["access_token"].split(".")[1] + "=="))
    assert claims["sub"] == "sandbox-client" and "userId" in claims
    team = await sandbox.client.get(TEAM, headers=_bearer(grant["access_token"]))
    assert team.status_code == 200 and team.json()["team_id"] == sandbox.seed["team_id"]


async def test_expired_token_is_401_until_refreshed(sandbox: InProcessSandbox) -> None:
    grant = (await sandbox.token()).json()
    sandbox.clock.advance(59)
    assert (await sandbox.client.get(TEAM, headers=_bearer(grant["access_token"]))).status_code == 200
    sandbox.clock.advance(1)
    expired = await sandbox.client.get(TEAM, headers=_bearer(grant["access_token"]))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "token_expired"
    assert expired.headers["www-authenticate"] == 'Bearer realm="coviu", error="invalid_token"'
    refreshed = await sandbox.token(grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert refreshed.status_code == 200
    assert (await sandbox.client.get(TEAM, headers=_bearer(refreshed.json()["access_token"]))).status_code == 200


async def test_refresh_tokens_are_single_use(sandbox: InProcessSandbox) -> None:
    grant = (await sandbox.token()).json()
    first = await sandbox.token(grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert first.status_code == 200 and first.json()["refresh_token"] != grant["refresh_token"]
    again = await sandbox.token(grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_grant"
    rotated = await sandbox.token(grant_type="refresh_token", refresh_token=first.json()["refresh_token"])
    assert rotated.status_code == 200


async def test_revoked_tokens_are_401_but_refresh_still_works(sandbox: InProcessSandbox) -> None:
    grant = (await sandbox.token()).json()
    assert (await sandbox.client.post("/_sandbox/revoke-tokens")).json() == {"ok": True}
    revoked = await sandbox.client.get(TEAM, headers=_bearer(grant["access_token"]))
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "invalid_token"
    refreshed = await sandbox.token(grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert (await sandbox.client.get(TEAM, headers=_bearer(refreshed.json()["access_token"]))).status_code == 200


async def test_tampered_token_is_forged(sandbox: InProcessSandbox) -> None:
    header, payload, signature = (await sandbox.token()).json()["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 86_400
    longer = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = await sandbox.client.get(TEAM, headers=_bearer(f"{header}.{longer}.{signature}"))
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("Bearer", "invalid_token"),
        ("Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ=", "invalid_token"),
        ("Bearer not-a-token", "invalid_token"),
        ("Bearer a.b.c", "invalid_token"),
        ("Bearer ünïcode.ä.ö", "invalid_token"),
    ],
)
async def test_every_api_path_needs_a_valid_bearer(
    sandbox: InProcessSandbox, authorization: str | None, code: str
) -> None:
    headers = {} if authorization is None else {b"Authorization": authorization.encode("latin-1")}
    for path in (TEAM, "/v1/sessions", f"/v1/waiting/{sandbox.seed['team_id']}", "/v1/no-such-endpoint"):
        response = await sandbox.client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == code
        assert ("error=" in response.headers["www-authenticate"]) == (code != "missing_token")


@pytest.mark.parametrize(
    ("auth", "form", "code"),
    [
        (("sandbox-client", "wrong"), {"grant_type": "client_credentials"}, "invalid_client"),
        (("someone-else", "sandbox-secret"), {"grant_type": "client_credentials"}, "invalid_client"),
        (None, {"grant_type": "client_credentials", "client_id": "sandbox-client"}, "invalid_client"),
        (("sandbox-client", "sandbox-secret"), {}, "invalid_request"),
        (
            ("sandbox-client", "sandbox-secret"),
            {"grant_type": "authorization_code", "code": "x"},
            "unsupported_grant_type",
        ),
        (("sandbox-client", "sandbox-secret"), {"grant_type": "password"}, "unsupported_grant_type"),
        (("sandbox-client", "sandbox-secret"), {"grant_type": "refresh_token"}, "invalid_request"),
        (
            ("sandbox-client", "sandbox-secret"),
            {"grant_type": "refresh_token", "refresh_token": "nope"},
            "invalid_grant",
        ),
    ],
)
async def test_bad_token_requests_are_400(
    sandbox: InProcessSandbox, auth: tuple[str, str] | None, form: dict[str, str], code: str
) -> None:
    basic = httpx.BasicAuth(*auth) if auth else httpx.USE_CLIENT_DEFAULT
    response = await sandbox.client.post("/v1/auth/token", data=form, auth=basic)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


async def test_token_body_must_be_a_form(sandbox: InProcessSandbox) -> None:
    credentials = ("sandbox-client", "sandbox-secret")
    as_json = await sandbox.client.post("/v1/auth/token", json={"grant_type": "client_credentials"}, auth=credentials)
    assert as_json.status_code == 400 and "x-www-form-urlencoded" in as_json.json()["error"]["message"]
    garbled = await sandbox.client.post(
        "/v1/auth/token", headers={"Authorization": "Basic %%%", "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert garbled.status_code == 400 and garbled.json()["error"]["code"] == "invalid_client"
