"""Does rejecting a near-miss URL token take longer than rejecting a far miss?

A guard that compared tokens byte by byte and stopped at the first difference would reject a
token that shares a long prefix with the real one measurably later, which lets an attacker
recover it a byte at a time. The guard compares SHA-256 digests in constant time; this measures
that, in process (network jitter would hide nanoseconds), with the two kinds of guesses
interleaved so that machine noise falls on both alike.

Reported: medians of each kind, their difference, and a permutation test's p-value for the
hypothesis that both come from the same distribution (a small p-value would be a finding).
"""

from __future__ import annotations

import hashlib
import random
import statistics
import time

from common import knob, markdown_table, write_result
from coviu_mcp.config import load_settings
from coviu_mcp.guard import Guard
from coviu_mcp.metrics import ProxyMetrics

TOKEN = "k" * 43


def _scope(token: str) -> dict:
    return {"type": "http", "path_params": {"token": token}, "headers": [(b"host", b"127.0.0.1:8080")], "client": None}


def main() -> None:
    samples = knob("AUTH_TIMING_SAMPLES", 200_000, 20_000)
    settings = load_settings(
        COVIU_CLIENT_ID="id", COVIU_CLIENT_SECRET="s", MCP_TOKEN_SHA256=hashlib.sha256(TOKEN.encode()).hexdigest(),
        MCP_AUTH_FAILURE_LIMIT="0",
    )
    guard = Guard(settings, ProxyMetrics())
    near, far = _scope(TOKEN[:-1] + "j"), _scope("z" + TOKEN[1:])
    timings: dict[str, list[float]] = {"near": [], "far": []}
    order = ["near", "far"] * samples
    random.Random(7).shuffle(order)
    clock = time.perf_counter_ns
    for kind in order:
        scope = near if kind == "near" else far
        started = clock()
        refusal = guard.check(scope)
        timings[kind].append(clock() - started)
        assert refusal is not None and refusal.response.status_code == 404
    near_median, far_median = statistics.median(timings["near"]), statistics.median(timings["far"])
    p_value = _permutation_p(timings["near"], timings["far"])
    print(
        markdown_table(
            ["guess", "samples", "median ns", "p90 ns"],
            [
                [kind, len(values), statistics.median(values), sorted(values)[int(len(values) * 0.9)]]
                for kind, values in timings.items()
            ],
        )
    )
    print(f"near - far median difference: {near_median - far_median:+.0f} ns; permutation p-value {p_value:.3f}")
    write_result("auth_timing", {
        "samples_each": samples, "near_median_ns": near_median, "far_median_ns": far_median,
        "difference_ns": near_median - far_median, "permutation_p_value": p_value,
        "finding": p_value < 0.01 and near_median > far_median,
    })


def _permutation_p(a: list[float], b: list[float], rounds: int = 200) -> float:
    """Share of label shuffles whose median gap is at least the observed one (on a subsample)."""
    rng = random.Random(11)
    a, b = rng.sample(a, min(len(a), 5000)), rng.sample(b, min(len(b), 5000))
    observed = abs(statistics.median(a) - statistics.median(b))
    pooled = a + b
    hits = 0
    for _ in range(rounds):
        rng.shuffle(pooled)
        if abs(statistics.median(pooled[: len(a)]) - statistics.median(pooled[len(a):])) >= observed:
            hits += 1
    return (hits + 1) / (rounds + 1)


if __name__ == "__main__":
    main()
