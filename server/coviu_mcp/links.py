"""Download links that are not the key: signed, bound to one tool and its arguments, short-lived.

A link names the tool, its arguments, an expiry instant and an HMAC-SHA256 over all three made
with MCP_LINK_SIGNING_KEY, never with the URL token, so whoever sees a link can fetch that one
file until the link expires and nothing else. The expiry is capped at the server's own
MCP_EXPIRES_AT. Without a configured key each process signs with a random one: links then work
only on the replica that made them and until it restarts, which is right for a single local
process and is announced in the log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from .config import ServerSettings, link_key_bytes
from .errors import ProxyError

log = logging.getLogger(__name__)

EXPIRES = "expires"
SIGNATURE = "signature"
PREFIX = "/mcp/files/"


class LinkSigner:
    def __init__(
        self, key: bytes, ttl: float, expires_at: float | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self._ttl = ttl
        self._expires_at = expires_at
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: ServerSettings, clock: Callable[[], float] = time.time) -> LinkSigner:
        if settings.link_signing_key is not None:
            key = link_key_bytes(settings.link_signing_key)
        else:
            log.warning(
                "MCP_LINK_SIGNING_KEY is not set: download links are signed with a random key of this process "
                "and work only on it, until it restarts"
            )
            key = secrets.token_bytes(32)
        expires_at = settings.expires_at.timestamp() if settings.expires_at else None
        return cls(key, settings.link_ttl, expires_at, clock)

    def path(self, tool: str, arguments: Mapping[str, Any]) -> str:
        """`/mcp/files/<tool>?<arguments>&expires=..&signature=..`, valid for the link lifetime."""
        if EXPIRES in arguments or SIGNATURE in arguments:
            raise ProxyError(f"{tool} has an argument named like a link field; it cannot be linked")
        items = sorted((name, str(value)) for name, value in arguments.items())
        # Whole seconds: rounded up from the lifetime, so a link always lives at least that long,
        # and down from the server's expiry, which it never outlives.
        expires = math.ceil(self._clock() + self._ttl)
        if self._expires_at is not None:
            expires = min(expires, math.floor(self._expires_at))
        query = urlencode([*items, (EXPIRES, str(expires)), (SIGNATURE, self._sign(tool, items, expires))])
        return f"{PREFIX}{tool}?{query}"

    def verify(self, tool: str, query: Iterable[tuple[str, str]]) -> dict[str, str] | None:
        """The arguments of a genuine, unexpired link for `tool`; None for anything else."""
        params: dict[str, str] = {}
        for name, value in query:
            if name in params:
                return None
            params[name] = value
        expires, signature = params.pop(EXPIRES, ""), params.pop(SIGNATURE, "")
        if not expires.isdigit() or len(expires) > 12:
            return None
        expected = self._sign(tool, sorted(params.items()), int(expires))
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        now = self._clock()
        if now >= int(expires) or (self._expires_at is not None and now >= self._expires_at):
            return None
        return params

    def _sign(self, tool: str, items: list[tuple[str, str]], expires: int) -> str:
        message = f"coviu-mcp-link:v1\n{tool}\n{urlencode(items)}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
