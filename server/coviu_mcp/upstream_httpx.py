"""CoviuClient's HTTP over an httpx transport: how tests put an in-process Coviu under the proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx

from .upstream import STREAM_CHUNK_BYTES, Stream, Unreachable


class _HttpxStream:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status_code = response.status_code
        self.headers = response.headers

    async def aread(self) -> bytes:
        return await self._response.aread()

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.aiter_raw(STREAM_CHUNK_BYTES):
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class HttpxHttp:
    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: float) -> None:
        self._client = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False)

    async def open(
        self, method: str, url: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes | None
    ) -> Stream:
        request = self._client.build_request(method, url, params=query, headers=headers, content=body)
        try:
            return _HttpxStream(await self._client.send(request, stream=True))
        except httpx.TimeoutException as exc:
            raise Unreachable(str(exc), timed_out=True) from exc
        except httpx.TransportError as exc:
            raise Unreachable(str(exc)) from exc

    async def aclose(self) -> None:
        await self._client.aclose()
