"""`coviu-mcp-server`: read the environment, build the app, serve it with uvicorn."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from coviu_catalog import CatalogError

from .app import create_app
from .config import ConfigError, describe_environment, load_settings
from .logs import configure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="coviu-mcp-server",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the Coviu API as MCP tools at POST /mcp/<token>.",
        epilog="Configuration comes from environment variables:\n" + describe_environment(),
    )
    parser.parse_args(argv)
    try:
        settings = load_settings()
        app = create_app(settings)
    except (ConfigError, CatalogError) as exc:
        print(f"coviu-mcp-server: {exc}", file=sys.stderr)
        return 2
    configure(settings.log_level)
    uvicorn.run(
        app, host=settings.host, port=settings.port, access_log=False, log_config=None, lifespan="on",
        timeout_graceful_shutdown=10, proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
