"""The Coviu client: one pooled aiohttp session per process, and OAuth tokens shared by all calls.

aiohttp is called directly, chosen by measurement: it costs a fraction of the CPU per call of
httpx's default transport (which scans its whole pool on every request) and about a fifth
less than httpx layered over aiohttp. Tests that run Coviu in-process pass an httpx transport
instead; only then is `upstream_httpx` imported.
"""

from __future__ import annotations

import asyncio
import base64
import http
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import aiohttp
import orjson
from yarl import URL

from .config import ServerSettings
from .errors import ProxyError, UpstreamAuthError, UpstreamUnavailableError
from .tokens import GrantBackoff

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# Recordings stream through in large reads: at 16 KiB, per-chunk Python work costs as much
# CPU as moving the bytes.
STREAM_CHUNK_BYTES = 256 * 1024

# Connections to Coviu for tool calls and token grants; downloads have their own MCP_MAX_DOWNLOADS.
_CALL_CONNECTIONS = 100

# Refresh this long before Coviu says a token expires, capped at half its lifetime.
_REFRESH_MARGIN_SECONDS = 60.0


class Unreachable(Exception):
    """No HTTP answer from Coviu: the detail says why, for the caller to put in context."""

    def __init__(self, detail: str, *, timed_out: bool = False) -> None:
        super().__init__(detail)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Reply:
    """A Coviu answer with its body read; header names are lower-case."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def reason_phrase(self) -> str:
        try:
            return http.HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    def json(self) -> Any:
        return orjson.loads(self.content)


class Stream(Protocol):
    """A Coviu answer whose body is still to be read; the caller must `aclose()` it."""

    status_code: int

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def aread(self) -> bytes: ...

    def aiter_raw(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class Http(Protocol):
    """The HTTP client under CoviuClient: opens one request, raises Unreachable without an answer."""

    async def open(
        self, method: str, url: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes | None
    ) -> Stream: ...

    async def aclose(self) -> None: ...


class _AiohttpStream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status_code = response.status
        self.headers = {name.lower(): value for name, value in response.headers.items()}

    async def aread(self) -> bytes:
        try:
            return await self._response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unreachable(exc) from exc

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        # Each piece as the socket delivered it (up to the read buffer's size), without joining.
        async for chunk, _ in self._response.content.iter_chunks():
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpHttp:
    def __init__(self, timeout: float, max_connections: int) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout),
            connector=aiohttp.TCPConnector(limit=max_connections),
            auto_decompress=False,
            read_bufsize=STREAM_CHUNK_BYTES,
        )

    async def open(
        self, method: str, url: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes | None
    ) -> Stream:
        target = URL(f"{url}?{urlencode(query)}" if query else url, encoded=True)
        try:
            response = await self._session.request(
                method, target, headers=headers, data=body, allow_redirects=False
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unreachable(exc) from exc
        return _AiohttpStream(response)

    async def aclose(self) -> None:
        await self._session.close()


def _make_http(timeout: float, max_connections: int, transport: httpx.AsyncBaseTransport | None) -> Http:
    """aiohttp to Coviu, or the given httpx transport (how tests put an in-process Coviu underneath)."""
    if transport is None:
        return AiohttpHttp(timeout, max_connections)
    from .upstream_httpx import HttpxHttp

    return HttpxHttp(transport, timeout)


def _unreachable(exc: BaseException) -> Unreachable:
    if isinstance(exc, asyncio.TimeoutError):
        return Unreachable("no answer in time", timed_out=True)
    if isinstance(exc, aiohttp.ClientSSLError):
        return Unreachable(f"TLS failure (certificate or handshake): {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Unreachable(f"cannot connect: {exc.os_error or exc}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Unreachable("Coviu closed the connection without answering")
    return Unreachable(str(exc) or type(exc).__name__)


def _unavailable(exc: Unreachable) -> UpstreamUnavailableError:
    """The error a tool call reports when Coviu's answer, or the rest of its body, never came."""
    if exc.timed_out:
        return UpstreamUnavailableError("Coviu did not answer in time")
    return UpstreamUnavailableError(f"Coviu connection failed: {exc}")


class _Answer:
    """A Stream as CoviuClient hands it out: a body that stops arriving is reported like an
    answer that never came, so a tool call names the cause instead of crashing."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self.status_code = stream.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._stream.headers

    async def aread(self) -> bytes:
        try:
            return await self._stream.aread()
        except Unreachable as exc:
            raise _unavailable(exc) from exc

    def aiter_raw(self) -> AsyncIterator[bytes]:
        # A download cut mid-body aborts the client's connection whatever the error's type.
        return self._stream.aiter_raw()

    async def aclose(self) -> None:
        await self._stream.aclose()


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

    def __init__(self, client: Http, token_url: str, settings: ServerSettings) -> None:
        self._client = client
        self._token_url = token_url
        basic = f"{settings.client_id}:{settings.client_secret.get_secret_value()}".encode()
        self._authorization = "Basic " + base64.b64encode(basic).decode("ascii")
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
        headers = {"Authorization": self._authorization, "Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = await read(
                await self._client.open("POST", self._token_url, {}, headers, urlencode(form).encode())
            )
        except Unreachable as exc:
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


async def read(stream: Stream) -> Reply:
    """The whole answer of an opened request, its connection handed back to the pool."""
    try:
        return Reply(stream.status_code, stream.headers, await stream.aread())
    finally:
        await stream.aclose()


class CoviuClient:
    """Calls Coviu with a valid token, retrying exactly once when Coviu revokes a token.

    Nothing else is retried: rate limits and errors go back to the caller as they came.
    """

    def __init__(self, settings: ServerSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._base = str(settings.api_base_url).rstrip("/") + "/"
        self.http = _make_http(settings.upstream_timeout, _CALL_CONNECTIONS, transport)
        # Downloads get their own pool, so slow downloaders never hold the connections calls need.
        self.downloads = _make_http(settings.upstream_timeout, settings.max_downloads, transport)
        self.tokens = TokenSource(self.http, self._base + "auth/token", settings)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.downloads.aclose()

    async def request(self, method: str, path: str, query: Mapping[str, str], body: Mapping[str, Any] | None) -> Reply:
        headers: dict[str, str] = {}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = orjson.dumps(body)
        return await read(await self._send(method, path, query, headers, content))

    async def open_stream(
        self, path: str, query: Mapping[str, str], headers: Mapping[str, str], *, download: bool = False
    ) -> Stream:
        """A GET whose body is not read yet (on the download pool if `download`); the caller must `aclose()` it."""
        return await self._send("GET", path, query, dict(headers), None, http=self.downloads if download else self.http)

    async def _send(
        self, method: str, path: str, query: Mapping[str, str], headers: dict[str, str], body: bytes | None,
        *, http: Http | None = None,
    ) -> Stream:
        http = http or self.http
        token = await self.tokens.get()
        response = await self._send_once(http, method, path, query, headers, body, token)
        if response.status_code == 401:
            await response.aclose()
            self.tokens.discard(token)
            response = await self._send_once(http, method, path, query, headers, body, await self.tokens.get())
        return response

    async def _send_once(
        self, http: Http, method: str, path: str, query: Mapping[str, str], headers: dict[str, str], body: bytes | None,
        token: str,
    ) -> Stream:
        try:
            return _Answer(await http.open(
                method, self._base + path.lstrip("/"), query, {**headers, "Authorization": f"Bearer {token}"}, body
            ))
        except Unreachable as exc:
            raise _unavailable(exc) from exc
