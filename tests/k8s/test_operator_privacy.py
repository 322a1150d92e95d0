"""No secret and no patient data in anything the operator produces.

Sentinel values go everywhere the operator reads secrets: the Coviu client id, secret and refresh
token, API tokens, a brought URL token, a patient's name in an extra key of the credentials
Secret, and broken variants of each (a trailing newline, bytes that are not UTF-8, a token with
spaces) so that every error path runs. Then tokens are minted and rotated, a credential is
changed, a server expires. None of the sentinels, the minted URL tokens, their base64 forms or
their SHA-256 digests may appear in any log line (of the operator at debug level), Kubernetes
Event, CoviuMCPServer (status, conditions, annotations), metric (label or value), or the
Deployments, Services and ServiceAccounts it writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from coviu_operator.names import API_TOKENS_USE, CREDENTIALS_USE, ROTATE_ANNOTATION, URL_TOKEN_USE
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.cluster.waiting import eventually
from coviu_testbed.invariants import tokens
from coviu_testbed.k8s import Cluster, apply, merge_patch, rfc3339, server
from coviu_testbed.operator import shared
from coviu_testbed.operator_process import OperatorProcess

PATIENT = "Zebediah Quillfeather"
SENTINELS = {
    "client id": "sentinel-client-id-5b1f0c",
    "client secret": "sentinel-client-secret-9d2e7a",
    "refresh token": "sentinel-refresh-token-44c1ab",
    "changed client secret": "sentinel-client-secret-rotated-1e8b",
    "API token 1": "sentinel-api-token-alice-0f3c",
    "API token 2": "sentinel-api-token-bob-77aa",
    "brought token": "sentinel_brought_token_3c9d0e1f2a4b6c8d",
    "patient name": PATIENT,
    "patient surname": "Quillfeather",
    "secret with a newline": "sentinel-bad-secret-63d0",
    "token with spaces": "sentinel bad token of Quillfeather",
    "non-UTF-8 token": "sentinel-non-utf8-8a21",
}


def secret(name: str, **values: str | bytes) -> dict[str, Any]:
    encoded = {key: base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()
               for key, value in values.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "data": encoded}


def forms(value: str) -> set[str]:
    """How a value could leak: as is, base64 (as Secret data holds it), or as its SHA-256 digest."""
    return {value, base64.b64encode(value.encode()).decode(), hashlib.sha256(value.encode()).hexdigest()}


@pytest.fixture
def verbose_operator(operator_kubeconfig: str, namespace: str, crd: None, tmp_path: Path) -> Iterator[OperatorProcess]:
    """The real command at its most talkative: debug logging, JSON lines."""
    runner = OperatorProcess(operator_kubeconfig, namespace, tmp_path, "-v")
    runner.start()
    yield runner
    runner.stop()


async def test_no_secret_or_patient_data_in_logs_events_status_or_metrics(
    control_plane: ControlPlane, namespace: str, api_client: Any, verbose_operator: OperatorProcess,
) -> None:
    cluster = Cluster(api_client, namespace)
    s = SENTINELS
    apply(control_plane, namespace,
          shared(secret("coviu-credentials", client_id=s["client id"], client_secret=s["client secret"],
                        refresh_token=s["refresh token"], patient_note=f"{PATIENT}, born 1931-02-03"), CREDENTIALS_USE),
          shared(secret("bad-credentials", client_id=s["client id"], client_secret=s["secret with a newline"] + "\n"),
                 CREDENTIALS_USE),
          shared(secret("api-tokens", alice=s["API token 1"], bob=s["API token 2"]), API_TOKENS_USE),
          shared(secret("bad-api-tokens", alice=s["API token 1"], mallory=b"\xff\xfe" + s["non-UTF-8 token"].encode()),
                 API_TOKENS_USE),
          shared(secret("brought", token=s["brought token"]), URL_TOKEN_USE),
          shared(secret("bad-brought", token=s["token with spaces"]), URL_TOKEN_USE))
    expires = datetime.now(UTC) + timedelta(seconds=12)
    guarded = {"requireApiTokenAuth": True}
    apply(control_plane, namespace,
          server(namespace, "plain"),
          server(namespace, "guarded", apiTokenSecretRef={"name": "api-tokens"}, **guarded),
          server(namespace, "brought", tokenSecretRef={"name": "brought"}),
          server(namespace, "expiring", expiresAt=rfc3339(expires)),
          server(namespace, "badcreds", credentialsSecretRef={"name": "bad-credentials"}),
          server(namespace, "badapi", apiTokenSecretRef={"name": "bad-api-tokens"}, **guarded),
          server(namespace, "badbrought", tokenSecretRef={"name": "bad-brought"}),
          server(namespace, "missing", credentialsSecretRef={"name": "no-such-secret"}))
    for name in ("plain", "guarded", "brought", "expiring"):
        await eventually(lambda name=name: cluster.ready(name), what=f"{name} to be Ready")
    reasons = {"badcreds": "CredentialsSecretInvalid", "badapi": "ApiTokenSecretInvalid",
               "badbrought": "TokenSecretInvalid", "missing": "CredentialsSecretNotFound"}
    for name, reason in reasons.items():
        await eventually(lambda name=name, reason=reason: _reason(cluster, name, reason), what=f"{name}: {reason}")
    minted = await tokens(api_client, namespace)

    # A rotation, a changed client secret (every server using it rolls), and the expiry.
    control_plane.kubectl("annotate", "-n", namespace, "cmcp/plain", f"{ROTATE_ANNOTATION}=privacy-test")
    apply(control_plane, namespace, shared(secret("coviu-credentials", client_id=s["client id"],
                                                  client_secret=s["changed client secret"],
                                                  refresh_token=s["refresh token"],
                                                  patient_note=f"{PATIENT}, born 1931-02-03"), CREDENTIALS_USE))
    await eventually(lambda: _token_changed(api_client, namespace, "plain", minted["plain"]), what="a rotation")
    minted_later = await tokens(api_client, namespace)
    merge_patch(control_plane, namespace, "cmcp/badcreds", {"spec": {"methods": ["read"]}})
    await eventually(lambda: _reason(cluster, "expiring", "Expired", "Expired"), what="the expiry", timeout=60)
    for name in ("plain", "guarded", "brought"):
        await eventually(lambda name=name: cluster.ready(name), what=f"{name} Ready after the rollouts")
    metrics = verbose_operator.metrics()
    verbose_operator.stop()

    produced = {
        "log": "\n".join(log.read_text() for log in verbose_operator.logs),
        "Events": control_plane.kubectl("get", "events", "-n", namespace, "-o", "json").stdout,
        "CoviuMCPServers": control_plane.kubectl("get", "cmcp", "-n", namespace, "-o", "json").stdout,
        "metrics": metrics,
        "Deployments, Services, ServiceAccounts": control_plane.kubectl(
            "get", "deployments,services,serviceaccounts", "-n", namespace, "-o", "json").stdout,
    }
    # The checks are not vacuous: the debug log is there, and every error path was reported.
    assert produced["log"].count('"severity": "debug"') > 100
    events = json.loads(produced["Events"])["items"]
    assert set(reasons.values()) <= {e["reason"] for e in events}
    assert {"TokenRotated", "Expired"} <= {e["reason"] for e in events}
    assert 'coviu_operator_servers{state="blocked"} 4.0' in metrics

    forbidden = {label: forms(value) for label, value in SENTINELS.items()}
    for name, token in {**{f"token of {n}": t for n, t in minted.items()},
                        **{f"later token of {n}": t for n, t in minted_later.items()}}.items():
        forbidden[name] = forms(token)
    leaks = [f"{what} holds the {label} ({form!r})" for what, text in produced.items()
             for label, candidates in forbidden.items() for form in candidates if form in text]
    assert not leaks, "\n".join(leaks)
    print(f"\nchecked {sum(len(text) for text in produced.values()):,} characters "
          f"({produced['log'].count(chr(10)):,} log lines, {len(events)} Events) for "
          f"{sum(len(c) for c in forbidden.values())} forbidden strings: none found")


async def _reason(cluster: Cluster, name: str, reason: str, type_: str = "Ready") -> bool:
    return (await cluster.condition(name, type_)).get("reason") == reason


async def _token_changed(api: Any, namespace: str, name: str, old: str) -> bool:
    return (await tokens(api, namespace)).get(name) not in (None, old)

