"""The app factory: settings in, a Starlette app out, with a lifespan that owns the clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import Route

from coviu_catalog import Catalog, load_catalog, select

from .admin import Readiness, create_admin_app
from .calls import ToolCaller
from .config import ServerSettings
from .endpoints import FilesEndpoint, McpEndpoint, NotFoundEndpoint
from .exchange import Exchange
from .expiry import Expiry
from .guard import Guard
from .links import LinkSigner
from .metrics import ProxyMetrics
from .protocol import build_server, build_session_manager
from .tools import build_tools
from .upstream import CoviuClient

if TYPE_CHECKING:
    import httpx


def create_app(
    settings: ServerSettings,
    *,
    catalog: Catalog | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the proxy (the MCP port's app; `app.state.admin` is the admin port's).

    Raises CatalogError when the filters select nothing or name unknown values.
    """
    catalog = catalog or load_catalog()
    tools = build_tools(select(catalog.records, settings.methods or None, settings.tags or None))
    metrics = ProxyMetrics()
    guard = Guard(settings, metrics)
    links = LinkSigner.from_settings(settings)
    expiry = Expiry(settings.expires_at)
    readiness = Readiness(len(tools))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        upstream = CoviuClient(settings, upstream_transport)
        caller = ToolCaller(
            tools,
            upstream,
            metrics,
            str(settings.public_url) if settings.public_url else None,
            settings.embed_max_bytes,
            links,
        )
        server = build_server(tools, caller)
        manager = build_session_manager(server, settings.max_body_bytes)
        exchange = Exchange(server, manager, settings.max_body_bytes)
        watcher = asyncio.create_task(readiness.watch(upstream.tokens.get))
        try:
            async with manager.run():
                yield {"upstream": upstream, "mcp_manager": exchange, "tools": tools, "metrics": metrics}
        finally:
            watcher.cancel()
            await upstream.aclose()

    routes = [
        Route("/mcp/files/{tool}", FilesEndpoint(guard, tools, metrics, links, expiry, settings.max_downloads)),
        Route("/mcp/{token}", McpEndpoint(guard, expiry)),
        Route("/{path:path}", NotFoundEndpoint(guard)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.router.redirect_slashes = False
    app.state.admin = create_admin_app(readiness, metrics)
    return app
