"""Who may use this server, and until when: Host, Origin, URL token, expiry and API tokens.

Every check runs before any MCP or Coviu code sees the request. The URL token is known only
as a SHA-256 digest and compared in constant time; a wrong token, a bad download link and an
unknown path all get the same 404, so probing cannot tell that a server exists. A client that
keeps failing is refused with 429, but only its failing attempts: valid credentials always get
in, so a guesser sharing an address with real users (an ingress) cannot lock them out.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Scope

from .clients import ClientResolver
from .config import ServerSettings
from .metrics import ProxyMetrics
from .throttle import FailureThrottle

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Refusal:
    reason: str
    response: Response


def not_found() -> Response:
    """The one answer for a wrong token, a bad link and any unknown path."""
    return PlainTextResponse("Not Found", 404)


class Guard:
    def __init__(self, settings: ServerSettings, metrics: ProxyMetrics, clock: Callable[[], float] = time.time) -> None:
        self._token_sha256 = settings.token_sha256
        self._previous_sha256 = settings.previous_token_sha256 or ""
        self._previous_until = settings.previous_token_until.timestamp() if settings.previous_token_until else 0.0
        self._api_token_sha256s = settings.api_token_sha256s if settings.require_api_token else None
        self._expires_at = settings.expires_at.timestamp() if settings.expires_at else None
        self._expires_text = settings.expires_at.isoformat() if settings.expires_at else ""
        self._any_host = "*" in settings.allowed_hosts
        self._hosts = {h.lower() for h in (*_LOOPBACK_HOSTS, *settings.allowed_hosts)} | (
            {settings.public_host.lower()} if settings.public_host else set()
        )
        self._origins = {o.lower().rstrip("/") for o in settings.allowed_origins} | (
            {f"{settings.public_url.scheme}://{settings.public_host}".lower()} if settings.public_url else set()
        )
        self._metrics = metrics
        self._clock = clock
        self._throttle = FailureThrottle(settings.auth_failure_limit, settings.auth_failure_window, clock)
        self._clients = ClientResolver(settings.forwarded_allow_ips)

    def check(self, scope: Scope) -> Refusal | None:
        """The MCP endpoint: URL token, expiry, then the API token when one is required."""
        headers = Headers(scope=scope)
        refusal = self._check_browser(headers)
        if refusal is not None:
            return refusal
        if not self._token_matches(scope.get("path_params", {}).get("token", "")):
            return self._fail(scope, "token", not_found())
        if self._expires_at is not None and self._clock() >= self._expires_at:
            return self._refuse("expired", self.expired())
        if self._api_token_sha256s is not None and not self._api_token_valid(headers):
            return self._fail(
                scope,
                "api_token",
                PlainTextResponse(
                    "This MCP server requires Authorization: Bearer <API token>",
                    401,
                    headers={"WWW-Authenticate": 'Bearer realm="coviu-mcp", error="invalid_token"'},
                ),
            )
        return None

    def check_link(self, scope: Scope, valid: bool) -> Refusal | None:
        """A download link: its signature and lifetime were checked by the caller (`valid`)."""
        refusal = self._check_browser(Headers(scope=scope))
        if refusal is not None or valid:
            return refusal
        return self._fail(scope, "link", not_found())

    def _check_browser(self, headers: Headers) -> Refusal | None:
        if not self._host_allowed(headers.get("host", "")):
            return self._refuse("host", PlainTextResponse("Invalid Host header", 421))
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin):
            return self._refuse("origin", PlainTextResponse("Origin not allowed", 403))
        return None

    def _fail(self, scope: Scope, reason: str, response: Response) -> Refusal:
        """A failed attempt: counted against its client, refused with 429 once it failed too often."""
        client = self._clients.client(scope)
        wait = self._throttle.retry_after(client)
        if wait is not None:
            return self._refuse(
                "throttled",
                PlainTextResponse(
                    "Too many failed attempts", 429, headers={"Retry-After": str(max(1, math.ceil(wait)))}
                ),
            )
        self._throttle.record_failure(client)
        return self._refuse(reason, response)

    def _refuse(self, reason: str, response: Response) -> Refusal:
        self._metrics.auth_failures.labels(reason).inc()
        return Refusal(reason, response)

    def expired(self) -> Response:
        message = f"This MCP server expired at {self._expires_text}; ask its owner for a new one."
        return JSONResponse(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}, status_code=410
        )

    def _token_matches(self, token: str) -> bool:
        """The current token, or the one before a rotation until its deadline. Both digests are
        always compared, so the answer takes the same time either way."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
        current = hmac.compare_digest(digest, self._token_sha256)
        previous = hmac.compare_digest(digest, self._previous_sha256) and self._clock() < self._previous_until
        return current or previous

    def _api_token_valid(self, headers: Headers) -> bool:
        values = headers.getlist("authorization")
        if len(values) != 1:
            return False
        scheme, _, credential = values[0].partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return False
        digest = hashlib.sha256(credential.strip().encode()).hexdigest()
        matched = False
        for accepted in self._api_token_sha256s or ():
            matched |= hmac.compare_digest(digest, accepted)
        return matched

    def _host_allowed(self, host: str) -> bool:
        if self._any_host:
            return True
        host = host.lower()
        if host in self._hosts:
            return True
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self._hosts

    def _origin_allowed(self, origin: str) -> bool:
        origin = origin.lower().rstrip("/")
        if origin in self._origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")

