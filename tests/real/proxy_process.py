"""A real `coviu-mcp-server` process on a free loopback port, configured like the operator does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from coviu_catalog import proxy_env
from coviu_testbed.launch import Running, console_script, free_ports, mint_token, running


@dataclass(frozen=True)
class ProxyProcess:
    child: Running
    token: str
    admin_port: int

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def base_url(self) -> str:
        return self.child.base_url

    @property
    def url(self) -> str:
        return f"{self.child.base_url}/mcp/{self.token}"

    def output(self) -> str:
        return self.child.output()


@contextlib.contextmanager
def proxy_process(sandbox: Any, **env: str) -> Iterator[ProxyProcess]:
    """Serve the sandbox behind a freshly minted URL token; `env` overrides any variable."""
    port, admin_port = free_ports(2)
    token, digest = mint_token()
    settings = {
        proxy_env.API_BASE_URL: sandbox.base_url,
        proxy_env.CLIENT_ID: sandbox.client_id,
        proxy_env.CLIENT_SECRET: sandbox.client_secret,
        proxy_env.TOKEN_SHA256: digest,
        proxy_env.HOST: "127.0.0.1",
        proxy_env.PORT: str(port),
        proxy_env.ADMIN_PORT: str(admin_port),
        **env,
    }
    with running([console_script("coviu-mcp-server")], port, "/healthz", settings, ready_port=admin_port) as child:
        yield ProxyProcess(child, token, admin_port)
