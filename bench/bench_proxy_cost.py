"""Items 1 and 2: the cost of the proxy per call, against the sandbox directly and against FastMCP.

The operation is `list_all_coviu_sessions {"page": 0, "page_size": 20}` through MCP (both
protocol eras) and `GET /v1/sessions?page=0&page_size=20` with a bearer token directly.
Every server is its own process with one uvicorn worker, all run for the whole benchmark
against one sandbox, and the points are interleaved: for each repetition, every target at
concurrency 1 and 16 (the target order rotates between repetitions). Medians of the
repetitions are reported, each ratio taken between medians of the same run.

    python bench/bench_proxy_cost.py          # BENCH_REQUESTS, BENCH_WARMUP, BENCH_REPS, BENCH_QUICK=1
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import httpx

from common import (
    LEGACY,
    MODERN,
    PAGE_SIZE,
    baseline_proxy,
    count_tokens,
    direct_spec,
    fastmcp,
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
    summarise,
    validate_direct,
    validate_mcp,
    write_result,
)

CONCURRENCY = (1, 16)
# The main operation is a page of 20 sessions (a 24 KB Coviu body). A page of 2 (2.6 KB) is
# measured too, as the size of the reference measurement's payload; BENCH_SMALL_PAGE=0 skips it.
PAGE_SIZES = tuple(dict.fromkeys((PAGE_SIZE, *([knob("SMALL_PAGE", 2, 2)] if knob("SMALL_PAGE", 2, 2) else []))))
# Measured at c=16 only: the starting point and FastMCP on the proxy's server stack.
C16_ONLY = ("baseline", "fastmcp+uvloop")
KEYS = (
    "rps", "p50_ms", "p90_ms", "p99_ms", "server_cpu_us", "upstream_cpu_us", "client_cpu_us", "busy_cores",
    "other_cores",
)  # fmt: skip


def guard_checks(port: int, mcp_path: str) -> dict[str, int]:
    """Both MCP servers must refuse a foreign Host and a wrong token before anything else."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": LEGACY}
    base = f"http://127.0.0.1:{port}"
    return {
        "foreign_host": httpx.post(base + mcp_path, json=body, headers={**headers, "Host": "evil.example"}).status_code,
        "foreign_origin": httpx.post(
            base + mcp_path, json=body, headers={**headers, "Origin": "https://evil.example"}
        ).status_code,
        "wrong_token": httpx.post(base + "/mcp/not-the-token", json=body, headers=headers).status_code,
    }


def main() -> int:
    requests, warmup, reps = knob("REQUESTS", 2000, 400), knob("WARMUP", 200, 50), knob("REPS", 3, 1)
    started = time.monotonic()
    info = machine_info()
    with (
        sandbox() as box,
        proxy(box) as ours,
        fastmcp(box) as theirs,
        fastmcp(box, stack="uvloop") as theirs_on_our_stack,
        proxy(box, target=baseline_proxy()) as before,
    ):
        upstream = {"upstream": [box.pid]}
        targets: dict[str, tuple[dict[str, Any], dict[str, list[int]], str | None, int]] = {}
        for page_size in PAGE_SIZES:
            suffix = "" if page_size == PAGE_SIZE else f" (page {page_size})"
            targets.update({
                "direct" + suffix: (direct_spec(box, page_size), upstream, None, page_size),
                "proxy modern" + suffix: (
                    mcp_spec(ours, MODERN, page_size), {"server": ours.pids, **upstream}, MODERN, page_size
                ),
                "proxy legacy" + suffix: (
                    mcp_spec(ours, LEGACY, page_size), {"server": ours.pids, **upstream}, LEGACY, page_size
                ),
                "fastmcp modern" + suffix: (
                    mcp_spec(theirs, MODERN, page_size), {"server": theirs.pids, **upstream}, MODERN, page_size
                ),
                "fastmcp legacy" + suffix: (
                    mcp_spec(theirs, LEGACY, page_size), {"server": theirs.pids, **upstream}, LEGACY, page_size
                ),
            })  # fmt: skip
        # The starting point, and FastMCP on the proxy's server stack (uvloop, httptools), on the
        # operation the goals are set on (page of 20, c=16).
        for label, server in (("baseline", before), ("fastmcp+uvloop", theirs_on_our_stack)):
            targets.update({
                f"{label} {era_name}": (
                    mcp_spec(server, era, PAGE_SIZE), {"server": server.pids, **upstream}, era, PAGE_SIZE
                )
                for era_name, era in (("modern", MODERN), ("legacy", LEGACY))
            })  # fmt: skip
        guards = {
            "proxy": guard_checks(ours.port, ours.mcp_path),
            "fastmcp": guard_checks(theirs.port, theirs.mcp_path),
        }
        print(f"guards (421 foreign Host, 403 foreign Origin, 404 wrong token): {guards}", flush=True)
        points: dict[str, dict[int, list[dict[str, Any]]]] = {name: {c: [] for c in CONCURRENCY} for name in targets}
        names = list(targets)
        answer: dict[str, dict[str, int]] = {}
        for rep in range(reps):
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for name in order:
                spec, charge, era, page_size = targets[name]
                for concurrency in CONCURRENCY if page_size == PAGE_SIZE and not name.startswith(C16_ONLY) else (16,):
                    point = measure(spec, concurrency, requests, warmup, charge)
                    body = sample_body(point)
                    validate_direct(body, page_size) if era is None else validate_mcp(body, era, page_size)
                    point["repetition"] = rep
                    points[name][concurrency].append(point)
                    print(
                        f"rep {rep + 1}/{reps} {name:<25} c={concurrency:<3} {point['rps']:8,.0f} req/s "
                        f"p50 {point['p50_ms']:6.2f} ms p99 {point['p99_ms']:6.2f} ms "
                        f"server {point.get('server_cpu_us', 0):6,.0f} µs upstream {point['upstream_cpu_us']:5,.0f} µs "
                        f"client {point['client_cpu_us']:4,.0f} µs busy {point['busy_cores']:.2f} "
                        f"(others {point['other_cores']:.2f}) "
                        f"load {point['load_average']:.2f}",
                        flush=True,
                    )
                    if name == "proxy modern" and concurrency == 16 and rep == 0:
                        answer = answer_size(body)
    medians = {name: {c: summarise(points[name][c], KEYS) for c in CONCURRENCY if points[name][c]} for name in targets}
    ratios, goals = compare(medians)
    small = {f"page {p}": compare(medians, f" (page {p})", (16,))[0] for p in PAGE_SIZES if p != PAGE_SIZE}
    report(medians, ratios, goals, small)
    print("\nwhat one answer (page of 20, modern) holds, bytes and o200k_base tokens:")
    print(markdown_table(["part", "bytes", "tokens"], [[k, v["bytes"], v["tokens"]] for k, v in answer.items()]))
    write_result(
        "proxy_cost",
        {
            "item": [1, 2],
            "machine": info,
            "settings": {"requests": requests, "warmup": warmup, "repetitions": reps, "concurrency": CONCURRENCY},
            "guards": guards,
            "medians": medians,
            "ratios": ratios,
            "ratios_small_page": small,
            "answer_size": answer,
            "goals": goals,
            "points": points,
            "duration_s": time.monotonic() - started,
            "load_average_at_end": load_average(),
        },
    )
    return 0


def answer_size(body: bytes) -> dict[str, dict[str, int]]:
    """Bytes and tokens of an answer's parts: what a model reads depends on which parts its client passes on."""
    result = json.loads(body)["result"]
    parts = {
        "whole JSON-RPC answer": body.decode(),
        "text content": result["content"][0]["text"],
        "structuredContent (compact JSON)": json.dumps(
            result["structuredContent"], separators=(",", ":"), ensure_ascii=False
        ),
    }
    tokens = count_tokens(list(parts.values()))
    return {
        name: {"bytes": len(text.encode()), "tokens": n} for (name, text), n in zip(parts.items(), tokens, strict=True)
    }


def compare(
    m: dict[str, dict[int, dict[str, float]]], suffix: str = "", concurrency: tuple[int, ...] = CONCURRENCY
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ratios: dict[str, Any] = {}
    for era in ("modern", "legacy"):
        ours, theirs = m[f"proxy {era}{suffix}"], m[f"fastmcp {era}{suffix}"]
        for c in concurrency:
            d = m["direct" + suffix][c]
            ratios[f"{era} c={c}"] = {
                "throughput_proxy_vs_direct": ratio(ours[c]["rps"], d["rps"]),
                "throughput_fastmcp_vs_direct": ratio(theirs[c]["rps"], d["rps"]),
                "throughput_proxy_vs_fastmcp": ratio(ours[c]["rps"], theirs[c]["rps"]),
                "p50_added_ms": ours[c]["p50_ms"] - d["p50_ms"],
                "p99_proxy_vs_fastmcp": ratio(ours[c]["p99_ms"], theirs[c]["p99_ms"]),
                "server_cpu_fastmcp_vs_proxy": ratio(theirs[c]["server_cpu_us"], ours[c]["server_cpu_us"]),
                "proxy_cpu_us": ours[c]["server_cpu_us"],
                "fastmcp_cpu_us": theirs[c]["server_cpu_us"],
            }
    goals: list[dict[str, Any]] = []
    if concurrency != CONCURRENCY:
        return ratios, goals

    def goal(name: str, value: float, target: str, met: bool) -> None:
        goals.append({"goal": name, "value": round(value, 3), "target": target, "met": bool(met)})

    for era in ("modern", "legacy"):
        r16, r1 = ratios[f"{era} c=16"], ratios[f"{era} c=1"]
        before = m[f"baseline {era}"][16]["server_cpu_us"]
        ratios[f"{era} c=16"]["proxy_cpu_vs_baseline"] = ratio(r16["proxy_cpu_us"], before)
        ratios[f"{era} c=16"]["baseline_cpu_us"] = before
        same_stack = m[f"fastmcp+uvloop {era}"][16]
        ratios[f"{era} c=16"]["throughput_proxy_vs_fastmcp_on_its_stack"] = ratio(
            m[f"proxy {era}"][16]["rps"], same_stack["rps"]
        )
        ratios[f"{era} c=16"]["server_cpu_fastmcp_on_its_stack_vs_proxy"] = ratio(
            same_stack["server_cpu_us"], r16["proxy_cpu_us"]
        )
        goal(
            f"{era}: proxy CPU per call vs the starting point, c=16",
            r16["proxy_cpu_vs_baseline"],
            "<= 0.5",
            r16["proxy_cpu_vs_baseline"] <= 0.5,
        )
        goal(
            f"{era}: throughput vs FastMCP, c=16",
            r16["throughput_proxy_vs_fastmcp"],
            ">= 3",
            r16["throughput_proxy_vs_fastmcp"] >= 3,
        )
        goal(f"{era}: p99 vs FastMCP, c=16", r16["p99_proxy_vs_fastmcp"], "<= 0.5", r16["p99_proxy_vs_fastmcp"] <= 0.5)
        worst_cpu = max(r16["proxy_cpu_us"], r1["proxy_cpu_us"])
        goal(f"{era}: proxy CPU per call (µs, worse of c=1/c=16)", worst_cpu, "<= 500", worst_cpu <= 500)
        goal(
            f"{era}: throughput vs direct, c=16",
            r16["throughput_proxy_vs_direct"],
            ">= 0.25",
            r16["throughput_proxy_vs_direct"] >= 0.25,
        )
        goal(f"{era}: added p50 at c=1 (ms)", r1["p50_added_ms"], "< 0.6", r1["p50_added_ms"] < 0.6)
    legacy_vs_modern = ratio(ratios["legacy c=16"]["proxy_cpu_us"], ratios["modern c=16"]["proxy_cpu_us"])
    ratios["legacy c=16"]["proxy_cpu_legacy_vs_modern"] = legacy_vs_modern
    goal("legacy vs modern proxy CPU per call, c=16", legacy_vs_modern, "<= 1.15", legacy_vs_modern <= 1.15)
    return ratios, goals


def report(
    m: dict[str, dict[int, dict[str, float]]],
    ratios: dict[str, Any],
    goals: list[dict[str, Any]],
    small: dict[str, dict[str, Any]],
) -> None:
    rows = []
    nothing = {k: float("nan") for k in KEYS}
    for name, by_c in m.items():
        one, many = by_c.get(1, nothing), by_c[16]
        rows.append([
            name, one["rps"], one["p50_ms"], one["p99_ms"], many["rps"], many["p50_ms"], many["p99_ms"],
            f"{one.get('server_cpu_us', float('nan')):,.0f} / "
            f"{many.get('server_cpu_us', float('nan')):,.0f}".replace("nan", "–")
            if "server_cpu_us" in many else "–",
            f"{one['upstream_cpu_us']:,.0f} / {many['upstream_cpu_us']:,.0f}".replace("nan", "–"),
            f"{one['client_cpu_us']:,.0f} / {many['client_cpu_us']:,.0f}".replace("nan", "–"),
            f"{one['other_cores']:.2f} / {many['other_cores']:.2f}".replace("nan", "–"),
        ])  # fmt: skip
    print()
    print(markdown_table(
        ["target", "c=1 req/s", "p50 ms", "p99 ms", "c=16 req/s", "p50 ms", "p99 ms",
         "server CPU µs/call (c1 / c16)", "sandbox CPU µs/req", "load generator CPU µs/req", "other work, cores"],
        rows,
    ))  # fmt: skip
    print()
    keys = list(next(iter(ratios.values())))
    print(markdown_table(["ratio", *ratios], [[k, *(ratios[col][k] for col in ratios)] for k in keys]))
    for era in ("modern", "legacy"):
        r16 = ratios[f"{era} c=16"]
        print(
            f"{era}, c=16, against FastMCP on the proxy's server stack (uvloop, httptools): throughput "
            f"{r16['throughput_proxy_vs_fastmcp_on_its_stack']:.2f}x, FastMCP's CPU per call "
            f"{r16['server_cpu_fastmcp_on_its_stack_vs_proxy']:.2f}x the proxy's"
        )
    for label, extra in small.items():
        print(f"\nsame ratios with {label}:")
        print(markdown_table(["ratio", *extra], [[k, *(extra[col][k] for col in extra)] for k in keys]))
    print()
    print(
        markdown_table(
            ["goal", "value", "target", "met"],
            [[g["goal"], g["value"], g["target"], "met" if g["met"] else "MISSED"] for g in goals],
        )
    )


if __name__ == "__main__":
    sys.exit(main())
