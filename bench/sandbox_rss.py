"""Serve the 1 GiB recording from a real sandbox process and watch the sandbox's memory.

Starts ``coviu-sandbox`` on a free loopback port, downloads the large recording whole and then as
ranges over several keep-alive connections with a minimal asyncio HTTP/1.1 client (so the client
is not what limits throughput), checks sampled windows of the body against
``coviu_sandbox.binary.expected_bytes``, and samples the server's RSS from ``/proc`` throughout.
Prints a table, writes ``bench/results/sandbox_rss.json`` and exits non-zero if a byte was wrong
or the RSS goal was missed.

    python bench/sandbox_rss.py [--recording-size 1GiB] [--range-size 64MiB] [--connections 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx

from coviu_sandbox.binary import expected_bytes
from coviu_sandbox.cli import parse_size
from coviu_testbed.launch import console_script, free_port, running

MIB = 1024 * 1024
GOAL_RSS_MIB = 150
READ_SIZE = MIB
SAMPLE_EVERY = 16 * MIB
SAMPLE_BYTES = 4096
RESULTS = Path(__file__).parent / "results" / "sandbox_rss.json"


class RssSampler:
    """Polls ``VmRSS`` of one process from a background thread; the peak is reset per phase."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self._path = Path(f"/proc/{pid}/status")
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_kib = 0

    def read_kib(self) -> int:
        for line in self._path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS in {self._path}")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak_kib = max(self.peak_kib, self.read_kib())

    def __enter__(self) -> RssSampler:
        self.peak_kib = self.read_kib()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, self.read_kib())


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes, blob_id: str, offset: int
) -> tuple[int, dict[str, str], int, int]:
    """Send one request on a keep-alive connection; read and check the body without keeping it.

    Returns the status, headers, body length and the number of sampled windows that matched.
    """
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines if line)
    }
    length = int(headers["content-length"])
    samples = sorted({0, *range(SAMPLE_EVERY // 2, length, SAMPLE_EVERY), max(length - SAMPLE_BYTES, 0)})
    position = checked = 0
    while position < length:
        chunk = await reader.readexactly(min(READ_SIZE, length - position))
        end = position + len(chunk)
        while samples and samples[0] < end:
            start = samples.pop(0)
            window = chunk[start - position : start - position + SAMPLE_BYTES]
            if window != expected_bytes(blob_id, offset + start, len(window)):
                raise AssertionError(f"bytes at offset {offset + start} do not match")
            checked += 1
        position = end
    return int(status_line.split()[1]), headers, length, checked


def _request(host: str, path: str, token: str, byte_range: tuple[int, int] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {token}"]
    if byte_range is not None:
        lines.append(f"Range: bytes={byte_range[0]}-{byte_range[1]}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _whole(host: str, port: int, path: str, token: str, blob_id: str, size: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection(host, port, limit=4 * MIB)
    try:
        status, headers, length, checked = await _get(reader, writer, _request(host, path, token), blob_id, 0)
    finally:
        writer.close()
    if (status, length, headers.get("content-type")) != (200, size, "audio/webm"):
        raise AssertionError(f"whole download: status {status}, length {length}, headers {headers}")
    return {"bytes": length, "requests": 1, "samples_checked": checked}


async def _ranges(
    host: str, port: int, path: str, token: str, blob_id: str, size: int, range_size: int, connections: int
) -> dict[str, Any]:
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for first in range(0, size, range_size):
        queue.put_nowait((first, min(first + range_size, size) - 1))
    totals = {"bytes": 0, "requests": 0, "samples_checked": 0}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port, limit=4 * MIB)
        try:
            while not queue.empty():
                first, last = queue.get_nowait()
                request = _request(host, path, token, (first, last))
                status, headers, length, checked = await _get(reader, writer, request, blob_id, first)
                if status != 206 or headers["content-range"] != f"bytes {first}-{last}/{size}":
                    raise AssertionError(f"range {first}-{last}: status {status}, headers {headers}")
                totals["bytes"] += length
                totals["requests"] += 1
                totals["samples_checked"] += checked
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    if totals["bytes"] != size:
        raise AssertionError(f"ranges added up to {totals['bytes']} bytes, not {size}")
    return totals


def _phase(name: str, pid: int, job: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    with RssSampler(pid) as sampler:
        started = time.perf_counter()
        result = asyncio.run(job)
        seconds = time.perf_counter() - started
    return {
        "phase": name,
        **result,
        "seconds": round(seconds, 3),
        "mib_per_s": round(result["bytes"] / MIB / seconds, 1),
        "peak_rss_mib": round(sampler.peak_kib / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording-size", type=parse_size, default=1024 * MIB)
    parser.add_argument("--range-size", type=parse_size, default=64 * MIB)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()

    port = free_port()
    command = [
        console_script("coviu-sandbox"), "--host", "127.0.0.1", "--port", str(port),
        "--recording-size", str(args.recording_size),
    ]  # fmt: skip
    with running(command, port, "/_sandbox/seed") as child:
        seed = httpx.get(f"{child.base_url}/_sandbox/seed").json()
        grant = httpx.post(
            f"{child.base_url}/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=("sandbox-client", "sandbox-secret"),
        ).json()
        large = seed["large_recording"]
        path = (
            f"/v1/collections/{seed['team_id']}/collection/{large['collection_id']}/recording/{large['submission_id']}"
        )
        host, token, blob_id, size = "127.0.0.1", grant["access_token"], large["submission_id"], large["size"]
        pid = child.process.pid
        baseline_mib = RssSampler(pid).read_kib() / 1024
        phases = [
            _phase("whole file (200)", pid, _whole(host, port, path, token, blob_id, size)),
            _phase(
                f"{args.range_size // MIB} MiB ranges on {args.connections} connections (206)",
                pid,
                _ranges(host, port, path, token, blob_id, size, args.range_size, args.connections),
            ),
        ]
    peak = max(phase["peak_rss_mib"] for phase in phases)
    report = {
        "recording_bytes": size,
        "baseline_rss_mib": round(baseline_mib, 1),
        "peak_rss_mib": peak,
        "goal_rss_mib": GOAL_RSS_MIB,
        "goal_met": peak < GOAL_RSS_MIB,
        "phases": phases,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")

    print(f"{'phase':<42} {'MiB':>7} {'reqs':>5} {'samples':>8} {'s':>7} {'MiB/s':>7} {'peak RSS MiB':>13}")
    for phase in phases:
        print(
            f"{phase['phase']:<42} {phase['bytes'] / MIB:>7.0f} {phase['requests']:>5} {phase['samples_checked']:>8} "
            f"{phase['seconds']:>7.2f} {phase['mib_per_s']:>7.1f} {phase['peak_rss_mib']:>13.1f}"
        )
    verdict = "met" if report["goal_met"] else "MISSED"
    print(f"RSS before download {report['baseline_rss_mib']} MiB, peak {peak} MiB: goal < {GOAL_RSS_MIB} MiB {verdict}")
    print(f"results: {RESULTS}")
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
