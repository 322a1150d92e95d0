"""Item 3: horizontal scale, 1, 2 and 4 proxy processes behind one port.

BENCH_SCALE_MODE picks how the processes share the port:
- "reuseport" (default): N separate processes (bench/proxy_asgi.py), each binding the port
  with SO_REUSEPORT; the kernel spreads connections over them by a hash of the addresses.
  This is how N replicas behind a Service behave: independent processes, nothing shared.
- "workers": `uvicorn --workers N --factory proxy_asgi:app`; the workers accept from one
  shared socket, whichever is awake first.

All three deployments run for the whole benchmark against one sandbox, and the points are
interleaved (N = 1, 2, 4 in each repetition, the order rotating). Load: modern-era
`list_all_coviu_sessions` at BENCH_SCALE_CONCURRENCY (default 32) connections, with a page
of BENCH_SCALE_PAGE (default 2) sessions: on a 2-core machine the sandbox's cost for a page of
20 (about 0.9 ms per request, a third of the proxy's) would leave the proxies too little CPU to
show anything, so a small page keeps the proxy the dominant cost. Besides req/s,
the CPU per call of every process is read, which gives the machine's ceiling for this call:
cores / (proxy + sandbox + load generator CPU per call). On 2 cores that ceiling is reached
well before 4 proxy processes; the table shows how close each configuration gets to it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Any

from common import (
    MODERN,
    knob,
    load_average,
    machine_info,
    markdown_table,
    mcp_spec,
    measure,
    proxy,
    ratio,
    sample_body,
    sandbox,
    server_pids,
    summarise,
    tree_cpu_seconds,
    validate_mcp,
    write_result,
)

COUNTS = (1, 2, 4)
KEYS = ("rps", "p50_ms", "p99_ms", "server_cpu_us", "upstream_cpu_us", "client_cpu_us", "busy_cores", "other_cores")


def main() -> int:
    mode = os.environ.get("BENCH_SCALE_MODE", "reuseport")
    requests, warmup, reps = knob("SCALE_REQUESTS", 3000, 600), knob("WARMUP", 200, 50), knob("REPS", 3, 1)
    concurrency = knob("SCALE_CONCURRENCY", 32, 32)
    page_size = knob("SCALE_PAGE", 2, 2)
    started = time.monotonic()
    info = machine_info()
    points: dict[int, list[dict[str, Any]]] = {n: [] for n in COUNTS}
    with sandbox() as box, contextlib.ExitStack() as stack:
        servers = {n: stack.enter_context(proxy(box, workers=n, mode=mode)) for n in COUNTS}
        for rep in range(reps):
            order = COUNTS[rep % len(COUNTS) :] + COUNTS[: rep % len(COUNTS)]
            for n in order:
                server = servers[n]
                pids = server_pids(server)
                # uvicorn's supervisor only watches its workers; SO_REUSEPORT processes all serve.
                workers = [p for p in pids if p != server.run.process.pid] if mode == "workers" and n > 1 else pids
                per_worker0 = {p: tree_cpu_seconds([p]) for p in workers}
                spec = mcp_spec(server, MODERN, page_size)
                point = measure(spec, concurrency, requests, warmup, {"server": pids, "upstream": [box.pid]})
                validate_mcp(sample_body(point), MODERN, page_size)
                shares = {p: tree_cpu_seconds([p]) - per_worker0[p] for p in workers}
                total = sum(shares.values()) or 1.0
                point["worker_cpu_shares"] = sorted((s / total for s in shares.values()), reverse=True)
                point["ceiling_rps"] = (os.cpu_count() or 1) / (
                    (point["server_cpu_us"] + point["upstream_cpu_us"] + point["client_cpu_us"]) / 1e6
                )
                point["repetition"] = rep
                points[n].append(point)
                print(
                    f"rep {rep + 1}/{reps} processes={n} {point['rps']:7,.0f} req/s p50 {point['p50_ms']:6.1f} ms "
                    f"p99 {point['p99_ms']:6.1f} ms proxy {point['server_cpu_us']:5,.0f} µs/call "
                    f"sandbox {point['upstream_cpu_us']:4,.0f} client {point['client_cpu_us']:4,.0f} "
                    f"busy {point['busy_cores']:.2f} (others {point['other_cores']:.2f}) "
                    f"ceiling {point['ceiling_rps']:5,.0f} req/s "
                    f"worker shares {', '.join(f'{s:.2f}' for s in point['worker_cpu_shares'])} "
                    f"load {point['load_average']:.2f}",
                    flush=True,
                )
    medians = {n: summarise(points[n], (*KEYS, "ceiling_rps")) for n in COUNTS}
    base = medians[1]["rps"]
    rows = [
        [n, m["rps"], ratio(m["rps"], base), m["ceiling_rps"], ratio(m["rps"], m["ceiling_rps"]),
         m["p50_ms"], m["p99_ms"], m["server_cpu_us"], m["upstream_cpu_us"], m["client_cpu_us"], m["busy_cores"],
         m["other_cores"]]
        for n, m in medians.items()
    ]  # fmt: skip
    print()
    print(markdown_table(
        ["processes", "req/s", "vs 1 process", "machine ceiling req/s", "of ceiling", "p50 ms", "p99 ms",
         "proxy CPU µs/call", "sandbox CPU µs/req", "client CPU µs/req", "busy cores", "of which other work"],
        rows,
    ))  # fmt: skip
    write_result(
        "scale",
        {
            "item": 3, "machine": info,
            "settings": {
                "mode": mode, "requests": requests, "warmup": warmup, "repetitions": reps, "concurrency": concurrency,
                "page_size": page_size,
            },
            "medians": {str(n): m for n, m in medians.items()},
            "speedup": {str(n): ratio(m["rps"], base) for n, m in medians.items()},
            "points": {str(n): p for n, p in points.items()},
            "duration_s": time.monotonic() - started, "load_average_at_end": load_average(),
        },
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
