"""The MCP protocol layer: the official SDK's low-level server, serving both eras statelessly.

The SDK does the JSON-RPC, era routing and protocol validation; this module only supplies the
tool list and the call handler, and turns off what costs time per call and is unused here
(the OpenTelemetry middleware; a tools/list run per modern tools/call to find one schema, and
the walk of a schema that declares no Mcp-Param-* headers).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from importlib import metadata
from typing import Any

import mcp_types as types
from mcp.server import CacheHint, Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import x_mcp_header_map

from .calls import ToolCaller
from .results import error
from .tools import ToolSpec

log = logging.getLogger("coviu_mcp.calls")

# Where a tool call served by `exchange.Exchange` leaves its structured content while the SDK
# shapes the rest of the result. The SDK types structuredContent as any JSON value, so its
# validation is a no-op and its JSON-mode dump of Coviu's already-parsed page is a copy that
# costs more than the rest of the call; the exchange puts the page back into the SDK's result.
# The handler also marks it when it starts, so that the exchange knows whether Coviu was called.
parked_structured_content: ContextVar[dict[str, Any] | None] = ContextVar("coviu_mcp_parked", default=None)
CALLED = "called"

INSTRUCTIONS = (
    "Tools for one clinic's Coviu telehealth account: sessions, participants, waiting-area "
    "queues, collections and recordings. Read each tool's constraints before calling it. "
    "List tools return next_page or next_offset; pass it back to get the following page. "
    "Recordings and files come back as download links, not inline bytes."
)


def build_server(tools: Mapping[str, ToolSpec], caller: ToolCaller) -> Server[Any]:
    listing = types.ListToolsResult(tools=[spec.tool for spec in tools.values()])
    # The SDK reads a tool's input schema on each modern call only to check the Mcp-Param-*
    # headers its x-mcp-header annotations declare; a tool without them cannot fail that check.
    schemas = {name: spec.input_schema for name, spec in tools.items() if x_mcp_header_map(spec.input_schema)}

    async def on_list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listing

    async def on_call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> dict[str, Any]:
        parked = parked_structured_content.get()
        if parked is not None:
            parked[CALLED] = True
        try:
            result = await caller(ctx.request, params.name, params.arguments)
        except MCPError:
            raise
        except Exception:  # the last line of defence: logged, and no exception text reaches the model
            log.exception("tool call crashed", extra={"tool": params.name})
            return error(f"{params.name} failed inside the MCP server; the failure was logged.")
        if parked is None or "structuredContent" not in result:
            return result
        parked["structuredContent"] = result["structuredContent"]
        return {**result, "structuredContent": {}}

    server: Server[Any] = Server(
        "coviu-mcp",
        version=_version(),
        instructions=INSTRUCTIONS,
        cache_hints={"tools/list": CacheHint(ttl_ms=300_000, scope="private")},
        on_list_tools=on_list_tools,
        # The SDK sends a result dict as it is (mcp.server.runner); its annotation asks for a model.
        on_call_tool=on_call_tool,  # type: ignore[arg-type]
        get_tool_input_schema=schemas.get,
    )
    server.middleware.clear()
    return server


def build_session_manager(server: Server[Any], max_body_bytes: int) -> StreamableHTTPSessionManager:
    # Host and Origin are checked by our guard before the SDK runs, hence no security settings.
    return StreamableHTTPSessionManager(
        app=server, stateless=True, json_response=True, security_settings=None, max_request_body_size=max_body_bytes
    )


def _version() -> str:
    try:
        return metadata.version("coviu-mcp-operator")
    except metadata.PackageNotFoundError:
        return "0.0.0"
