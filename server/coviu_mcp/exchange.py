"""A plain tools/call served in one exchange, in both eras, with the SDK still deciding the protocol.

The SDK's own entry builds, for every legacy-era POST, a transport, memory streams and a task
group, and in both eras wraps the result in pydantic envelope models that validate and dump
the whole page again. Here a well-formed `tools/call` goes straight to the SDK's single-exchange
driver (`serve_one`: method dispatch, parameter validation, the handler, the per-version
result surface) after the SDK's own envelope checks for the era (`classify_inbound_request` and
the `Mcp-Param-*` check on the modern era), and the answer is serialised once, with orjson
(a seventh of the standard library's time for a page of 20 sessions). The page itself skips
the SDK's result dump (see `protocol.parked_structured_content`).

Everything else (handshakes, notifications, other methods, anything the checks reject, and
any call that raises before the tool runs) goes to the SDK's session manager with the body
replayed, so errors, status codes and the conformance behaviour stay the SDK's. A call that
fails after the tool ran is answered here, with the SDK's modern error mapping, so that a
tool that changed something in Coviu never runs twice. The private SDK names used here
are pinned with the SDK version in constraints.txt; the protocol tests of both eras cover them.
"""

from __future__ import annotations

from typing import Any

import orjson
from mcp.server import Server
from mcp.server._streamable_http_modern import _mcp_param_rejection, _SingleExchangeDispatchContext
from mcp.server.connection import Connection
from mcp.server.runner import modern_error_data, serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_PROTOCOL_VERSION_HEADER,
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import JSONRPCRequest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from .protocol import CALLED, parked_structured_content

_VERSION_HEADER = MCP_PROTOCOL_VERSION_HEADER.lower()
_JSON_HEADERS = [(b"content-type", b"application/json")]


class Exchange:
    """The MCP endpoint's handler: plain tool calls directly, the rest through the session manager."""

    def __init__(self, server: Server[Any], manager: StreamableHTTPSessionManager, max_body_bytes: int) -> None:
        self._server = server
        self._manager = manager
        self._max_body_bytes = max_body_bytes

    async def handle_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        headers = request.headers
        version = headers.get(_VERSION_HEADER)
        if version is None or not _plain_post(request):
            await self._manager.handle_request(scope, receive, send)
            return
        consumed, body = await _read_body(receive, self._max_body_bytes)
        answer = None if body is None else await self._call(request, version, body)
        if answer is None:
            await self._manager.handle_request(scope, _replaying(consumed, receive), send)
            return
        status, content = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": content})

    async def _call(self, request: Request, version: str, body: bytes) -> tuple[int, bytes] | None:
        """The HTTP status and serialised JSON-RPC answer, or None when the SDK's own path must answer."""
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(decoded, dict) or decoded.get("method") != "tools/call" or "id" not in decoded:
            return None
        try:
            call = JSONRPCRequest.model_validate(decoded)
        except ValidationError:
            return None
        lifespan_state = self._manager._lifespan_state  # noqa: SLF001 - what the manager passes its own paths
        if version in HANDSHAKE_PROTOCOL_VERSIONS:
            connection = Connection.from_envelope(version, None, None)
        else:
            verdict = classify_inbound_request(decoded, headers=dict(request.headers))
            if isinstance(verdict, InboundLadderRejection):
                return None
            if await _mcp_param_rejection(self._server, request, call, verdict, lifespan_state) is not None:
                return None
            connection = Connection.from_envelope(
                verdict.protocol_version, verdict.client_info, verdict.client_capabilities
            )
        dctx = _SingleExchangeDispatchContext(
            transport=TransportContext(kind="streamable-http", can_send_request=False, headers=request.headers),
            request_id=call.id,
            message_metadata=ServerMessageMetadata(request_context=request),
        )
        parked: dict[str, Any] = {}
        token = parked_structured_content.set(parked)
        try:
            result = await serve_one(
                self._server, dctx, call.method, call.params, connection=connection, lifespan_state=lifespan_state
            )
        except Exception as exc:  # noqa: BLE001 - mapped to the wire below
            if CALLED not in parked:
                return None  # nothing happened yet: the SDK's own path answers, with its error mapping
            # The tool ran (Coviu may have been changed): never run it twice; no exception text leaks.
            error = modern_error_data(exc).model_dump(by_alias=True, exclude_none=True)
            status = (
                ERROR_CODE_HTTP_STATUS.get(error["code"], 200) if version not in HANDSHAKE_PROTOCOL_VERSIONS else 200
            )
            return status, orjson.dumps({"jsonrpc": "2.0", "id": call.id, "error": error})
        finally:
            parked_structured_content.reset(token)
        if "structuredContent" in parked and "structuredContent" in result:
            result["structuredContent"] = parked["structuredContent"]
        return 200, orjson.dumps({"jsonrpc": "2.0", "id": call.id, "result": result})


def _plain_post(request: Request) -> bool:
    """A JSON POST without a session, accepting JSON, with no routing header sent twice."""
    headers = request.headers
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return (
        content_type == "application/json"
        and "mcp-session-id" not in headers
        and check_accept_headers(request)[0]
        and find_duplicated_routing_header(headers.items()) is None
    )


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], bytes | None]:
    """The messages read, and the body: None when it is larger than `limit` or the client went away."""
    consumed: list[Message] = []
    size = 0
    while True:
        message = await receive()
        consumed.append(message)
        if message["type"] != "http.request":
            return consumed, None
        size += len(message.get("body", b""))
        if size > limit:
            return consumed, None
        if not message.get("more_body", False):
            return consumed, b"".join(m.get("body", b"") for m in consumed)


def _replaying(consumed: list[Message], receive: Receive) -> Receive:
    """`receive` for the SDK's path: the messages read here first, then the client's own stream."""
    pending = list(reversed(consumed))

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
