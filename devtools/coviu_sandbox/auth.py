"""OAuth2 as Coviu does it: ``POST /v1/auth/token`` with HTTP Basic client credentials.

Access tokens are JWT-shaped (the Coviu SDKs decode them for ``userId``), signed with a key that
lives only as long as the process, and expire after the configured TTL. Refresh tokens are opaque,
do not expire and rotate: each can be used once. Revoking bumps a generation number that every
access token carries, which invalidates all of them at once without a token list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

from coviu_sandbox.errors import BadRequest, Unauthorized
from coviu_sandbox.timestamps import Clock

_FORM = "application/x-www-form-urlencoded"
_SUPPORTED = "client_credentials and refresh_token"


class TokenIssuer:
    def __init__(self, *, client_id: str, client_secret: str, ttl_s: int, user_id: str, clock: Clock) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._ttl_s = ttl_s
        self._user_id = user_id
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._generation = 0
        self._refresh_tokens: dict[str, str] = {}

    def grant(self, authorization: str | None, content_type: str | None, body: bytes) -> dict[str, Any]:
        """Answer a token request.

        Raises:
            BadRequest: bad client credentials, body or grant (Coviu answers all of these with 400).
        """
        client_id = self._client_from_basic(authorization)
        if (content_type or "").split(";")[0].strip().lower() != _FORM:
            raise BadRequest("invalid_request", f"the token endpoint takes an {_FORM} body")
        try:
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            raise BadRequest("invalid_request", "the token request body is not UTF-8") from None
        grant_type = form.get("grant_type")
        if not grant_type:
            raise BadRequest("invalid_request", f"grant_type is required (supported: {_SUPPORTED})")
        if grant_type == "refresh_token":
            self._redeem(form.get("refresh_token"), client_id)
        elif grant_type != "client_credentials":
            raise BadRequest(
                "unsupported_grant_type",
                f"grant_type {grant_type!r} is not supported by the sandbox (supported: {_SUPPORTED})",
            )
        return self._issue(client_id)

    def authenticate(self, authorization: str | None) -> str:
        """The client id behind a bearer token.

        Raises:
            Unauthorized: the token is missing, malformed, forged, revoked or expired.
        """
        if not authorization:
            raise _unauthorized(
                "missing_token", "send Authorization: Bearer <access_token>; get a token from POST /v1/auth/token"
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("invalid_token", "the Authorization header must be 'Bearer <access_token>'")
        claims = self._verify(token.strip())
        if claims["gen"] != self._generation:
            raise _unauthorized("invalid_token", "the access token was revoked; request a new one")
        if claims["exp"] <= self._clock():
            raise _unauthorized(
                "token_expired", "the access token has expired; refresh it with grant_type=refresh_token"
            )
        return str(claims["sub"])

    def revoke_access_tokens(self) -> None:
        self._generation += 1

    def _client_from_basic(self, authorization: str | None) -> str:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            raise BadRequest(
                "invalid_client", "authenticate with HTTP Basic: Authorization: Basic base64(client_id:client_secret)"
            )
        try:
            client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(
                "invalid_client", "the Basic credentials are not valid base64 of client_id:client_secret"
            ) from None
        known = hmac.compare_digest(client_id.encode(), self._client_id.encode())
        if not (known and hmac.compare_digest(secret.encode(), self._client_secret.encode())):
            raise BadRequest("invalid_client", "unknown client id or wrong client secret")
        return client_id

    def _redeem(self, refresh_token: str | None, client_id: str) -> None:
        if not refresh_token:
            raise BadRequest("invalid_request", "grant_type=refresh_token needs a refresh_token parameter")
        if self._refresh_tokens.get(refresh_token) != client_id:
            raise BadRequest(
                "invalid_grant", "the refresh token is unknown or was already used (refresh tokens rotate)"
            )
        del self._refresh_tokens[refresh_token]

    def _issue(self, client_id: str) -> dict[str, Any]:
        issued_at = self._clock()
        claims = {
            "sub": client_id,
            "userId": self._user_id,
            "iat": issued_at,
            "exp": issued_at + self._ttl_s,
            "gen": self._generation,
            "jti": secrets.token_hex(8),
        }
        refresh_token = secrets.token_urlsafe(32)
        self._refresh_tokens[refresh_token] = client_id
        return {
            "access_token": self._sign(claims),
            "refresh_token": refresh_token,
            "expires_in": self._ttl_s,
            "token_type": "Bearer",
            "scope": "",
        }

    def _sign(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def _verify(self, token: str) -> dict[str, Any]:
        forged = _unauthorized("invalid_token", "the access token was not issued by this server")
        parts = token.split(".")
        if len(parts) != 3:
            raise forged
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(expected).encode(), parts[2].encode()):
            raise forged
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unauthorized(code: str, message: str) -> Unauthorized:
    challenge = 'Bearer realm="coviu"'
    if code != "missing_token":
        challenge += ', error="invalid_token"'
    return Unauthorized(code, message, {"WWW-Authenticate": challenge})
