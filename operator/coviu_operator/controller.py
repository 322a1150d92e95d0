"""The loop that keeps one CoviuMCPServer reconciled, run as that object's kopf daemon.

One loop per object serialises everything that can happen to it: spec and annotation
changes, events of its Secrets and children (delivered as pokes), its expiry instants, and
a periodic drift check. After each reconcile it sleeps until the earliest of: a poke, the
next expiry instant (exactly, with no polling), the resync interval, or a retry backoff.
Objects whose expiry passed while the operator was down are torn down by the first
reconcile after start-up (kopf starts a daemon for every existing object), or before it by
the start-up expiry check (catchup.py), which takes the same per-server turn.

Whatever a reconcile raises ends in the status (Ready=False, reason ReconcileFailed), a
Warning Event and the error count, and is retried with backoff: the loop itself never dies.
A server being deleted, or whose namespace is, is left to the garbage collector and the
namespace controller without a word.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import kopf

from .errors import KubeError, TransientKubeError
from .expiry import is_due, seconds_until, spec_instant
from .kube import Kube, Ref
from .metrics import Metrics
from .names import API_VERSION, FINALIZER, KIND
from .reconcile import Context, Outcome, failed, reconcile
from .status import status_patch

Key = tuple[str, str]  # (namespace, name)
MAX_BACKOFF = 30.0
# A rejected request (403, 422) is retried after 10 s, or after as long as the rejections have
# lasted, up to the resync interval: RBAC and admission answers can be momentary (an API server
# that just started denies until its authorizer has synced), and lasting ones cost little.
REJECTED_RETRY = 10.0
TERMINATING_CHECK = 5.0
ROUTINE_RECONCILES = 8
_RESULTS = {"ready": "ok", "progressing": "ok", "expired": "ok", "blocked": "blocked",
            "invalid": "blocked", "rejected": "rejected", "failed": "error"}
# States that are news only while the namespace lives: in a terminating one they are its deletion.
_PROBLEMS = frozenset({"blocked", "rejected"})
# States retried on a growing timer: nothing the operator watches announces their end.
_RETRIED = frozenset({"rejected", "failed"})


class Wakeups:
    """Per-server wake-up signals: watch handlers poke, the server's loop waits.

    Pokes carry a fingerprint of what the watch saw, and only a changed fingerprint wakes the
    loop: the operator's own status writes and no-op applies then cost nothing, so no
    combination of watches can make a loop reconcile without end.
    """

    def __init__(self) -> None:
        self._events: dict[Key, asyncio.Event] = {}
        self._seen: dict[tuple[Key, str], str | None] = {}
        self._ours: dict[tuple[Key, str], collections.deque[str | None]] = {}

    def register(self, key: Key) -> asyncio.Event:
        return self._events.setdefault(key, asyncio.Event())

    def forget(self, key: Key) -> None:
        self._events.pop(key, None)
        for seen in [seen for seen in self._seen if seen[0] == key]:
            del self._seen[seen]
        for ours in [ours for ours in self._ours if ours[0] == key]:
            del self._ours[ours]

    def poke(self, key: Key, source: str, fingerprint: str | None) -> None:
        """Wake `key`'s loop if `source` (an object it depends on) looks different than last time.

        `fingerprint` is None for an object that is gone. Pokes for servers without a loop
        are dropped: a loop reconciles when it starts anyway.
        """
        event = self._events.get(key)
        if event is None or self._seen.get((key, source), ...) == fingerprint:
            return
        self._seen[(key, source)] = fingerprint
        if fingerprint not in self._ours.get((key, source), ()):
            event.set()

    def expect(self, key: Key, source: str, fingerprint: str | None) -> None:
        """Record what the loop's own write makes `source` look like, so that write does not wake it.

        The last few are kept: the watch events of two writes in quick succession can both
        arrive after the second one.
        """
        self._ours.setdefault((key, source), collections.deque(maxlen=4)).append(fingerprint)
        self._seen[(key, source)] = fingerprint

    async def wait(self, key: Key, timeout: float, stopped: kopf.DaemonStopped) -> None:
        """Return on a poke, when kopf stops the loop, or after `timeout` seconds."""
        waiters = [asyncio.ensure_future(self.register(key).wait()), asyncio.ensure_future(stopped.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


def fingerprint(body: Mapping[str, Any], event_type: str | None) -> str | None:
    """What a watched object looks like, minus bookkeeping the API server changes on its own."""
    if event_type == "DELETED":
        return None
    meta = body.get("metadata", {})
    content = {key: value for key, value in body.items() if key != "metadata"}
    kept = {key: meta.get(key) for key in ("generation", "labels", "annotations", "ownerReferences",
                                            "deletionTimestamp")}
    return hashlib.sha256(json.dumps([content, kept], sort_keys=True, default=str).encode()).hexdigest()


def status_fingerprint(status: Mapping[str, Any] | None) -> str:
    """What a server's status looks like, to tell another client's status write from our own."""
    return hashlib.sha256(json.dumps(status or {}, sort_keys=True, default=str).encode()).hexdigest()


class Turns:
    """One lock per server. Its loop reconciles under it and the start-up expiry check removes
    under it, so a reconcile that began before expiresAt cannot re-create what was just removed."""

    def __init__(self) -> None:
        self._locks: dict[Key, asyncio.Lock] = {}

    def __call__(self, key: Key) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def forget(self, key: Key) -> None:
        self._locks.pop(key, None)


@dataclass(frozen=True)
class Runtime:
    """Everything shared by the loops of one operator process."""

    context: Context
    wakeups: Wakeups
    metrics: Metrics
    turns: Turns
    # At start-up every server reconciles at once; a bound keeps the API server free to
    # serve the teardowns falling due meanwhile, which do not wait for it.
    routine: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(ROUTINE_RECONCILES))


async def release_terminating(kube: Kube, namespaces: Sequence[str], logger: logging.Logger) -> None:
    """Release kopf's finalizer from the servers of every listed namespace being deleted, checked
    every TERMINATING_CHECK seconds for as long as the operator runs.

    kopf stops serving a listed namespace as soon as it sees it marked for deletion without a
    pending condition, which can be before it released the finalizers of the servers in it; the
    namespace would then stay Terminating for ever. Without the finalizer the namespace controller
    deletes the servers, and the garbage collector their children. (Watching the whole cluster,
    kopf serves a namespace until it is gone, so this is not needed.)
    """
    while True:
        try:
            for namespace in await kube.terminating_namespaces(namespaces):
                for body in await kube.list_servers([namespace]):
                    meta = body["metadata"]
                    if FINALIZER in (meta.get("finalizers") or []):
                        await kube.remove_finalizer(Ref(API_VERSION, KIND, namespace, meta["name"]),
                                                    meta["finalizers"], FINALIZER)
                        logger.info("namespace %s is being deleted: released %s to the namespace controller",
                                    namespace, meta["name"])
        except KubeError as exc:
            logger.warning("checking for served namespaces being deleted failed: %s", exc)
        await asyncio.sleep(TERMINATING_CHECK)


async def run(body: kopf.Body, runtime: Runtime, stopped: kopf.DaemonStopped, logger: kopf.Logger) -> None:
    """Reconcile `body` (kopf keeps it current) until kopf stops the daemon."""
    key: Key = (body["metadata"]["namespace"], body["metadata"]["name"])
    event = runtime.wakeups.register(key)
    runtime.wakeups.expect(key, "status", status_fingerprint(body.get("status")))  # seen: the first reconcile reads it
    written: dict[str, Any] | None = None  # the status this loop last wrote
    known: dict[Ref, str] = {}  # UIDs of the children the last reconcile applied or read as this server's
    failures = 0
    rejected_since: float | None = None  # monotonic time of the first of a run of rejected reconciles
    try:
        while not stopped:
            event.clear()
            if (body.get("metadata") or {}).get("deletionTimestamp"):
                # kopf stops this loop once its finalizer is done; the garbage collector takes the children.
                await runtime.wakeups.wait(key, runtime.context.settings.resync_interval, stopped)
                continue
            try:
                due = is_due(spec_instant(body), runtime.context.clock.now())
                async with contextlib.nullcontext() if due else runtime.routine, runtime.turns(key):
                    outcome = await _reconcile_once(body, written, known, runtime, logger)
            except TransientKubeError as exc:
                failures += 1
                delay = min(2.0 ** (failures - 1), MAX_BACKOFF)
                logger.warning("reconcile failed, retrying in %.0fs: %s", delay, exc)
                await runtime.wakeups.wait(key, delay, stopped)
                continue
            failures, written, known = 0, outcome.status, outcome.children
            now = runtime.context.clock.now()
            until_change = seconds_until(outcome.next_change, now)
            timeout = runtime.context.settings.resync_interval
            if outcome.state not in _RETRIED:
                rejected_since = None
            else:
                rejected_since = rejected_since if rejected_since is not None else time.monotonic()
                timeout = min(timeout, max(REJECTED_RETRY, time.monotonic() - rejected_since))
            await runtime.wakeups.wait(key, timeout if until_change is None else min(timeout, until_change), stopped)
    finally:
        if stopped.reason is not None and stopped.reason & kopf.DaemonStoppingReason.RESOURCE_DELETED:
            runtime.wakeups.forget(key)
            runtime.turns.forget(key)
            runtime.metrics.forget(*key)


async def _reconcile_once(
    body: kopf.Body, written: dict[str, Any] | None, known: dict[Ref, str], runtime: Runtime, logger: kopf.Logger
) -> Outcome:
    """One reconcile of a snapshot of `body`.

    The status this loop wrote last stands in for the body's when deciding what changed: a
    poke can arrive before the watch event of that write, and a stale status would announce
    the same change twice. Whether to write is decided against the body's status, so a status
    written by another client is put right (its watch event wakes the loop; our own writes
    do not, see Wakeups.expect).
    """
    snapshot: dict[str, Any] = copy.deepcopy(dict(body))
    stored: dict[str, Any] = dict(snapshot.get("status") or {})
    if written is not None:
        snapshot["status"] = written
    context, metrics = runtime.context, runtime.metrics
    meta = snapshot["metadata"]
    started = time.perf_counter()
    try:
        try:
            outcome = await reconcile(snapshot, context, known)
        except TransientKubeError:
            raise
        except Exception as exc:  # a bug or an answer it cannot read: reported like any other outcome
            logger.exception("reconcile failed; retrying with backoff")
            outcome = failed(snapshot, exc, context.clock.now())
        if outcome.state in _PROBLEMS and await context.kube.namespace_terminating(meta["namespace"]):
            logger.info("the namespace is being deleted: left to the namespace controller")
            return replace(outcome, status=snapshot.get("status") or {}, notices=[])
        await _write_status(snapshot, stored, written, outcome, runtime)
    except TransientKubeError:
        metrics.reconciled("error", time.perf_counter() - started)
        raise
    except Exception:  # the status itself could not be written: nothing else can say so
        logger.exception("writing the status failed; retrying with backoff")
        outcome = replace(outcome, state="failed", status=stored, notices=[], torn_down=[], teardown_delay=None)
    metrics.reconciled(_RESULTS[outcome.state], time.perf_counter() - started)
    _report(body, outcome, runtime, logger)
    return outcome


async def _write_status(snapshot: dict[str, Any], stored: dict[str, Any], written: dict[str, Any] | None,
                        outcome: Outcome, runtime: Runtime) -> None:
    meta = snapshot["metadata"]
    patch = status_patch(stored, outcome.status)
    runtime.wakeups.expect((meta["namespace"], meta["name"]), "status", status_fingerprint(outcome.status))
    if patch is not None:
        # `stored` may predate our last write: clear what either of them has and the new status lacks.
        patch = {**{key: None for key in written or {} if key not in outcome.status}, **patch}
        await runtime.context.kube.patch_status(Ref(API_VERSION, KIND, meta["namespace"], meta["name"]), patch)


def _report(body: kopf.Body, outcome: Outcome, runtime: Runtime, logger: kopf.Logger) -> None:
    meta, metrics = body["metadata"], runtime.metrics
    metrics.observe(meta["namespace"], meta["name"], outcome.state, outcome.expires_at)
    if outcome.teardown_delay is not None:
        metrics.torn_down(outcome.teardown_delay)
        logger.info("expired: removed %s, %.3fs after expiresAt",
                    ", ".join(map(str, outcome.torn_down)), outcome.teardown_delay)
    for notice in outcome.notices:
        kopf.event(body, type=notice.type, reason=notice.reason, message=notice.message)
        logger.info("%s: %s", notice.reason, notice.message)
