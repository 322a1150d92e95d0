"""Which client sent a request: the peer, or the hop a trusted ingress says it served.

Only addresses in MCP_FORWARDED_ALLOW_IPS are believed, and only about the hop before them:
X-Forwarded-For is read from the right, skipping trusted hops, and the first address that is
not trusted is the client. Anything a client writes into the header lies to the left of that
and is never used, so rotating or forging it neither evades the throttle nor blames a victim.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import Scope


class ClientResolver:
    def __init__(self, trusted: tuple[str, ...]) -> None:
        self._networks = tuple(ipaddress.ip_network(value, strict=False) for value in trusted)

    def client(self, scope: Scope) -> str:
        peer = scope["client"][0] if scope.get("client") else "unknown"
        if not self._trusted(peer):
            return peer
        hops = [hop.strip() for value in Headers(scope=scope).getlist("x-forwarded-for") for hop in value.split(",")]
        for hop in reversed(hops):
            if hop and not self._trusted(hop):
                return hop
        # Every hop is a trusted proxy: the farthest one is the best name there is.
        return next((hop for hop in hops if hop), peer)

    def _trusted(self, address: str) -> bool:
        if not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)
