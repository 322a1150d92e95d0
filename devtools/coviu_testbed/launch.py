"""Start the sandbox and the proxy as real processes on loopback, for the demo and local runs.

Each child gets its own process group so that stopping it also stops anything it started,
and a readiness URL is polled so callers never race a half-started server.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx


class LaunchError(RuntimeError):
    """A child process exited or never became ready; the message carries its last output."""


@dataclass(frozen=True)
class Running:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def output(self) -> str:
        """Everything the process has written to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports: the sockets stay bound together until all are
    drawn, since the kernel may hand a just-closed port out again."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def mint_token() -> tuple[str, str]:
    """A 256-bit URL token and its SHA-256 hex digest (the proxy only ever sees the digest)."""
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


@contextlib.contextmanager
def running(
    args: list[str],
    port: int,
    ready_path: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    ready_port: int | None = None,
) -> Iterator[Running]:
    """Run `args` until the block ends; its output goes to a file so a chatty child never blocks.

    Readiness is polled at `ready_path` on `ready_port` (the proxy's admin port), else on `port`.
    """
    with tempfile.TemporaryDirectory(prefix="coviu-launch-") as folder:
        log_path = Path(folder) / "output.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                args, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        child = Running(process, f"http://127.0.0.1:{port}", log_path)
        try:
            _wait_ready(child, f"http://127.0.0.1:{ready_port or port}{ready_path}", timeout)
            yield child
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_ready(child: Running, url: str, timeout: float) -> None:
    process = child.process
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LaunchError(f"{process.args[0]} exited with {process.returncode}:\n{child.output()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise LaunchError(f"{process.args[0]} was not ready at {url} within {timeout:.0f}s")


def console_script(name: str) -> str:
    """The path of one of this distribution's console scripts, next to the running Python."""
    return os.path.join(os.path.dirname(sys.executable), name)
