"""The Coviu client: one pooled HTTP client per process, and OAuth tokens shared by all calls.

httpx is the API; the transport under it is aiohttp's, chosen by measurement: httpx's default
transport scans its whole pool on every request and cost several times the CPU per call.
`make_transport` is the one place that choice is made.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from .config import ServerSettings
from .errors import ProxyError, UpstreamAuthError, UpstreamUnavailableError
from .tokens import GrantBackoff

log = logging.getLogger(__name__)

_STREAM_CHUNK_BYTES = 256 * 1024

# Refresh this long before Coviu says a token expires, capped at half its lifetime.
_REFRESH_MARGIN_SECONDS = 60.0


def make_transport(max_connections: int = 100) -> httpx.AsyncBaseTransport:
    return _AiohttpTransport(limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections))


class _AiohttpTransport(AiohttpTransport):
    """httpx-aiohttp with larger reads, and errors that say what happened (it maps most aiohttp
    connection failures to a connect *timeout*)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ClientSSLError):
                raise httpx.ConnectError(f"TLS failure (certificate or handshake): {cause}") from exc
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(f"cannot connect: {cause.os_error or cause}") from exc
            if isinstance(cause, aiohttp.ServerDisconnectedError):
                raise httpx.RemoteProtocolError("Coviu closed the connection without answering") from exc
            raise
        # Recordings stream through in large reads: at the default 16 KiB, per-chunk Python work
        # costs as much CPU as moving the bytes.
        response.stream.CHUNK_SIZE = _STREAM_CHUNK_BYTES  # type: ignore[attr-defined]
        return response


@dataclass
class _AccessToken:
    value: str
    refresh_at: float


class TokenSource:
    """Coviu OAuth2 access tokens: cached, refreshed before expiry, one refresh at a time.

    A burst of calls with an expired token waits on one lock and sees the token the first
    caller fetched, so 100 concurrent calls cause a single token request; a failed grant is
    shared the same way for a growing cool-down (tokens.py).
    """

    def __init__(self, http: httpx.AsyncClient, settings: ServerSettings) -> None:
        self._http = http
        self._auth = (settings.client_id, settings.client_secret.get_secret_value())
        self._refresh_token = settings.refresh_token.get_secret_value() if settings.refresh_token else None
        self._current: _AccessToken | None = None
        self._lock = asyncio.Lock()
        self._backoff = GrantBackoff()

    async def get(self) -> str:
        current = self._current
        if current is not None and time.monotonic() < current.refresh_at:
            return current.value
        async with self._lock:
            current = self._current
            if current is not None and time.monotonic() < current.refresh_at:
                return current.value
            self._backoff.check()
            try:
                self._current = await self._fetch()
            except ProxyError as exc:
                self._backoff.failed(exc)
                raise
            self._backoff.succeeded()
            return self._current.value

    def discard(self, value: str) -> None:
        """Forget a token Coviu has just refused, unless a newer one already replaced it."""
        if self._current is not None and self._current.value == value:
            self._current = None

    async def _fetch(self) -> _AccessToken:
        if self._refresh_token:
            try:
                return await self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
            except UpstreamAuthError:
                log.warning("Coviu refused the refresh token; falling back to client credentials")
                self._refresh_token = None
        return await self._grant({"grant_type": "client_credentials"})

    async def _grant(self, form: dict[str, str]) -> _AccessToken:
        try:
            response = await self._http.post("auth/token", data=form, auth=self._auth)
        except httpx.TransportError as exc:
            raise UpstreamUnavailableError(f"Coviu token endpoint unreachable: {exc}") from exc
        if response.status_code in (400, 401, 403):
            raise UpstreamAuthError(
                f"Coviu refused the OAuth credentials (HTTP {response.status_code}); check the credentials Secret"
            )
        if response.status_code != 200:
            raise UpstreamUnavailableError(f"Coviu token endpoint answered HTTP {response.status_code}")
        try:
            payload = response.json()
            value = str(payload["access_token"])
            lifetime = float(payload.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamUnavailableError("Coviu token endpoint sent an unreadable answer") from exc
        if payload.get("refresh_token"):
            self._refresh_token = str(payload["refresh_token"])
        margin = min(_REFRESH_MARGIN_SECONDS, lifetime / 2)
        return _AccessToken(value, time.monotonic() + lifetime - margin)


class CoviuClient:
    """Calls Coviu with a valid token, retrying exactly once when Coviu revokes a token.

    Nothing else is retried: rate limits and errors go back to the caller as they came.
    """

    def __init__(self, settings: ServerSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        base = str(settings.api_base_url).rstrip("/") + "/"
        timeout = httpx.Timeout(settings.upstream_timeout)
        self.http = httpx.AsyncClient(
            base_url=base, timeout=timeout, transport=transport or make_transport(), follow_redirects=False
        )
        # Downloads get their own pool, so slow downloaders never hold the connections calls need.
        self.downloads = httpx.AsyncClient(
            base_url=base, timeout=timeout, transport=transport or make_transport(settings.max_downloads),
            follow_redirects=False,
        )
        self.tokens = TokenSource(self.http, settings)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.downloads.aclose()

    async def request(
        self, method: str, path: str, query: Mapping[str, str], body: Mapping[str, Any] | None
    ) -> httpx.Response:
        request = self.http.build_request(method, path.lstrip("/"), params=query, json=body)
        return await self._send(request, stream=False)

    async def open_stream(
        self, path: str, query: Mapping[str, str], headers: Mapping[str, str], *, download: bool = False
    ) -> httpx.Response:
        """A GET whose body is not read yet (on the download pool if `download`); the caller must `aclose()` it."""
        http = self.downloads if download else self.http
        request = http.build_request("GET", path.lstrip("/"), params=query, headers=dict(headers))
        return await self._send(request, stream=True, http=http)

    async def _send(self, request: httpx.Request, *, stream: bool, http: httpx.AsyncClient | None = None) -> httpx.Response:
        http = http or self.http
        token = await self.tokens.get()
        response = await self._send_once(http, request, token, stream)
        if response.status_code == 401:
            await response.aclose()
            self.tokens.discard(token)
            response = await self._send_once(http, request, await self.tokens.get(), stream)
        return response

    async def _send_once(self, http: httpx.AsyncClient, request: httpx.Request, token: str, stream: bool) -> httpx.Response:
        request.headers["Authorization"] = f"Bearer {token}"
        try:
            return await http.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailableError("Coviu did not answer in time") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailableError(f"Coviu connection failed: {exc}") from exc
