"""A raw asyncio HTTP/1.1 keep-alive load generator, and a streaming downloader.

Why not httpx: its client costs 0.7-1.4 ms of CPU per request, as much as the servers we
measure, so it would measure itself. This client sends prebuilt request bytes over one
keep-alive connection per concurrent worker and reads responses with the minimum of parsing
(status line, Content-Length or chunked framing), so it costs tens of microseconds per request.

Every timed response is checked: status, substrings that must be present, and substrings
that must occur an exact number of times (e.g. 20 items in a page). The body of the last
warm-up response is returned so that the caller can validate one response in full.

Run it in its own process so its CPU is not charged to anything else:

    python bench/loadgen.py < spec.json > result.json      # a load point (see LoadSpec)
    python bench/loadgen.py --download < spec.json          # a streaming download (see DownloadSpec)

Only the standard library is used, so the process starts fast and stays small.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# ----------------------------------------------------------------------------- requests


def build_request(
    method: str, host: str, port: int, path: str, headers: dict[str, str] | None = None, body: bytes | str = b""
) -> bytes:
    """The exact bytes of one HTTP/1.1 request, sent as-is on every repetition."""
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ResponseError(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    """(status, raw header block, body) of one response; raises on malformed framing."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise ResponseError(f"not an HTTP response: {head[:40]!r}")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        length = int(lower[at + 17 : end])
        body = await reader.readexactly(length) if length else b""
    elif b"\r\ntransfer-encoding: chunked" in lower:
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body = await reader.read()
    return status, head, body


# ----------------------------------------------------------------------------- load points


@dataclass
class Check:
    """What every timed response must satisfy."""

    status: int = 200
    contains: list[str] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._contains = [c.encode() for c in self.contains]
        self._counts = [(c.encode(), n) for c, n in self.counts]

    def failure(self, status: int, body: bytes) -> str | None:
        if status != self.status:
            return f"status {status}: {body[:200]!r}"
        for needle in self._contains:
            if needle not in body:
                return f"missing {needle!r}: {body[:200]!r}"
        for needle, expected in self._counts:
            seen = body.count(needle)
            if seen != expected:
                return f"{needle!r} occurs {seen} times, expected {expected}"
        return None


@dataclass
class SetupStep:
    """A request sent once per connection before any load (e.g. a legacy MCP handshake)."""

    method: str
    path: str
    headers: dict[str, str]
    body: str
    status: int


@dataclass
class LoadSpec:
    host: str
    port: int
    method: str
    path: str
    headers: dict[str, str]
    body: str
    concurrency: int
    requests: int
    warmup: int
    check: Check
    setup: list[SetupStep] = field(default_factory=list)
    timeout: float = 10.0
    deadline: float = 300.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadSpec:
        data = dict(data)
        data["check"] = Check(**data.get("check", {}))
        data["check"].counts = [tuple(c) for c in data["check"].counts]
        data["check"].__post_init__()
        data["setup"] = [SetupStep(**step) for step in data.get("setup", [])]
        return cls(**data)


async def _open(spec: LoadSpec) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(spec.host, spec.port, limit=1 << 20)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for step in spec.setup:
        writer.write(build_request(step.method, spec.host, spec.port, step.path, step.headers, step.body))
        status, _, body = await asyncio.wait_for(read_response(reader), spec.timeout)
        if status != step.status:
            raise ResponseError(f"setup {step.path} answered {status}, expected {step.status}: {body[:200]!r}")
    return reader, writer


async def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Warm up, then send `spec.requests` requests over `spec.concurrency` connections.

    Returns wall time, per-request latencies (seconds, in completion order), error count with
    a few samples, this process's CPU time for the timed phase, and one response body.
    """
    request = build_request(spec.method, spec.host, spec.port, spec.path, spec.headers, spec.body)
    connections = [await _open(spec) for _ in range(spec.concurrency)]
    errors: list[str] = []
    latencies: list[float] = []
    sample: list[bytes] = []

    async def worker(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], quota: int, timed: bool) -> None:
        reader, writer = conn
        clock = time.perf_counter
        for _ in range(quota):
            started = clock()
            writer.write(request)
            try:
                status, _, body = await asyncio.wait_for(read_response(reader), spec.timeout)
            except (TimeoutError, asyncio.IncompleteReadError, ResponseError, OSError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                return
            elapsed = clock() - started
            problem = spec.check.failure(status, body)
            if problem is not None:
                errors.append(problem)
            if timed:
                latencies.append(elapsed)
            else:
                sample[:] = [body]

    async def phase(total: int, timed: bool) -> None:
        quotas = [
            total // spec.concurrency + (1 if i < total % spec.concurrency else 0) for i in range(spec.concurrency)
        ]
        await asyncio.gather(*(worker(conn, q, timed) for conn, q in zip(connections, quotas, strict=True)))

    await asyncio.wait_for(phase(max(spec.warmup, spec.concurrency), timed=False), spec.deadline)
    warmup_errors = len(errors)
    errors.clear()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.wait_for(phase(spec.requests, timed=True), spec.deadline)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    for _, writer in connections:
        writer.close()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "warmup_errors": warmup_errors,
        "error_samples": errors[:5],
        "wall_s": wall,
        "client_cpu_s": cpu,
        "latencies_s": latencies,
        "sample_body_b64": base64.b64encode(sample[0]).decode() if sample else "",
    }


# ----------------------------------------------------------------------------- downloads


@dataclass
class DownloadSpec:
    """GET `path` once per range (or once whole when `ranges` is empty), `parallel` at a time."""

    host: str
    port: int
    path: str
    headers: dict[str, str]
    ranges: list[tuple[int, int]] = field(default_factory=list)
    parallel: int = 1
    buffer_bytes: int = 1 << 20
    timeout: float = 60.0


def _download_one(spec: DownloadSpec, byte_range: tuple[int, int] | None) -> dict[str, Any]:
    headers = dict(spec.headers)
    if byte_range is not None:
        headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
    with socket.create_connection((spec.host, spec.port), timeout=spec.timeout) as sock:
        sock.sendall(build_request("GET", spec.host, spec.port, spec.path, headers))
        buffer = bytearray(spec.buffer_bytes)
        view = memoryview(buffer)
        received = bytearray()
        while b"\r\n\r\n" not in received:
            n = sock.recv_into(view)
            if n == 0:
                raise ResponseError("connection closed before the headers")
            received += view[:n]
        head, _, first = bytes(received).partition(b"\r\n\r\n")
        status = int(head[9:12])
        fields = dict(
            line.decode("latin-1").lower().split(":", 1) for line in head.split(b"\r\n")[1:] if b":" in line
        )
        if fields.get("transfer-encoding", "").strip() == "chunked":
            raise ResponseError("chunked downloads are not supported by this client")
        if "content-length" not in fields:
            raise ResponseError("no Content-Length")
        length = int(fields["content-length"])
        # The first and last 64 bytes are kept so the caller can check the content at the offsets.
        head_bytes, tail = first[:64], first[-64:]
        count = len(first)
        while count < length:
            n = sock.recv_into(view, min(len(buffer), length - count))
            if n == 0:
                break
            if len(head_bytes) < 64:
                head_bytes += bytes(view[: min(n, 64 - len(head_bytes))])
            tail = (tail + bytes(view[max(0, n - 64) : n]))[-64:]
            count += n
    return {
        "status": status,
        "range": list(byte_range) if byte_range else None,
        "bytes": count,
        "content_length": length,
        "content_range": fields.get("content-range", "").strip(),
        "first64_b64": base64.b64encode(head_bytes).decode(),
        "last64_b64": base64.b64encode(tail).decode(),
    }


def run_download(spec: DownloadSpec) -> dict[str, Any]:
    """Download with blocking sockets in threads (recv_into releases the GIL): wall time and bytes."""
    jobs: list[tuple[int, int] | None] = [tuple(r) for r in spec.ranges] or [None]  # type: ignore[misc]
    results: list[dict[str, Any] | None] = [None] * len(jobs)
    failures: list[str] = []
    lock = threading.Lock()
    next_job = iter(range(len(jobs)))

    def worker() -> None:
        while True:
            with lock:
                index = next(next_job, None)
            if index is None:
                return
            try:
                results[index] = _download_one(spec, jobs[index])
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                failures.append(f"{type(exc).__name__}: {exc}")

    cpu0, wall0 = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(max(1, min(spec.parallel, len(jobs))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    done = [r for r in results if r is not None]
    return {
        "wall_s": wall,
        "client_cpu_s": cpu,
        "bytes": sum(r["bytes"] for r in done),
        "parts": done,
        "failures": failures,
    }


def main(argv: list[str]) -> int:
    spec = json.load(sys.stdin)
    if "--download" in argv:
        spec["ranges"] = [tuple(r) for r in spec.get("ranges", [])]
        result = run_download(DownloadSpec(**spec))
    else:
        result = asyncio.run(run_load(LoadSpec.from_json(spec)))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
