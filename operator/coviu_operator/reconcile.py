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

from . import builders, policy
from . import conditions as c
from .errors import InputError, RejectedKubeError
from .expiry import Clock, Expiry, assess, rfc3339
from .kube import Applied, Kube, Ref
from .models import Server, Spec
from .names import link_key_secret_name, token_secret_name, workload_name
from .secrets import (
    TokenDecision,
    config_hash,
    decide_token,
    link_key,
    mint_token,
    owned_token,
)
from .settings import OperatorSettings
from .status import (
    TOKEN_PROBLEMS,
    Notice,
    build_status,
    condition_notices,
    expired_verdict,
    expiring_soon_verdict,
    rollout_verdict,
    tools_verdict,
)

State = Literal["ready", "progressing", "blocked", "rejected", "expired", "invalid"]
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


def _children_refs(server: Server) -> list[Ref]:
    """What expiry removes, the Deployment first: it is what serves requests."""
    ns, workload = server.namespace, workload_name(server.name)
    return [
        Ref("apps/v1", "Deployment", ns, workload),
        Ref("v1", "Service", ns, workload),
        _secret(ns, token_secret_name(server.name)),
        _secret(ns, link_key_secret_name(server.name)),
    ]


async def reconcile(body: Mapping[str, Any], ctx: Context) -> Outcome:
    previous: dict[str, Any] = dict(body.get("status") or {})
    now = ctx.clock.now()
    try:
        server = Server.parse(body)
    except ValidationError as exc:
        return _invalid(body, previous, exc, now)
    expiry = assess(server.spec.expires_at, now, ctx.settings.expiring_soon_window)
    problems: list[InputError] = []
    tools = _attempt(problems, resolve_tools, ctx.catalog, server.spec)
    this = _Pass(server, previous, expiry, tools, problems[0] if problems else None, ctx)
    if expiry.expired:
        return await _expire(this)
    return await _deploy(this, problems)


def _invalid(body: Mapping[str, Any], previous: dict[str, Any], exc: ValidationError, now: datetime) -> Outcome:
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    generation = (body.get("metadata") or {}).get("generation")
    verdict = c.false(c.READY, "InvalidSpec", f"the object does not match the API: {problems}")
    status = build_status(previous, [verdict], generation, now)
    return Outcome(status, "invalid", notices=condition_notices(previous.get("conditions"), status["conditions"]))


@dataclass(frozen=True)
class _Pass:
    """What one reconcile established before acting, and how it turns verdicts into an Outcome."""

    server: Server
    previous: dict[str, Any]
    expiry: Expiry
    tools: tuple[str, ...] | None  # None when the filters did not resolve, for this reason:
    tools_problem: InputError | None
    ctx: Context

    def finish(self, state: State, verdicts: list[c.Verdict], published: bool = False, **fields: Any) -> Outcome:
        """The Outcome with `verdicts` plus the expiry and tools verdicts every pass reports."""
        server, expiry, tools = self.server, self.expiry, self.tools
        every = [*verdicts, tools_verdict(tools, self.tools_problem), expired_verdict(server, expiry),
                 expiring_soon_verdict(expiry)]
        if published:
            fields |= {"url": builders.status_url(server, self.ctx.settings),
                       "tokenSecretName": token_secret_name(server.name)}
        status = build_status(
            self.previous, every, server.metadata.generation, self.ctx.clock.now(),
            tools=list(tools) if tools is not None else None,
            toolCount=len(tools) if tools is not None else None,
            expiresAt=rfc3339(expiry.expires_at) if expiry.expires_at else None,
            **fields,
        )
        notices = condition_notices(self.previous.get("conditions"), status["conditions"])
        return Outcome(status, state, expiry.expires_at, expiry.next_change, notices)


async def remove_workload(server: Server, kube: Kube) -> list[Ref]:
    """Delete what serves requests, the Deployment first; returns what was still there."""
    deployment, *rest = _children_refs(server)
    removed = [deployment] if await kube.delete(deployment) else []
    gone = await asyncio.gather(*(kube.delete(ref) for ref in rest))
    return removed + [ref for ref, deleted in zip(rest, gone, strict=True) if deleted]


async def _expire(this: _Pass) -> Outcome:
    """Remove what serves requests and keep the record."""
    expires_at = this.expiry.expires_at
    removed = await remove_workload(this.server, this.ctx.kube)
    delay = (this.ctx.clock.now() - expires_at).total_seconds() if removed and expires_at else None
    outcome = this.finish("expired", [
        c.false(c.READY, "Expired", f"expired at {rfc3339(expires_at)}" if expires_at else "expired"),
        c.false(c.TOKEN_READY, "Expired", "the token Secret is removed at expiry"),
    ])
    return replace(outcome, torn_down=removed, teardown_delay=delay)


async def _deploy(this: _Pass, problems: list[InputError]) -> Outcome:
    """Read every input; apply the children only if all of them are usable."""
    server, kube = this.server, this.ctx.kube
    spec, ns = server.spec, server.namespace
    existing = await kube.get(_secret(ns, token_secret_name(server.name)))
    _attempt(problems, policy.check_spec, server, this.ctx.settings)
    creds = spec.credentials_secret_ref
    credentials = _attempt(problems, policy.use_credentials, await kube.get(_secret(ns, creds.name)), server)
    api_tokens: tuple[str, ...] | None = ()
    if spec.require_api_token_auth and spec.api_token_secret_ref is not None:
        ref = spec.api_token_secret_ref
        api_tokens = _attempt(problems, policy.use_api_tokens, await kube.get(_secret(ns, ref.name)), server)
    provided = None
    if spec.token_secret_ref is not None:
        byo = spec.token_secret_ref
        provided = _attempt(problems, policy.use_provided_token, await kube.get(_secret(ns, byo.name)), server)
    signing_key = _attempt(problems, link_key, await kube.get(_secret(ns, link_key_secret_name(server.name))), server)
    had_token = this.previous.get("tokenSecretName") is not None
    decision = None if problems else _attempt(problems, decide_token, server, existing, provided, had_token)
    if problems or decision is None or credentials is None or api_tokens is None or signing_key is None:
        return _blocked(this, problems, existing)
    return await _apply(this, decision, credentials, signing_key, api_tokens)


def _blocked(this: _Pass, problems: list[InputError], existing: dict[str, Any] | None) -> Outcome:
    """An input is unusable: say which, and leave whatever runs untouched."""
    first = problems[0]
    token_problem = next((p for p in problems if p.reason in TOKEN_PROBLEMS), None)
    published = token_problem is None and _published(existing, this.server)
    if token_problem is not None:
        token = c.false(c.TOKEN_READY, token_problem.reason, token_problem.message)
    elif published:
        token = _token_published(this.server)
    else:
        token = c.unknown(c.TOKEN_READY, "Waiting", f"no token is minted until this is fixed: {first.message}")
    return this.finish("blocked", [c.false(c.READY, first.reason, first.message), token], published)


def _published(existing: dict[str, Any] | None, server: Server) -> bool:
    try:
        return owned_token(existing, server) is not None
    except InputError:
        return False


def _token_published(server: Server) -> c.Verdict:
    return c.true(c.TOKEN_READY, "TokenPublished", f"Secret {token_secret_name(server.name)} holds the URL")


async def _publish_token(this: _Pass, decision: TokenDecision, api_tokens: tuple[str, ...]) -> tuple[
    TokenDecision, Applied
]:
    """Write the token Secret. If a token meant to be kept comes back as created, the Secret was
    deleted after it was read: that deletion asks for a new token, so it must not be undone."""
    server, settings, kube = this.server, this.ctx.settings, this.ctx.kube
    result = await kube.apply(builders.token_secret(server, settings, decision.token, decision.rotation, api_tokens))
    if result.created and decision.change == "kept":
        decision = TokenDecision(mint_token(), decision.rotation, "rotated", "the token Secret was deleted")
        again = await kube.apply(builders.token_secret(server, settings, decision.token, decision.rotation, api_tokens))
        result = Applied(again.obj, created=True)
    return decision, result


async def _apply(this: _Pass, decision: TokenDecision, credentials: str, signing_key: str,
                 api_tokens: tuple[str, ...]) -> Outcome:
    """Publish the token first (the Deployment reads its digest), then apply the workload."""
    server, settings, kube = this.server, this.ctx.settings, this.ctx.kube
    applied: list[tuple[Ref, Applied]] = []
    try:
        decision, published = await _publish_token(this, decision, api_tokens)
        applied.append((Ref.of(published.obj), published))
        digest = config_hash(credentials, decision.token, signing_key, api_tokens)
        for manifest in [
            builders.link_key_secret(server, signing_key),
            builders.service_account(server),
            builders.deployment(server, settings, digest),
            builders.service(server),
        ]:
            applied.append((Ref.of(manifest), await kube.apply(manifest)))
    except RejectedKubeError as exc:
        return this.finish("rejected", [c.false(c.READY, "ApplyFailed", str(exc))], published=bool(applied))
    deployment = next(result for ref, result in applied if ref.kind == "Deployment")
    ready, ready_replicas = rollout_verdict(deployment.obj, server.spec.replicas)
    outcome = this.finish("ready" if ready.status == "True" else "progressing",
                          [ready, _token_published(server)], published=True, readyReplicas=ready_replicas)
    news = []
    if decision.change == "rotated":
        news.append(Notice("Normal", "TokenRotated", f"new URL token ({decision.why})"))
    created = [ref for ref, result in applied if result.created]
    if created:
        news.append(Notice("Normal", "Created", "created " + ", ".join(map(str, created))))
    return replace(outcome, notices=news + outcome.notices)
