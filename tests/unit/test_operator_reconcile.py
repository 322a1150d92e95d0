"""One reconcile against an in-memory API: what it writes, what it refuses, what status it reports."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from coviu_catalog import load_catalog
from coviu_operator.errors import RejectedKubeError, TransientKubeError
from coviu_operator.kube import Applied, Kube, Ref
from coviu_operator.names import API_TOKENS_USE, URL_TOKEN_USE
from coviu_operator.reconcile import Context, Outcome, failed, reconcile
from coviu_operator.settings import OperatorSettings
from coviu_testbed.operator import credentials_secret, secret_body, server_body, shared

NOW = datetime(2030, 1, 1, tzinfo=UTC)
OWNER = {"apiVersion": "mcp.coviu.dev/v1alpha1", "kind": "CoviuMCPServer", "name": "demo", "uid": "uid-1",
         "controller": True}
CATALOG = load_catalog().records


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.instant = now

    def now(self) -> datetime:
        return self.instant


class FakeKube:
    """Objects by reference; applies merge into what is stored (keeping status), like the API."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {Ref.of(obj): copy.deepcopy(obj) for obj in objects}
        self.applied: list[str] = []
        self.deleted: list[str] = []
        self.failures: dict[str, Exception] = {}
        self.vanishing: set[Ref] = set()  # deleted by someone right after the operator reads them

    async def get(self, ref: Ref) -> dict[str, Any] | None:
        found = copy.deepcopy(self.objects.get(ref))
        if ref in self.vanishing:
            self.objects.pop(ref, None)
        return found

    find = get

    async def apply(self, manifest: dict[str, Any]) -> Applied:
        if manifest["kind"] in self.failures:
            raise self.failures[manifest["kind"]]
        ref = Ref.of(manifest)
        created = ref not in self.objects
        uid = manifest["metadata"].get("uid")
        if created and uid is not None:
            raise TransientKubeError(f"uid mismatch: the provided object specified uid {uid}, and no existing "
                                     "object was found", 409)
        stored = self.objects.get(ref, {"metadata": {"uid": f"uid-{ref.kind}-{len(self.applied)}"}})
        if uid not in (None, stored["metadata"]["uid"]):
            raise RejectedKubeError("metadata.uid: field is immutable", 422)
        self.objects[ref] = {**stored, **copy.deepcopy(manifest),
                             "metadata": {**stored["metadata"], **copy.deepcopy(manifest["metadata"])}}
        self.applied.append(manifest["kind"])
        return Applied(copy.deepcopy(self.objects[ref]), created)

    async def delete(self, ref: Ref, uid: str) -> bool:
        """With the API server's UID precondition."""
        self.deleted.append(ref.kind)
        if (self.objects.get(ref) or {}).get("metadata", {}).get("uid") != uid:
            return False
        return self.objects.pop(ref, None) is not None


def context(kube: FakeKube, now: datetime = NOW) -> Context:
    return Context(OperatorSettings(), cast(Kube, kube), CATALOG, FixedClock(now))


def body(status: dict[str, Any] | None = None, annotations: dict[str, str] | None = None,
         **spec: Any) -> dict[str, Any]:
    obj = server_body("demo", "clinic", spec, uid="uid-1", generation=3, annotations=annotations or {},
                      creationTimestamp="2029-12-01T00:00:00Z")
    if status is not None:
        obj["status"] = status
    return obj


def cond(outcome: Outcome, type_: str) -> dict[str, Any]:
    return next(c for c in outcome.status["conditions"] if c["type"] == type_)


def stored_token(kube: FakeKube) -> str:
    secret = kube.objects[Ref("v1", "Secret", "clinic", "demo-mcp-token")]
    return base64.b64decode(secret["data"]["token"]).decode()


async def test_a_valid_server_is_applied_and_described() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    outcome = await reconcile(body(methods=["read"], tags=["triage"]), context(kube))
    assert kube.applied == ["Secret", "Secret", "ServiceAccount", "Deployment", "Service"]
    assert outcome.state == "progressing"
    assert outcome.notices[0].reason == "Created"
    assert outcome.notices[0].message == (
        "created Secret clinic/demo-mcp-token, Secret clinic/demo-mcp-link-key, ServiceAccount clinic/demo-mcp, "
        "Deployment clinic/demo-mcp, Service clinic/demo-mcp")
    status = outcome.status
    assert status["url"] == "http://demo-mcp.clinic.svc.cluster.local/mcp/"
    assert (status["tokenSecretName"], status["toolCount"], status["observedGeneration"]) == ("demo-mcp-token", 4, 3)
    assert cond(outcome, "TokenReady")["status"] == "True"
    assert cond(outcome, "Ready")["reason"] == "RollingOut"
    assert cond(outcome, "ExpiringSoon")["reason"] == "NoExpiry"


async def test_reconciling_again_changes_nothing_and_announces_nothing() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    first = await reconcile(body(), context(kube))
    token = stored_token(kube)
    second = await reconcile(body(status=first.status), context(kube, NOW + timedelta(hours=1)))
    assert second.status == first.status and second.notices == []
    assert stored_token(kube) == token


async def test_an_available_deployment_makes_it_ready() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "demo-mcp",
            "namespace": "clinic",
            "generation": 1,
            "uid": "d",
            "ownerReferences": [OWNER],
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
            "readyReplicas": 1,
        },
    }
    outcome = await reconcile(body(), context(FakeKube(credentials_secret("clinic"), deployment)))
    assert (outcome.state, cond(outcome, "Ready")["status"], outcome.status["readyReplicas"]) == ("ready", "True", 1)


async def test_a_token_secret_deleted_while_reconciling_still_rotates() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    first = await reconcile(body(), context(kube))
    old = stored_token(kube)
    kube.vanishing.add(Ref("v1", "Secret", "clinic", "demo-mcp-token"))
    with pytest.raises(TransientKubeError, match="uid mismatch"):  # the write names the Secret it read
        await reconcile(body(status=first.status), context(kube))
    kube.vanishing.clear()
    outcome = await reconcile(body(status=first.status), context(kube))  # the loop's retry
    assert stored_token(kube) != old, "the deletion asked for a new token; re-creating the old one would undo it"
    assert [n.reason for n in outcome.notices][:2] == ["TokenRotated", "Created"]


async def test_missing_credentials_block_without_any_write() -> None:
    kube = FakeKube()
    outcome = await reconcile(body(), context(kube))
    assert kube.applied == [] and outcome.state == "blocked"
    ready, token = cond(outcome, "Ready"), cond(outcome, "TokenReady")
    assert ready["reason"] == "CredentialsSecretNotFound"
    assert ready["message"] == "Secret clinic/coviu-credentials not found"
    assert (token["status"], token["reason"]) == ("Unknown", "Waiting")
    assert "url" not in outcome.status
    assert [(n.type, n.reason) for n in outcome.notices] == [("Warning", "CredentialsSecretNotFound")]


async def test_a_broken_secret_leaves_the_published_token_in_place() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    first = await reconcile(body(), context(kube))
    kube.objects[Ref("v1", "Secret", "clinic", "coviu-credentials")] = credentials_secret("clinic", client_id="id\n")
    outcome = await reconcile(body(status=first.status), context(kube))
    assert cond(outcome, "Ready")["reason"] == "CredentialsSecretInvalid"
    assert cond(outcome, "TokenReady")["status"] == "True" and outcome.status["url"]
    assert kube.applied == ["Secret", "Secret", "ServiceAccount", "Deployment", "Service"], \
        "nothing applied the second time"


async def test_a_token_secret_someone_else_owns_is_never_overwritten() -> None:
    foreign = secret_body("demo-mcp-token", "clinic", token="x" * 43)
    kube = FakeKube(credentials_secret("clinic"), foreign)
    outcome = await reconcile(body(), context(kube))
    assert kube.applied == []
    assert (cond(outcome, "TokenReady")["reason"], cond(outcome, "Ready")["reason"]) == ("TokenSecretConflict",) * 2


async def test_several_problems_are_all_reported_and_the_first_blocks() -> None:
    outcome = await reconcile(body(methods=["nonexistent_tool"], tokenSecretRef={"name": "byo"}), context(FakeKube()))
    assert cond(outcome, "ToolsResolved")["reason"] == "UnknownFilterValue"
    assert cond(outcome, "Ready")["reason"] == "UnknownFilterValue"
    assert cond(outcome, "TokenReady")["reason"] == "TokenSecretNotFound"
    assert "tools" not in outcome.status


async def test_a_provided_token_is_published_as_is() -> None:
    byo = shared(secret_body("byo", "clinic", token="B" * 40), URL_TOKEN_USE)
    kube = FakeKube(credentials_secret("clinic"), byo)
    outcome = await reconcile(body(tokenSecretRef={"name": "byo"}), context(kube))
    assert stored_token(kube) == "B" * 40 and cond(outcome, "TokenReady")["status"] == "True"


async def test_api_tokens_are_required_when_asked_for() -> None:
    spec: dict[str, Any] = {"requireApiTokenAuth": True, "apiTokenSecretRef": {"name": "api"}}
    blocked = await reconcile(body(**spec), context(FakeKube(credentials_secret("clinic"))))
    assert cond(blocked, "Ready")["reason"] == "ApiTokenSecretNotFound"
    kube = FakeKube(
        credentials_secret("clinic"), shared(secret_body("api", "clinic", agent="an-api-token"), API_TOKENS_USE)
    )
    await reconcile(body(**spec), context(kube))
    assert "api_token_sha256s" in kube.objects[Ref("v1", "Secret", "clinic", "demo-mcp-token")]["data"]


async def test_a_rejected_request_is_reported_with_the_api_servers_reason() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    kube.failures["Deployment"] = RejectedKubeError("PATCH ...: admission webhook denied the request", 403)
    outcome = await reconcile(body(), context(kube))
    assert outcome.state == "rejected"
    assert cond(outcome, "Ready")["reason"] == "ApplyFailed"
    assert "admission webhook denied" in cond(outcome, "Ready")["message"]


async def test_transient_failures_propagate_for_a_retry() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    kube.failures["Service"] = TransientKubeError("PATCH ...: etcd leader changed", 500)
    with pytest.raises(TransientKubeError):
        await reconcile(body(), context(kube))


async def test_expiry_removes_the_deployment_first_and_keeps_the_record() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    expires = NOW + timedelta(minutes=5)
    first = await reconcile(body(expiresAt=expires.isoformat()), context(kube))
    assert first.next_change == expires  # already inside the 24 h warning window
    later = expires + timedelta(milliseconds=20)
    outcome = await reconcile(body(status=first.status, expiresAt=expires.isoformat()), context(kube, later))
    assert kube.deleted == ["Deployment", "Service", "Secret", "Secret"]
    assert Ref("v1", "ServiceAccount", "clinic", "demo-mcp") in kube.objects
    assert outcome.state == "expired" and outcome.teardown_delay == pytest.approx(0.02)
    assert [ref.name for ref in outcome.torn_down] == ["demo-mcp", "demo-mcp", "demo-mcp-token", "demo-mcp-link-key"]
    assert {"url", "tokenSecretName", "readyReplicas"}.isdisjoint(outcome.status)
    assert outcome.status["expiresAt"] == "2030-01-01T00:05:00+00:00", "as the spec has it"
    assert outcome.status["toolCount"] == 20
    assert [(n.type, n.reason) for n in outcome.notices] == [("Normal", "Expired")]

    again = await reconcile(body(status=outcome.status, expiresAt=expires.isoformat()), context(kube, later))
    assert again.torn_down == [] and again.teardown_delay is None and again.notices == []


async def test_an_object_that_does_not_match_the_api_is_reported() -> None:
    outcome = await reconcile(body(replicas=0), context(FakeKube()))
    assert outcome.state == "invalid"
    assert cond(outcome, "Ready")["reason"] == "InvalidSpec"
    assert "spec.replicas" in cond(outcome, "Ready")["message"]


async def test_the_next_wake_is_the_start_of_the_warning_window() -> None:
    expires = NOW + timedelta(days=3)
    outcome = await reconcile(body(expiresAt=expires.isoformat()), context(FakeKube(credentials_secret("clinic"))))
    assert (outcome.next_change, outcome.expires_at) == (expires - timedelta(days=1), expires)


def foreign(kind: str, name: str = "demo-mcp", **extra: Any) -> dict[str, Any]:
    api_version = "apps/v1" if kind == "Deployment" else "v1"
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": name, "namespace": "clinic", "uid": f"theirs-{kind}", **extra}}


async def test_names_taken_by_objects_it_does_not_control_are_a_conflict_and_left_alone() -> None:
    not_controller = {**OWNER, "controller": False}
    kube = FakeKube(credentials_secret("clinic"), foreign("Service"), foreign("ServiceAccount"),
                    foreign("Deployment", ownerReferences=[not_controller]))
    outcome = await reconcile(body(), context(kube))
    assert kube.applied == [] and outcome.state == "blocked"
    ready = cond(outcome, "Ready")
    assert ready["reason"] == "Conflict"
    for taken in ("ServiceAccount clinic/demo-mcp", "Deployment clinic/demo-mcp", "Service clinic/demo-mcp"):
        assert taken in ready["message"]
    assert "url" not in outcome.status and [n.reason for n in outcome.notices] == ["Conflict"]


async def test_expiry_deletes_only_what_the_server_controls() -> None:
    theirs = [foreign("Deployment"), foreign("Secret", "demo-mcp-token", ownerReferences=[{**OWNER, "uid": "x"}])]
    kube = FakeKube(credentials_secret("clinic"), *theirs)
    outcome = await reconcile(body(expiresAt="2020-01-01T00:00:00Z"), context(kube))
    assert outcome.state == "expired" and kube.deleted == []
    assert outcome.torn_down == [] and outcome.teardown_delay is None, "no teardown recorded for others' objects"
    assert all(Ref.of(obj) in kube.objects for obj in theirs)


async def test_expiry_deletes_by_the_uids_it_knows_and_never_a_replacement() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    expires = NOW + timedelta(minutes=5)
    first = await reconcile(body(expiresAt=expires.isoformat()), context(kube))
    service = Ref("v1", "Service", "clinic", "demo-mcp")
    kube.objects[service] = foreign("Service")  # replaced by someone else since
    outcome = await reconcile(body(status=first.status, expiresAt=expires.isoformat()),
                              context(kube, expires), first.children)
    assert [ref.kind for ref in outcome.torn_down] == ["Deployment", "Secret", "Secret"]
    assert kube.objects[service]["metadata"]["uid"] == "theirs-Service"


async def test_every_problem_is_named_in_ready() -> None:
    outcome = await reconcile(body(methods=["raed"], tags=["billing"]), context(FakeKube()))
    ready = cond(outcome, "Ready")
    assert ready["reason"] == "UnknownFilterValue"
    for named in ("methods: unknown value(s) ['raed']", "tags: unknown value(s) ['billing']",
                  "Secret clinic/coviu-credentials not found"):
        assert named in ready["message"]


async def test_a_rejected_apply_publishes_no_url() -> None:
    kube = FakeKube(credentials_secret("clinic"))
    kube.failures["Service"] = RejectedKubeError("PATCH ...: services is forbidden", 403)
    outcome = await reconcile(body(), context(kube))
    assert cond(outcome, "Ready")["reason"] == "ApplyFailed"
    assert {"url", "tokenSecretName"}.isdisjoint(outcome.status)


@pytest.mark.parametrize("written", ["2030-01-01T06:00:00.233Z", "2030-01-01T16:00:00.5+10:00"])
async def test_the_status_keeps_expires_at_as_written(written: str) -> None:
    outcome = await reconcile(body(expiresAt=written), context(FakeKube(credentials_secret("clinic"))))
    assert outcome.status["expiresAt"] == written


async def test_a_server_created_inside_its_warning_window_gets_no_warning() -> None:
    created = datetime(2029, 12, 31, 23, tzinfo=UTC)  # one hour before NOW
    obj = body(expiresAt=(NOW + timedelta(hours=2)).isoformat())
    obj["metadata"]["creationTimestamp"] = created.isoformat()
    outcome = await reconcile(obj, context(FakeKube(credentials_secret("clinic"))))
    soon = cond(outcome, "ExpiringSoon")
    assert (soon["status"], soon["reason"]) == ("True", "CreatedWithinWarningWindow")
    assert "ExpiringSoon" not in [n.reason for n in outcome.notices]


def test_a_failure_is_said_in_ready_without_its_text() -> None:
    outcome = failed(body(), OverflowError("date value out of range: secret-ish"), NOW)
    ready = cond(outcome, "Ready")
    assert (outcome.state, ready["reason"]) == ("failed", "ReconcileFailed")
    assert "OverflowError" in ready["message"] and "secret-ish" not in ready["message"]
    assert [(n.type, n.reason) for n in outcome.notices] == [("Warning", "ReconcileFailed")]


@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
async def test_an_unbounded_expiry_that_got_stored_is_reported_not_a_crash(instant: str) -> None:
    kube = FakeKube(credentials_secret("clinic"))
    outcome = await reconcile(body(expiresAt=instant), context(kube))
    ready = cond(outcome, "Ready")
    assert (outcome.state, ready["reason"]) == ("invalid", "InvalidSpec")
    assert "expiresAt must be between" in ready["message"] and not kube.applied
    assert [n.reason for n in outcome.notices] == ["InvalidSpec"]
