"""Item 6 of the benchmarks: how precisely the operator removes a server at its expiresAt.

On the control-plane harness, with the real `coviu-mcp-operator` process (cluster-wide, as a user
bound to exactly its documented ClusterRole): BENCH_EXPIRY_SERVERS servers (200; 40 with
BENCH_QUICK=1) are created with `expiresAt` staggered BENCH_EXPIRY_GAP_MS apart (200 ms), far
enough ahead for all of them to be deployed first. A watch on Deployments records when each
Deployment's DELETED event arrives; the delay is that instant minus `expiresAt` (same wall
clock). Runs (BENCH_EXPIRY_RUNS, comma-separated):

- steady:  the operator runs throughout;
- restart: half-way through the expiries the operator is stopped with SIGTERM (as a rollout of
  its Deployment does) and started again at once;
- kill:    the same with SIGKILL (a crash, or the node going away).

The expiries that fall while the operator is down can only be processed when it is back, so
the restart runs also report how long it was away and the delays of those expiries. The proxy
itself refuses every request from `expiresAt` on (MCP_EXPIRES_AT), whatever the operator does;
what is measured here is how long the workload object outlives it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, watch

from bench_operator_scale import (
    USER,
    api_client,
    create_all,
    create_namespace,
    is_ready,
    server_body,
    start_plane,
)
from common import knob, load_average, machine_info, markdown_table, percentile, write_result
from coviu_operator.names import API_VERSION, PLURAL
from coviu_testbed.cluster import ControlPlane
from coviu_testbed.operator_process import OperatorProcess

GROUP, VERSION = API_VERSION.split("/")
MODES = ("steady", "restart", "kill")


def rfc3339(instant: datetime) -> str:
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def record_deletions(api: client.ApiClient, namespace: str, gone: dict[str, float], expected: int,
                           deadline: float) -> None:
    """Wall-clock receipt time of each Deployment's DELETED event, until all are in or `deadline`."""
    apps = client.AppsV1Api(api)
    version = None
    while len(gone) < expected and time.time() < deadline:
        async with watch.Watch() as stream:
            try:
                async for event in stream.stream(apps.list_namespaced_deployment, namespace, resource_version=version,
                                                 timeout_seconds=max(1, int(deadline - time.time()))):
                    version = event["object"].metadata.resource_version
                    if event["type"] == "DELETED":
                        gone.setdefault(event["object"].metadata.name.removesuffix("-mcp"), time.time())
                        if len(gone) == expected:
                            return
            except client.ApiException as exc:
                if exc.status != 410:
                    raise
                version = None


async def count_ready(api: client.ApiClient, namespace: str) -> int:
    listed = await client.CustomObjectsApi(api).list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    return sum(1 for obj in listed["items"] if is_ready(obj))


def teardown_histogram(operator: OperatorProcess) -> dict[str, float]:
    """The operator's own view: coviu_operator_teardown_delay_seconds (cumulative buckets)."""
    samples = operator.metric("coviu_operator_teardown_delay_seconds")
    return {key: value for key, value in samples.items() if key.startswith(("_bucket", "_count", "_sum"))}


async def one_run(plane: ControlPlane, operator: OperatorProcess, mode: str, count: int, gap: float) -> dict[str, Any]:
    namespace = f"expiry-{mode}"
    create_namespace(plane, namespace)
    api = await api_client(plane)
    try:
        lead = 15.0 + 0.15 * count  # every server deployed before the first expiry (twice what a quiet machine needs)
        first = datetime.now(UTC) + timedelta(seconds=lead)
        expiries = {f"e{i:04d}": first + timedelta(seconds=gap * i) for i in range(count)}
        last = max(expiries.values())
        gone: dict[str, float] = {}
        recorder = asyncio.ensure_future(record_deletions(api, namespace, gone, count, last.timestamp() + 120))
        began = time.monotonic()
        await create_all(api, namespace, [server_body(name, expiresAt=rfc3339(at)) for name, at in expiries.items()])
        while await count_ready(api, namespace) < count and datetime.now(UTC) < first:  # noqa: ASYNC110 - polls the API server
            await asyncio.sleep(0.5)
        ready_before_first = await count_ready(api, namespace)
        deployed_s = time.monotonic() - began
        print(f"{mode}: {ready_before_first}/{count} Ready {deployed_s:.1f}s after the first create, "
              f"{(first - datetime.now(UTC)).total_seconds():.1f}s before the first expiry", flush=True)
        before = teardown_histogram(operator)
        down: tuple[float, float] | None = None
        if mode in ("restart", "kill"):
            middle = first + timedelta(seconds=gap * count / 2)
            await asyncio.sleep(max(0.0, (middle - datetime.now(UTC)).total_seconds()))
            stopped_at = time.time()
            await asyncio.to_thread(operator.kill if mode == "kill" else operator.stop)
            exited_at = time.time()
            await asyncio.to_thread(operator.start)
            down = (stopped_at, time.time())
            print(f"{mode}: operator down from {down[1] - down[0]:.2f}s (exit took {exited_at - stopped_at:.2f}s)",
                  flush=True)
        await recorder
        await asyncio.sleep(1)  # the operator records a teardown once all three deletes are done
        after = teardown_histogram(operator) if mode == "steady" else {}
    finally:
        await api.close()
    delays = {name: gone[name] - at.timestamp() for name, at in expiries.items() if name in gone}
    values = sorted(delays.values())
    during = sorted(delays[name] for name, at in expiries.items()
                    if down is not None and name in delays and down[0] <= at.timestamp() <= down[1])
    outside = sorted(delays[name] for name, at in expiries.items()
                     if name in delays and not (down is not None and down[0] <= at.timestamp() <= down[1]))
    run = {
        "mode": mode,
        "servers": count,
        "gap_s": gap,
        "lead_s": lead,
        "ready_before_first_expiry": ready_before_first,
        "removed": len(values),
        "missed": sorted(set(expiries) - set(gone)),
        "min_ms": values[0] * 1000 if values else float("nan"),
        "p50_ms": percentile(values, 50) * 1000,
        "p90_ms": percentile(values, 90) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "max_ms": values[-1] * 1000 if values else float("nan"),
        "early": sum(1 for v in values if v < 0),
        "operator_down_s": (down[1] - down[0]) if down else 0.0,
        "expiries_while_down": len(during),
        "while_down_max_ms": during[-1] * 1000 if during else float("nan"),
        "others_p99_ms": percentile(outside, 99) * 1000,
        "others_max_ms": outside[-1] * 1000 if outside else float("nan"),
        "delays_ms": [round(v * 1000, 1) for v in values],
        # (expiresAt relative to the stop of the operator, delay), in expiry order: the catch-up after a restart.
        "timeline": [
            (round(at.timestamp() - down[0], 2), round(delays[name] * 1000, 1))
            for name, at in expiries.items()
            if name in delays
        ]
        if down
        else [],
    }
    if after:
        run["operator_histogram"] = {key: after[key] - before.get(key, 0.0) for key in after}
    # The expired servers stay (as the record); remove the namespace so the next run starts light.
    plane.kubectl("delete", "namespace", namespace, "--wait=true", "--timeout=300s", timeout=320)
    return run


def main() -> int:
    count = knob("EXPIRY_SERVERS", 200, 40)
    gap = knob("EXPIRY_GAP_MS", 200, 200) / 1000
    modes = [m.strip() for m in os.environ.get("BENCH_EXPIRY_RUNS", ",".join(MODES)).split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        print(f"unknown run(s) {sorted(unknown)}; known: {', '.join(MODES)}")
        return 2
    info = machine_info()
    started = time.monotonic()
    runs = []
    with tempfile.TemporaryDirectory(prefix="coviu-bench-expiry-") as scratch:
        folder = os.environ.get("BENCH_OPERATOR_LOGS") or scratch
        plane = start_plane(keep_workdir=os.environ.get("BENCH_KEEP", "") not in ("", "0"))
        operator = OperatorProcess(str(plane.user_kubeconfig(USER)), None, Path(folder))
        try:
            operator.start()
            for mode in modes:
                runs.append(asyncio.run(one_run(plane, operator, mode, count, gap)))
                run = runs[-1]
                print(f"{mode}: removed {run['removed']}/{count}, p50 {run['p50_ms']:.0f} ms, "
                      f"p99 {run['p99_ms']:.0f} ms, max {run['max_ms']:.0f} ms", flush=True)
        finally:
            operator.stop()
            plane.stop()
    print()
    print(markdown_table(
        ["run", "n", "removed", "min ms", "p50 ms", "p90 ms", "p99 ms", "max ms", "operator down s",
         "expiries while down", "their max ms", "p99 of the others ms"],
        [[r["mode"], r["servers"], r["removed"], r["min_ms"], r["p50_ms"], r["p90_ms"], r["p99_ms"], r["max_ms"],
          r["operator_down_s"], r["expiries_while_down"], r["while_down_max_ms"], r["others_p99_ms"]] for r in runs],
    ))
    steady = next((r for r in runs if r["mode"] == "steady"), None)
    if steady and "operator_histogram" in steady:
        hist = steady["operator_histogram"]
        count_key = next((k for k in hist if k.startswith("_count")), None)
        sum_key = next((k for k in hist if k.startswith("_sum")), None)
        if count_key and sum_key and hist[count_key]:
            print(f"\noperator's own view (steady run): {hist[count_key]:.0f} teardowns, mean "
                  f"{hist[sum_key] / hist[count_key] * 1000:.0f} ms from expiresAt to its deletes being done")
    goals = [{"goal": f"expiry p99 under 1 s ({r['mode']})", "value": round(r["p99_ms"], 1), "target": 1000,
              "met": r["p99_ms"] < 1000 and not r["missed"]} for r in runs]
    write_result("expiry_precision", {
        "item": 6, "machine": info, "settings": {"servers": count, "gap_s": gap, "runs": modes},
        "runs": runs, "goals": goals, "duration_s": time.monotonic() - started, "load_average_at_end": load_average(),
    })
    return 0 if all(not r["missed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
