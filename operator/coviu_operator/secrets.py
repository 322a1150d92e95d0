"""Reading the Secrets a server references, and deciding its URL token.

Pure functions over Secret objects as the API returns them (base64 `data`). Every problem
becomes an InputError whose message names the Secret and the key, and never the value.
The proxy receives secret values only through secretKeyRef; what the operator computes
from them here are SHA-256 digests: of the URL and API tokens for the proxy, and of every
value for the config hash that rolls the Deployment when a Secret changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from .errors import InputError
from .models import CredentialsSecretRef, SecretRef, Server, TokenSecretRef
from .names import ROTATE_ANNOTATION, ROTATION_ANNOTATION
from .ownership import controlled_by

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{32,512}$")
TOKEN_KEY = "token"
PREVIOUS_TOKEN_SHA256_KEY = "previous_token_sha256"
PREVIOUS_TOKEN_UNTIL_KEY = "previous_token_until"
LINK_KEY_KEY = "key"
LINK_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43,}$")  # at least 32 bytes, base64url


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def mint_token() -> str:
    """256 random bits, URL-safe: the token in /mcp/<token>."""
    return secrets.token_urlsafe(32)


def _value(secret: dict[str, Any], key: str) -> str | None:
    """The decoded value of `key`, or None if absent; raises ValueError if not UTF-8 text."""
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("is not UTF-8 text") from exc


def _text(secret: dict[str, Any], where: str, key: str, reason: str, required: bool) -> str | None:
    try:
        value = _value(secret, key)
    except ValueError as exc:
        raise InputError(reason, f"{where}: key {key!r} {exc}") from None
    if value is None:
        if required:
            raise InputError(reason, f"{where}: key {key!r} is missing")
        return None
    if not value:
        raise InputError(reason, f"{where}: key {key!r} is empty")
    if value != value.strip():
        raise InputError(reason, f"{where}: key {key!r} has leading or trailing whitespace (a trailing newline?)")
    return value


def _where(namespace: str, name: str) -> str:
    return f"Secret {namespace}/{name}"


def _found(secret: dict[str, Any] | None, namespace: str, name: str, reason: str) -> dict[str, Any]:
    if secret is None:
        raise InputError(reason, f"{_where(namespace, name)} not found")
    return secret


def _digest(*parts: str) -> str:
    return sha256_hex("\n".join(parts))


def check_credentials(secret: dict[str, Any] | None, ref: CredentialsSecretRef, namespace: str) -> str:
    """Validate the Coviu client credentials; return a digest of them for the config hash."""
    where = _where(namespace, ref.name)
    secret = _found(secret, namespace, ref.name, "CredentialsSecretNotFound")
    values = [
        _text(secret, where, ref.client_id_key, "CredentialsSecretInvalid", required=True),
        _text(secret, where, ref.client_secret_key, "CredentialsSecretInvalid", required=True),
        _text(secret, where, ref.refresh_token_key, "CredentialsSecretInvalid", required=False),
    ]
    return _digest(*(sha256_hex(v) if v is not None else "-" for v in values))


def check_api_tokens(secret: dict[str, Any] | None, ref: SecretRef, namespace: str) -> tuple[str, ...]:
    """Validate the accepted API tokens (every value of the Secret); return their digests, sorted."""
    where = _where(namespace, ref.name)
    secret = _found(secret, namespace, ref.name, "ApiTokenSecretNotFound")
    keys = sorted(secret.get("data") or {})
    if not keys:
        raise InputError("ApiTokenSecretInvalid", f"{where} holds no tokens")
    tokens = (_text(secret, where, key, "ApiTokenSecretInvalid", required=True) for key in keys)
    return tuple(sorted({sha256_hex(token) for token in tokens if token is not None}))


def check_provided_token(secret: dict[str, Any] | None, ref: TokenSecretRef, namespace: str) -> str:
    """Validate a token brought by spec.tokenSecretRef; return it."""
    where = _where(namespace, ref.name)
    secret = _found(secret, namespace, ref.name, "TokenSecretNotFound")
    token = _text(secret, where, ref.key, "TokenSecretInvalid", required=True)
    if token is None or not TOKEN_PATTERN.match(token):
        raise InputError(
            "TokenSecretInvalid",
            f"{where}: key {ref.key!r} must hold 32 to 512 characters from A-Z a-z 0-9 . _ ~ -",
        )
    return token


def _owned_value(secret: dict[str, Any] | None, server: Server, key: str, reason: str) -> str | None:
    """`key` of a Secret this server owns (None if absent or not text); a Secret of that name that
    this server does not own is a conflict the operator will not resolve by overwriting: it may
    belong to someone else."""
    if secret is None:
        return None
    if not controlled_by(secret, server.metadata.uid):
        name = secret.get("metadata", {}).get("name", "")
        raise InputError(
            reason,
            f"{_where(server.namespace, name)} exists and is not owned by this CoviuMCPServer; "
            "delete or rename it",
        )
    try:
        return _value(secret, key)
    except ValueError:
        return None


def owned_token(secret: dict[str, Any] | None, server: Server) -> str | None:
    """The token in the server's own token Secret, or None if there is no usable one."""
    token = _owned_value(secret, server, TOKEN_KEY, "TokenSecretConflict")
    return token if token is not None and TOKEN_PATTERN.match(token) else None


def link_key(secret: dict[str, Any] | None, server: Server) -> str:
    """The proxy's download-link signing key: the one in the server's own link key Secret, or a
    new one (256 random bits, base64url) if there is none."""
    key = _owned_value(secret, server, LINK_KEY_KEY, "LinkKeySecretConflict")
    return key if key is not None and LINK_KEY_PATTERN.match(key) else secrets.token_urlsafe(32)


TokenChange = Literal["kept", "created", "rotated"]


@dataclass(frozen=True)
class TokenDecision:
    """The URL token to publish, and whether that is news (for Events)."""

    token: str
    rotation: str | None  # the rotate-token value this token answers
    change: TokenChange
    why: str
    replaced: str | None = None  # the token a rotation replaced, while the server still had it


@dataclass(frozen=True)
class PreviousToken:
    """The URL token before the last rotation, and the instant from which it is refused."""

    sha256: str
    until: datetime


def decide_token(
    server: Server, existing: dict[str, Any] | None, provided: str | None, had_token: bool
) -> TokenDecision:
    """Keep the current token unless a rotation is asked for, the Secret is gone, or a provided
    token changed. `had_token`: the status said the token Secret existed, so a missing one was
    deleted (a rotation request) rather than never created.
    """
    current = owned_token(existing, server)
    recorded = ((existing or {}).get("metadata", {}).get("annotations") or {}).get(ROTATION_ANNOTATION)
    if provided is not None:
        if provided == current:
            return TokenDecision(provided, None, "kept", "")
        return TokenDecision(provided, None, "rotated" if current or had_token else "created",
                             "spec.tokenSecretRef provides a different token", current)
    requested = server.metadata.annotations.get(ROTATE_ANNOTATION)
    if current is not None:
        if requested is None or requested == recorded:
            return TokenDecision(current, recorded, "kept", "")
        return TokenDecision(mint_token(), requested, "rotated", f"annotation {ROTATE_ANNOTATION}={requested!r}",
                             current)
    if existing is not None:
        return TokenDecision(mint_token(), requested, "rotated", "the token Secret held no valid token")
    if had_token:
        return TokenDecision(mint_token(), requested, "rotated", "the token Secret was deleted")
    return TokenDecision(mint_token(), requested, "created", "new server")


def previous_token(server: Server, existing: dict[str, Any] | None, decision: TokenDecision,
                   now: datetime) -> PreviousToken | None:
    """The token to accept besides the current one: on a rotation, the replaced token for
    spec.rotationOverlapSeconds; while the token is kept, the one the token Secret records, until
    its deadline. Nothing once the deadline has passed or after a hard cut."""
    overlap = server.spec.rotation_overlap_seconds
    if decision.replaced is not None and overlap:
        return PreviousToken(sha256_hex(decision.replaced), now + timedelta(seconds=overlap))
    if decision.change != "kept" or existing is None:
        return None
    try:
        digest, until = _value(existing, PREVIOUS_TOKEN_SHA256_KEY), _value(existing, PREVIOUS_TOKEN_UNTIL_KEY)
        deadline = datetime.fromisoformat(until) if until else None
    except ValueError:
        return None
    if digest is None or deadline is None or deadline.tzinfo is None or deadline <= now:
        return None
    return PreviousToken(digest, deadline)


def config_hash(credentials_digest: str, token: str, signing_key: str, api_token_digests: tuple[str, ...],
                previous: PreviousToken | None = None) -> str:
    """Digest of every secret input of the proxy; it changes exactly when the proxy must restart."""
    overlap = (previous.sha256, previous.until.isoformat()) if previous else ()
    return _digest(credentials_digest, sha256_hex(token), sha256_hex(signing_key), *api_token_digests, *overlap)
