"""The operator's Prometheus metrics, on a registry of their own so that every operator
instance (and every test) counts from zero.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

STATES = ("ready", "progressing", "blocked", "rejected", "expired", "invalid", "failed")
RESULTS = ("ok", "blocked", "rejected", "error")


class Metrics:
    """Counters and gauges updated by the controller; serve `registry` on /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reconciles = Counter(
            "coviu_operator_reconciles", "Reconciles of CoviuMCPServers, by result.",
            ["result"], registry=self.registry,
        )
        self.reconcile_seconds = Histogram(
            "coviu_operator_reconcile_duration_seconds", "Time one reconcile takes.",
            registry=self.registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.servers = Gauge(
            "coviu_operator_servers", "CoviuMCPServers handled by this operator, by state.",
            ["state"], registry=self.registry,
        )
        self.expiry = Gauge(
            "coviu_operator_server_expiry_timestamp_seconds", "spec.expiresAt of each server, as a Unix time.",
            ["namespace", "name"], registry=self.registry,
        )
        self.teardowns = Counter(
            "coviu_operator_teardowns", "Expiries that removed a server's workload.", registry=self.registry,
        )
        self.teardown_delay = Histogram(
            "coviu_operator_teardown_delay_seconds",
            "From spec.expiresAt to the Deployment, Service and token Secret being deleted.",
            registry=self.registry, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300),
        )
        for result in RESULTS:
            self.reconciles.labels(result)
        self._states: dict[tuple[str, str], str] = {}
        self._publish_states()

    def reconciled(self, result: str, seconds: float) -> None:
        self.reconciles.labels(result).inc()
        self.reconcile_seconds.observe(seconds)

    def observe(self, namespace: str, name: str, state: str, expires_at: datetime | None) -> None:
        """Record a server's latest state and expiry."""
        self._states[(namespace, name)] = state
        self._publish_states()
        if expires_at is None:
            self._drop_expiry(namespace, name)
        else:
            self.expiry.labels(namespace, name).set(expires_at.timestamp())

    def torn_down(self, delay_seconds: float) -> None:
        self.teardowns.inc()
        self.teardown_delay.observe(delay_seconds)

    def forget(self, namespace: str, name: str) -> None:
        """The server is deleted: it leaves every per-server series."""
        self._states.pop((namespace, name), None)
        self._publish_states()
        self._drop_expiry(namespace, name)

    def _drop_expiry(self, namespace: str, name: str) -> None:
        with contextlib.suppress(KeyError):  # never had an expiry
            self.expiry.remove(namespace, name)

    def _publish_states(self) -> None:
        for state in STATES:
            self.servers.labels(state).set(sum(1 for s in self._states.values() if s == state))
