"""One reconcile of one CoviuMCPServer: observe, decide, apply, and say what the status is.

Idempotent by construction: every child is server-side applied from the spec and the
Secrets, the URL token is reused unless a rotation is asked for, and an unchanged world
produces no write at all. The controller calls this on every change and on every deadline;
it never sleeps here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from coviu_catalog import EmptySelectionError, Record, UnknownFilterValueError, select, tool_name

from . import builders, policy, withdrawal
from . import conditions as c
from .errors import InputError, RejectedKubeError
from .expiry import Clock, Expiry, assess, rfc3339, tear_down
from .kube import Applied, Kube, Ref
from .models import Server, Spec
from .names import link_key_secret_name, token_secret_name, workload_name
from .ownership import conflict_error, conflicts, controlled_by
from .secrets import (
    TokenDecision,
    config_hash,
    decide_token,
    link_key,
    owned_token,
    previous_token,
)
from .settings import OperatorSettings
from .status import (
    TOKEN_PROBLEMS,
    Notice,
    build_status,
    condition_notices,
    expired_verdict,
    expiring_soon_verdict,
    gitops_verdicts,
    rollout_verdict,
    tools_verdict,
)

State = Literal["ready", "progressing", "blocked", "rejected", "expired", "invalid", "failed"]
T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """What every reconcile needs, built once per operator process."""

    settings: OperatorSettings
    kube: Kube
    catalog: Sequence[Record]
    clock: Clock


@dataclass(frozen=True)
class Outcome:
    status: dict[str, Any]
    state: State
    expires_at: datetime | None = None
    next_change: datetime | None = None  # the next expiry instant to wake up at
    notices: list[Notice] = field(default_factory=list)
    torn_down: list[Ref] = field(default_factory=list)
    teardown_delay: float | None = None  # seconds from expiresAt to the deletes being done
    children: dict[Ref, str] = field(default_factory=dict)  # UIDs of the children known to be this server's


def resolve_tools(catalog: Sequence[Record], spec: Spec) -> tuple[str, ...]:
    try:
        return tuple(tool_name(record) for record in select(catalog, spec.methods, spec.tags))
    except UnknownFilterValueError as exc:
        raise InputError("UnknownFilterValue", str(exc)) from None
    except EmptySelectionError as exc:
        raise InputError("NoToolsSelected", str(exc)) from None


def _attempt(problems: list[InputError], check: Callable[..., T], *args: Any) -> T | None:
    """Run one input check, collecting its problem instead of stopping at it."""
    try:
        return check(*args)
    except InputError as problem:
        problems.append(problem)
        return None


def _secret(namespace: str, name: str) -> Ref:
    return Ref("v1", "Secret", namespace, name)


def _children(server: Server) -> list[Ref]:
    """Everything a server is made of, in the order it is applied (the Deployment reads the
    token Secret's digest, so the Secret comes first)."""
    ns, workload = server.namespace, workload_name(server.name)
    return [_secret(ns, token_secret_name(server.name)), _secret(ns, link_key_secret_name(server.name)),
            Ref("v1", "ServiceAccount", ns, workload), Ref("apps/v1", "Deployment", ns, workload),
            Ref("v1", "Service", ns, workload)]


async def reconcile(body: Mapping[str, Any], ctx: Context, known: Mapping[Ref, str] | None = None) -> Outcome:
    """`known`: the `children` of the previous Outcome, so an expiry deletes without reading first."""
    previous: dict[str, Any] = dict(body.get("status") or {})
    now = ctx.clock.now()
    try:
        server = Server.parse(body)
    except ValidationError as exc:
        mismatches = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _single(body, c.false(c.READY, "InvalidSpec", f"the object does not match the API: {mismatches}"),
                       "invalid", now)
    expiry = assess(server.spec.expires_at, now, ctx.settings.expiring_soon_window, server.metadata.creation_timestamp)
    problems: list[InputError] = []
    tools = _attempt(problems, resolve_tools, ctx.catalog, server.spec)
    raw = (body.get("spec") or {}).get("expiresAt")
    this = _Pass(server, previous, expiry, raw if isinstance(raw, str) else None, tools,
                 problems[0] if problems else None, ctx)
    if expiry.expired:
        return await _expire(this, known)
    return await _deploy(this, problems)


def failed(body: Mapping[str, Any], exc: Exception, now: datetime) -> Outcome:
    """The Outcome of a reconcile that raised something the operator does not expect (a bug, or an
    answer it cannot read): said in Ready, so it is seen without the operator's log. Only the
    exception's type is named: its text could quote anything, a secret value included."""
    return _single(body, c.false(c.READY, "ReconcileFailed",
                                 f"the operator failed to reconcile this object ({type(exc).__name__}); it retries "
                                 "with backoff, and its log has the details"), "failed", now)


def _single(body: Mapping[str, Any], verdict: c.Verdict, state: State, now: datetime) -> Outcome:
    """An Outcome with one verdict, for objects the reconcile could not go through."""
    previous: dict[str, Any] = dict(body.get("status") or {})
    generation = (body.get("metadata") or {}).get("generation")
    status = build_status(previous, [verdict, *gitops_verdicts(state, verdict)], generation, now)
    return Outcome(status, state, notices=condition_notices(previous.get("conditions"), status["conditions"]))


@dataclass(frozen=True)
class _Pass:
    """What one reconcile established before acting, and how it turns verdicts into an Outcome."""

    server: Server
    previous: dict[str, Any]
    expiry: Expiry
    expires_text: str | None  # spec.expiresAt as the user wrote it, for the status
    tools: tuple[str, ...] | None  # None when the filters did not resolve, for this reason:
    tools_problem: InputError | None
    ctx: Context

    def finish(self, state: State, verdicts: list[c.Verdict], published: bool = False, **fields: Any) -> Outcome:
        """The Outcome with `verdicts` (Ready first, when there is one) plus the kstatus, expiry and
        tools verdicts every pass reports. An expired server has no Ready: see conditions.py."""
        server, expiry, tools = self.server, self.expiry, self.tools
        gitops = gitops_verdicts(state, verdicts[0] if verdicts[0].type == c.READY else None)
        every = [*verdicts, *gitops, tools_verdict(tools, self.tools_problem), expired_verdict(server, expiry),
                 expiring_soon_verdict(expiry)]
        if published:
            fields |= {"url": builders.status_url(server, self.ctx.settings),
                       "tokenSecretName": token_secret_name(server.name)}
        status = build_status(
            self.previous, every, server.metadata.generation, self.ctx.clock.now(),
            frozenset({c.READY}) if state == "expired" else frozenset(),
            tools=list(tools) if tools is not None else None,
            toolCount=len(tools) if tools is not None else None,
            expiresAt=self.expires_text,
            **fields,
        )
        notices = condition_notices(self.previous.get("conditions"), status["conditions"])
        return Outcome(status, state, expiry.expires_at, expiry.next_change, notices)


async def _expire(this: _Pass, known: Mapping[Ref, str] | None) -> Outcome:
    """Remove what serves requests and keep the record."""
    teardown = await tear_down(this.server, this.ctx.kube, this.ctx.clock, known)
    outcome = this.finish("expired", [c.false(c.TOKEN_READY, "Expired", "the token Secret is removed at expiry")])
    return replace(outcome, torn_down=teardown.removed, teardown_delay=teardown.delay)


async def _deploy(this: _Pass, problems: list[InputError]) -> Outcome:
    """Read every input; apply the children only if all of them are usable and none of their
    names belongs to an object this server does not control."""
    server, kube = this.server, this.ctx.kube
    spec, ns = server.spec, server.namespace
    refs = _children(server)
    found = dict(zip(refs, await asyncio.gather(*(kube.find(ref) for ref in refs)), strict=True))
    existing, stored_key = found[refs[0]], found[refs[1]]
    deployment = found[refs[3]]
    running = deployment if deployment is not None and controlled_by(deployment, server.metadata.uid) else None
    taken = conflicts({ref: obj for ref, obj in found.items() if ref not in refs[:2]}, server.metadata.uid)
    if taken:
        problems.append(conflict_error(taken))
    _attempt(problems, owned_token, existing, server)  # TokenSecretConflict when its name is taken
    _attempt(problems, policy.check_spec, server, this.ctx.settings)
    names = sorted({name for _, name, _ in withdrawal.shares(server) + withdrawal.recorded(running)})
    secrets = dict(zip(names, await asyncio.gather(*(kube.get(_secret(ns, name)) for name in names)), strict=True))
    credentials = _attempt(problems, policy.use_credentials, secrets[spec.credentials_secret_ref.name], server)
    api_tokens: tuple[str, ...] | None = ()
    if spec.require_api_token_auth and spec.api_token_secret_ref is not None:
        api_tokens = _attempt(problems, policy.use_api_tokens, secrets[spec.api_token_secret_ref.name], server)
    provided = None
    if spec.token_secret_ref is not None:
        provided = _attempt(problems, policy.use_provided_token, secrets[spec.token_secret_ref.name], server)
    signing_key = _attempt(problems, link_key, stored_key, server)  # LinkKeySecretConflict when taken
    had_token = this.previous.get("tokenSecretName") is not None
    decision = None if problems else _attempt(problems, decide_token, server, existing, provided, had_token)
    if problems or decision is None or credentials is None or api_tokens is None or signing_key is None:
        ours = {ref: obj["metadata"]["uid"] for ref, obj in found.items()
                if obj is not None and controlled_by(obj, server.metadata.uid)}
        previous_reason = (c.find(this.previous.get("conditions"), c.READY) or {}).get("reason")
        withdrawn = withdrawal.withdrawn(running, secrets, server, previous_reason)
        if withdrawn is None:
            return replace(_blocked(this, problems, existing), children=ours)
        return await _withdraw(this, withdrawn, problems, running, existing, ours)
    return await _apply(this, decision, credentials, signing_key, api_tokens, found)


async def _withdraw(this: _Pass, withdrawn: InputError, problems: list[InputError], running: dict[str, Any] | None,
                    existing: dict[str, Any] | None, ours: dict[Ref, str]) -> Outcome:
    """A share the workload depends on was withdrawn: remove the server's own Deployment (by UID)
    and say so first; the problems it already names are not repeated."""
    if running is not None:
        ref = _children(this.server)[3]
        if await this.ctx.kube.delete(ref, running["metadata"]["uid"]):
            ours.pop(ref, None)
    rest = [p for p in problems if p.message not in withdrawn.message]
    return replace(_blocked(this, [withdrawn, *rest], existing, workload=False), children=ours)


def _blocked(this: _Pass, problems: list[InputError], existing: dict[str, Any] | None,
             workload: bool = True) -> Outcome:
    """An input is unusable: say which (Ready names every problem, its reason is the first's), and
    leave whatever runs untouched; `workload` False: the Deployment was removed (withdrawal.py), so
    no URL is published."""
    first = problems[0]
    token_problem = next((p for p in problems if p.reason in TOKEN_PROBLEMS), None)
    conflict = any(p.reason == "Conflict" for p in problems)
    published = workload and token_problem is None and not conflict and _published(existing, this.server)
    if token_problem is not None:
        token = c.false(c.TOKEN_READY, token_problem.reason, token_problem.message)
    elif not workload:
        token = c.false(c.TOKEN_READY, first.reason, "the token Secret is kept: the URL works again once the "
                                                     "workload is redeployed")
    elif published:
        token = _token_published(this.server)
    else:
        token = c.unknown(c.TOKEN_READY, "Waiting", f"no token is minted until this is fixed: {first.message}")
    message = "; ".join(dict.fromkeys(p.message for p in problems))
    return this.finish("blocked", [c.false(c.READY, first.reason, message), token], published)


def _published(existing: dict[str, Any] | None, server: Server) -> bool:
    try:
        return owned_token(existing, server) is not None
    except InputError:
        return False


def _token_published(server: Server) -> c.Verdict:
    return c.true(c.TOKEN_READY, "TokenPublished", f"Secret {token_secret_name(server.name)} holds the URL")


async def _apply(this: _Pass, decision: TokenDecision, credentials: str, signing_key: str,
                 api_tokens: tuple[str, ...], found: dict[Ref, dict[str, Any] | None]) -> Outcome:
    """Publish the token first (the Deployment reads its digest), then apply the workload.

    Every manifest is built before the first write, so a spec the builders cannot render leaves
    nothing half-applied. Each carries the UID of the object read, if there was one: the API
    server then refuses the write (409, retried) if that object was deleted since, and never
    writes another object that took its name. A token Secret deleted after it was read is thus
    never re-created with its old token: the retry sees the deletion and rotates.
    """
    server, settings = this.server, this.ctx.settings
    previous = previous_token(server, found[_children(server)[0]], decision, this.ctx.clock.now())
    manifests = [
        builders.token_secret(server, settings, decision.token, decision.rotation, api_tokens, previous),
        builders.link_key_secret(server, signing_key),
        builders.service_account(server),
        builders.deployment(server, settings, config_hash(credentials, decision.token, signing_key, api_tokens,
                                                          previous)),
        builders.service(server),
    ]
    applied: list[Applied] = []
    try:
        for manifest in manifests:
            read = found.get(Ref.of(manifest))
            if read is not None:
                manifest["metadata"]["uid"] = read["metadata"]["uid"]
            applied.append(await this.ctx.kube.apply(manifest))
    except RejectedKubeError as exc:
        return this.finish("rejected", [c.false(c.READY, "ApplyFailed", str(exc))])
    ready, ready_replicas = rollout_verdict(applied[3].obj, server.spec.replicas)
    outcome = this.finish("ready" if ready.status == "True" else "progressing",
                          [ready, _token_published(server)], published=True, readyReplicas=ready_replicas,
                          previousTokenValidUntil=rfc3339(previous.until) if previous else None)
    news = []
    if decision.change == "rotated":
        news.append(Notice("Normal", "TokenRotated", f"new URL token ({decision.why})"))
    children = dict(zip(_children(server), (result.obj["metadata"]["uid"] for result in applied), strict=True))
    created = [ref for ref, result in zip(_children(server), applied, strict=True) if result.created]
    if created:
        news.append(Notice("Normal", "Created", "created " + ", ".join(map(str, created))))
    return replace(outcome, notices=news + outcome.notices, children=children)
