"""A Secret share withdrawn from a running server: its Pods must not keep what was shared.

A server's Deployment records the shares it was built from (use, Secret, keys). When the
Secret's owner later withdraws one (removes the label, stops naming the server, stops listing
a key), the operator removes that Deployment, so no Pod keeps the credentials, and redeploys
once the share is restored. A problem the manifest caused (a key or Secret that was never
shared) is not a withdrawal: the last good Deployment keeps running. Pure functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import InputError
from .models import Server
from .names import API_TOKENS_USE, CREDENTIALS_USE, SHARES_ANNOTATION, URL_TOKEN_USE
from .policy import shared

REASON = "SecretShareWithdrawn"
Share = tuple[str, str, tuple[str, ...]]  # (use, Secret name, keys read)
FIELDS = {CREDENTIALS_USE: "spec.credentialsSecretRef", API_TOKENS_USE: "spec.apiTokenSecretRef",
          URL_TOKEN_USE: "spec.tokenSecretRef"}


def shares(server: Server) -> list[Share]:
    """The shares a workload built from this spec uses (the keys policy.use_* read)."""
    spec = server.spec
    creds = spec.credentials_secret_ref
    found: list[Share] = [(CREDENTIALS_USE, creds.name,
                           (creds.client_id_key, creds.client_secret_key, creds.refresh_token_key))]
    if spec.require_api_token_auth and spec.api_token_secret_ref is not None:
        found.append((API_TOKENS_USE, spec.api_token_secret_ref.name, ()))
    if spec.token_secret_ref is not None:
        found.append((URL_TOKEN_USE, spec.token_secret_ref.name, (spec.token_secret_ref.key,)))
    return found


def record(found: list[Share]) -> str:
    """The Deployment annotation that records `found`."""
    return json.dumps([[use, name, list(keys)] for use, name, keys in found], separators=(",", ":"))


def recorded(deployment: Mapping[str, Any] | None) -> list[Share]:
    """The shares a Deployment records; none when it has no readable record."""
    raw = ((deployment or {}).get("metadata") or {}).get("annotations", {}).get(SHARES_ANNOTATION)
    try:
        entries = json.loads(raw) if isinstance(raw, str) else []
        return [(use, name, tuple(keys)) for use, name, keys in entries if use in FIELDS]
    except (ValueError, TypeError):
        return []


def refused(found: list[Share], secrets: Mapping[str, dict[str, Any] | None], server: Server) -> list[InputError]:
    """The shares of `found` their Secrets' owners no longer grant. A Secret that is gone is not
    a withdrawal here: it is reported as not found, as before, and a Pod keeps running."""
    problems = []
    for use, name, keys in found:
        try:
            shared(secrets.get(name), use, server, FIELDS[use], keys)
        except InputError as problem:
            problems.append(problem)
    return problems


def withdrawn(deployment: Mapping[str, Any] | None, secrets: Mapping[str, dict[str, Any] | None],
              server: Server, previous_reason: str | None) -> InputError | None:
    """The problem to report when a share the server's workload depends on was withdrawn, else None.

    `deployment`: the server's own running Deployment, if any; when there is one and this returns
    a problem, the Deployment must go. Without one (removed by an earlier reconcile), a withdrawal
    already reported stays reported while the spec's shares are still refused, so the reason does
    not change under the user's feet.
    """
    if deployment is not None:
        problems = refused(recorded(deployment), secrets, server)
    elif previous_reason == REASON:
        problems = refused(shares(server), secrets, server)
    else:
        return None
    if not problems:
        return None
    return InputError(REASON, f"{'; '.join(p.message for p in problems)}. The Secret's owner withdrew what the running "
                              "server used, so its Deployment is removed (no Pod keeps what was shared); it is "
                              "redeployed, with the same URL, once the share is restored")
