"""`coviu-mcp-server`: read the environment, build the app, serve it with uvicorn."""

from __future__ import annotations

import argparse
import sys

from coviu_catalog import CatalogError

from .app import create_app
from .config import describe_environment, load_settings
from .errors import ConfigError
from .logs import configure
from .serve import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="coviu-mcp-server",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the Coviu API as MCP tools at POST /mcp/<token> on PORT, signed download links at\n"
        "/mcp/files/<tool>, and /healthz, /readyz and /metrics on MCP_ADMIN_PORT.",
        epilog="Configuration comes from environment variables:\n" + describe_environment(),
    )
    parser.parse_args(argv)
    try:
        settings = load_settings()
        configure(settings.log_level)
        app = create_app(settings)
    except (ConfigError, CatalogError) as exc:
        print(f"coviu-mcp-server: {exc}", file=sys.stderr)
        return 2
    serve(settings, app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
