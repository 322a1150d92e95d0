"""The operator's Prometheus series: per-state counts, per-server expiry, teardowns."""

from __future__ import annotations

from datetime import UTC, datetime

from coviu_operator.metrics import Metrics

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def value(metrics: Metrics, series: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(series, labels)


def test_servers_are_counted_by_their_latest_state() -> None:
    metrics = Metrics()
    metrics.observe("a", "one", "progressing", None)
    metrics.observe("a", "two", "progressing", None)
    metrics.observe("a", "one", "ready", None)
    assert value(metrics, "coviu_operator_servers", state="ready") == 1
    assert value(metrics, "coviu_operator_servers", state="progressing") == 1
    assert value(metrics, "coviu_operator_servers", state="expired") == 0


def test_the_expiry_gauge_follows_the_spec_and_leaves_with_the_server() -> None:
    metrics = Metrics()
    gauge = "coviu_operator_server_expiry_timestamp_seconds"
    metrics.observe("a", "one", "ready", T0)
    assert value(metrics, gauge, namespace="a", name="one") == T0.timestamp()
    metrics.observe("a", "one", "ready", None)  # expiresAt removed from the spec
    assert value(metrics, gauge, namespace="a", name="one") is None
    metrics.observe("a", "one", "ready", T0)
    metrics.forget("a", "one")
    assert value(metrics, gauge, namespace="a", name="one") is None
    assert value(metrics, "coviu_operator_servers", state="ready") == 0


def test_reconciles_and_teardowns_are_counted() -> None:
    metrics = Metrics()
    assert value(metrics, "coviu_operator_reconciles_total", result="error") == 0
    metrics.reconciled("ok", 0.02)
    metrics.reconciled("error", 0.5)
    metrics.torn_down(0.003)
    assert value(metrics, "coviu_operator_reconciles_total", result="ok") == 1
    assert value(metrics, "coviu_operator_reconcile_duration_seconds_count") == 2
    assert value(metrics, "coviu_operator_teardowns_total") == 1
    assert value(metrics, "coviu_operator_teardown_delay_seconds_bucket", le="0.01") == 1
