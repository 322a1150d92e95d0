"""Item 7: cold start of the proxy, and its memory when idle, beside FastMCP's OpenAPI import.

For each repetition (interleaved: proxy, FastMCP), the server is started with
coviu_testbed.launch.running while a poller thread sends GET /readyz every 5 ms on a fresh
connection, so the time from process start to the first 200 is known to a few milliseconds.
The proxy is ready once its tools are built and Coviu (the sandbox) granted a token; FastMCP
once its OpenAPI import is done and it serves HTTP. RSS is read after 2 s of idling, and
again after 200 tool calls and 2 s of idling. Beside RSS, the private part of it (RssAnon:
the heap, which each tenant pays alone; the rest is mapped files, the interpreter, extension
modules and bytecode, shared by every proxy Pod of the same image on a node).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from typing import Any

from common import (
    MODERN,
    cpu_seconds,
    fastmcp,
    knob,
    load_average,
    machine_info,
    markdown_table,
    mcp_spec,
    median,
    proxy,
    ratio,
    rss_mib,
    run_loadgen,
    sandbox,
    status_kib,
    write_result,
)


def _status(port: int, path: str) -> int | None:
    with contextlib.suppress(OSError, ValueError), socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        head = sock.recv(64)
        return int(head[9:12])
    return None


class ReadyPoller:
    """Polls a port in a thread; records when it first answered at all and first answered 200."""

    def __init__(self, port: int, path: str = "/readyz", interval: float = 0.005, timeout: float = 60) -> None:
        self.port, self.path, self.interval, self.timeout = port, path, interval, timeout
        self.started = time.perf_counter()
        self.first_answer: float | None = None
        self.ready: float | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while self.ready is None and time.perf_counter() - self.started < self.timeout:
            status = _status(self.port, self.path)
            now = time.perf_counter() - self.started
            if status is not None and self.first_answer is None:
                self.first_answer = now
            if status == 200:
                self.ready = now
                return
            time.sleep(self.interval)

    def start(self) -> ReadyPoller:
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def join(self) -> None:
        self._thread.join(self.timeout)


def measure_one(name: str, server: Any, poller: ReadyPoller) -> dict[str, Any]:
    pid = server.run.process.pid
    start_cpu = cpu_seconds(pid)
    time.sleep(2.0)
    idle, private = rss_mib(pid), status_kib(pid, "RssAnon") / 1024
    run_loadgen({**mcp_spec(server, MODERN), "concurrency": 4, "requests": 200, "warmup": 0})
    time.sleep(2.0)
    return {
        "server": name,
        "first_http_answer_s": poller.first_answer,
        "ready_s": poller.ready,
        "cpu_to_ready_s": start_cpu,
        "idle_rss_mib": idle,
        "idle_private_mib": private,
        "idle_rss_after_200_calls_mib": rss_mib(pid),
        "load_average": load_average(),
    }


def main() -> int:
    reps = knob("COLD_REPS", 5, 2)
    started = time.monotonic()
    info = machine_info()
    runs: list[dict[str, Any]] = []
    with sandbox() as box:
        for rep in range(reps):
            for name, factory in (("proxy", proxy), ("fastmcp", fastmcp)):
                pollers: list[ReadyPoller] = []
                with factory(
                    box, on_start=lambda port, pollers=pollers: pollers.append(ReadyPoller(port).start())
                ) as server:
                    pollers[0].join()
                    run = measure_one(name, server, pollers[0])
                run["repetition"] = rep
                runs.append(run)
                print(
                    f"rep {rep + 1}/{reps} {name:<8} first answer {run['first_http_answer_s']:.3f} s "
                    f"ready {run['ready_s']:.3f} s CPU {run['cpu_to_ready_s']:.2f} s "
                    f"idle RSS {run['idle_rss_mib']:.1f} MiB (private {run['idle_private_mib']:.1f}), "
                    f"after calls {run['idle_rss_after_200_calls_mib']:.1f} MiB",
                    flush=True,
                )
    keys = (
        "first_http_answer_s", "ready_s", "cpu_to_ready_s", "idle_rss_mib", "idle_private_mib",
        "idle_rss_after_200_calls_mib",
    )  # fmt: skip
    summary = {
        name: {k: median([r[k] for r in runs if r["server"] == name]) for k in keys} for name in ("proxy", "fastmcp")
    }
    ratios = {k: ratio(summary["proxy"][k], summary["fastmcp"][k]) for k in keys}
    ours = summary["proxy"]
    goals = [
        {"goal": "proxy idle RSS per tenant (MiB)", "value": round(ours["idle_rss_mib"], 1), "target": "<= 55",
         "met": ours["idle_rss_mib"] <= 55},
        {"goal": "proxy start → ready (s)", "value": round(ours["ready_s"], 3), "target": "<= 0.5",
         "met": ours["ready_s"] <= 0.5},
    ]  # fmt: skip
    print()
    print(markdown_table(
        ["server", "start → first HTTP answer s", "start → ready s", "CPU until ready s", "idle RSS MiB",
         "of which private MiB", "idle RSS after 200 calls MiB"],
        [[n, *(s[k] for k in keys)] for n, s in summary.items()] + [["proxy / FastMCP", *(ratios[k] for k in keys)]],
    ))  # fmt: skip
    write_result(
        "cold_start",
        {
            "item": 7, "machine": info, "settings": {"repetitions": reps}, "summary": summary, "ratios": ratios,
            "goals": goals, "runs": runs, "duration_s": time.monotonic() - started,
            "load_average_at_end": load_average(),
        },
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
