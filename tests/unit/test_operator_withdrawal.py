"""When a withdrawn Secret share removes a server's workload (coviu_operator.withdrawal), decided
purely from the Deployment's record, the Secrets as they are now and the last Ready reason."""

from __future__ import annotations

from typing import Any

import pytest

from coviu_operator import builders
from coviu_operator.models import Server
from coviu_operator.names import (
    API_TOKENS_USE,
    CREDENTIALS_USE,
    SECRET_KEYS_ANNOTATION,
    SECRET_SERVERS_ANNOTATION,
    SECRET_USE_LABEL,
    SHARES_ANNOTATION,
    URL_TOKEN_USE,
)
from coviu_operator.settings import OperatorSettings
from coviu_operator.withdrawal import REASON, recorded, shares, withdrawn
from coviu_testbed.operator import credentials_secret, secret_body, server_body
from coviu_testbed.operator import shared as share

CREDS = credentials_secret("clinic")


def server(**spec: Any) -> Server:
    return Server.parse(server_body("demo", "clinic", spec, uid="uid-1"))


def running(of: Server) -> dict[str, Any]:
    """The Deployment the operator applied for `of`."""
    return builders.deployment(of, OperatorSettings(), "hash")


def edited(secret: dict[str, Any], labels: dict[str, str | None] | None = None,
           annotations: dict[str, str | None] | None = None) -> dict[str, Any]:
    """`secret` with labels and annotations set, or removed where the value is None."""
    meta = secret["metadata"]
    changed = {key: {k: v for k, v in {**meta.get(key, {}), **(new or {})}.items() if v is not None}
               for key, new in (("labels", labels), ("annotations", annotations))}
    return {**secret, "metadata": {**meta, **changed}}


def test_the_deployment_records_every_share_it_uses() -> None:
    full = server(requireApiTokenAuth=True, apiTokenSecretRef={"name": "tokens"},
                  tokenSecretRef={"name": "byo", "key": "url"})
    assert recorded(running(full)) == shares(full) == [
        (CREDENTIALS_USE, "coviu-credentials", ("client_id", "client_secret", "refresh_token")),
        (API_TOKENS_USE, "tokens", ()),
        (URL_TOKEN_USE, "byo", ("url",)),
    ]
    unreadable = {"metadata": {"annotations": {SHARES_ANNOTATION: "not json"}}}
    assert recorded(unreadable) == recorded(None) == recorded({"metadata": {}}) == []


@pytest.mark.parametrize(("secret", "missing"), [
    (edited(CREDS, labels={SECRET_USE_LABEL: None}), "is not shared for this use"),
    (edited(CREDS, labels={SECRET_USE_LABEL: API_TOKENS_USE}), "is not shared for this use"),
    (edited(CREDS, annotations={SECRET_SERVERS_ANNOTATION: "billing"}), "is not shared with CoviuMCPServer demo"),
    (edited(CREDS, annotations={SECRET_KEYS_ANNOTATION: "client_id,refresh_token"}), "key 'client_secret' is not"),
], ids=["label-removed", "other-use", "server-not-named", "key-not-listed"])
def test_a_withdrawn_share_removes_the_running_deployment(secret: dict[str, Any], missing: str) -> None:
    demo = server()
    problem = withdrawn(running(demo), {"coviu-credentials": secret}, demo, previous_reason=None)
    assert problem is not None and problem.reason == REASON
    assert "Secret clinic/coviu-credentials" in problem.message and missing in problem.message
    assert "Deployment is removed" in problem.message


def test_what_the_manifest_changed_or_a_missing_secret_is_no_withdrawal() -> None:
    """A key the manifest writer switched to was never shared: the last good Deployment stays. A
    Secret that is gone is reported as not found, as before."""
    deployed = running(server())
    moved = server(credentialsSecretRef={"name": "coviu-credentials", "clientSecretKey": "note"})
    assert withdrawn(deployed, {"coviu-credentials": CREDS}, moved, previous_reason="PolicyViolation") is None
    assert withdrawn(deployed, {"coviu-credentials": None}, server(), previous_reason=None) is None
    assert withdrawn(deployed, {"coviu-credentials": CREDS}, server(), previous_reason=REASON) is None


def test_a_reported_withdrawal_stays_reported_until_the_share_is_restored() -> None:
    demo, unlabelled = server(), edited(CREDS, labels={SECRET_USE_LABEL: None})
    assert withdrawn(None, {"coviu-credentials": unlabelled}, demo, previous_reason=REASON) is not None
    assert withdrawn(None, {"coviu-credentials": unlabelled}, demo, previous_reason="PolicyViolation") is None
    assert withdrawn(None, {"coviu-credentials": CREDS}, demo, previous_reason=REASON) is None


def test_url_and_api_token_shares_are_followed_too() -> None:
    demo = server(requireApiTokenAuth=True, apiTokenSecretRef={"name": "tokens"}, tokenSecretRef={"name": "byo"})
    secrets = {"coviu-credentials": CREDS,
               "tokens": share(secret_body("tokens", "clinic", a="x" * 40), API_TOKENS_USE),
               "byo": share(secret_body("byo", "clinic", token="y" * 40), URL_TOKEN_USE)}
    assert withdrawn(running(demo), secrets, demo, None) is None
    for name in ("tokens", "byo"):
        problem = withdrawn(running(demo), {**secrets, name: edited(secrets[name], labels={SECRET_USE_LABEL: None})},
                            demo, None)
        assert problem is not None and f"Secret clinic/{name} is not shared" in problem.message
