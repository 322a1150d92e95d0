"""Prometheus metrics of one proxy process, on a registry the app owns (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ProxyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tool_calls = Counter(
            "coviu_mcp_tool_calls_total",
            "Tool calls by tool and outcome.",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.tool_latency = Histogram(
            "coviu_mcp_tool_call_duration_seconds",
            "Time to answer a tool call, upstream included.",
            ["tool"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "coviu_mcp_upstream_request_duration_seconds",
            "Time Coviu took to answer (headers received).",
            ["tool"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_responses = Counter(
            "coviu_mcp_upstream_responses_total",
            "Coviu responses by HTTP status code.",
            ["status"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "coviu_mcp_upstream_rate_limited_total",
            "Coviu 429 answers passed through to the caller.",
            ["tool"],
            registry=self.registry,
        )
        self.bytes_streamed = Counter(
            "coviu_mcp_streamed_bytes_total",
            "Bytes of files and recordings streamed to clients.",
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "coviu_mcp_auth_failures_total",
            "Refused requests by reason.",
            ["reason"],
            registry=self.registry,
        )
