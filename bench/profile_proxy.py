"""Profile the proxy (or FastMCP) under load with py-spy and print where its CPU goes.

Not part of `make bench`; run it when a goal is missed:

    python bench/profile_proxy.py [--target proxy|fastmcp] [--era modern|legacy] [--requests N]
    python bench/profile_proxy.py --download [--download-mib 1024]   # the proxy streaming a recording

py-spy (from .cache/bench-venv) samples the server process while the load generator runs,
in its default blocking mode, and writes the collapsed stacks to
bench/results/profile-<target>-<era>.txt. The summary lists the frames with the most samples
of their own, and the inclusive share of the frames named in --focus.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from common import (
    BENCH_VENV,
    CURRENT,
    LEGACY,
    MODERN,
    RESULTS_DIR,
    ProxyTarget,
    ensure_bench_venv,
    fastmcp,
    mcp_spec,
    proxy,
    run_loadgen,
    sandbox,
)

DEFAULT_FOCUS = (
    "handle_request", "_serve", "on_call_tool", "__call__ (coviu_mcp/calls.py)", "_call_json",
    "request (coviu_mcp/upstream.py)",
    "send (httpx/_client.py)", "handle_async_request", "success (coviu_mcp/results.py)", "dumps", "loads",
    "model_validate", "model_dump", "model_dump_json", "iter_errors", "info (logging/__init__.py)",
    "data_received", "write",
)  # fmt: skip


def summarise(collapsed: Path, focus: tuple[str, ...], top: int = 25) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(("select (selectors.py", "_run_once (asyncio", "run_forever")) and len(frames) < 12:
            continue  # the event loop waiting for work
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} non-idle samples", "", "own time:"]
    lines += [f"  {n / total * 100:5.1f} %  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive (frames containing the focus strings):"]
    for needle in focus:
        matches = [(frame, n) for frame, n in inclusive.items() if needle in frame]
        for frame, n in sorted(matches, key=lambda item: -item[1])[:2]:
            lines.append(f"  {n / total * 100:5.1f} %  {frame}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", choices=["proxy", "fastmcp"], default="proxy")
    parser.add_argument("--era", choices=["modern", "legacy"], default="modern")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=250)
    parser.add_argument("--focus", nargs="*", default=list(DEFAULT_FOCUS))
    parser.add_argument("--download", action="store_true", help="profile downloads of the large recording instead")
    parser.add_argument("--download-mib", type=int, default=1024)
    parser.add_argument("--command", nargs="*", help="run this instead of coviu-mcp-server (a variant of the proxy)")
    args = parser.parse_args()
    ensure_bench_venv()
    py_spy = str(BENCH_VENV / "bin" / "py-spy")
    era = MODERN if args.era == "modern" else LEGACY
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"profile-{args.target}-{'download' if args.download else args.era}.txt"
    size = args.download_mib << 20
    variant = ProxyTarget(tuple(args.command)) if args.command else CURRENT
    with sandbox(recording_bytes=size) as box, (
        proxy(box, target=variant) if args.target == "proxy" else fastmcp(box)
    ) as server:
        if args.download:
            from bench_streaming import download_link

            link = urlsplit(
                download_link(server.port, server.mcp_path, box.seed["team_id"], box.seed["large_recording"])
            )
            spec = {"host": "127.0.0.1", "port": server.port, "path": f"{link.path}?{link.query}", "headers": {}}
            load = lambda: run_loadgen({**spec, "ranges": [], "parallel": 1}, download=True)  # noqa: E731
        else:
            spec = {**mcp_spec(server, era), "concurrency": args.concurrency, "requests": args.requests, "warmup": 200}
            run_loadgen({**spec, "requests": 500})
            load = lambda: run_loadgen(spec)  # noqa: E731
        recorder = subprocess.Popen(
            [py_spy, "record", "-p", str(server.run.process.pid), "--rate", str(args.rate), "--format", "raw",
             "--function", "-o", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        result: dict = {}
        thread = threading.Thread(target=lambda: result.update(load()))
        thread.start()
        thread.join()
        recorder.send_signal(2)
        recorder.wait(30)
        if args.download:
            print(f"{result['bytes'] / result['wall_s'] / 2**20:.0f} MiB/s under the profiler")
        else:
            print(
                f"{result['requests']} requests, {result['requests'] / result['wall_s']:.0f} req/s under the profiler"
            )
    print(summarise(out, tuple(args.focus)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
