"""The real `coviu-mcp-operator` command as a child process, for tests and benchmarks that kill it.

`OperatorThread` (coviu_testbed.operator) runs the operator inside the caller; this runs the
installed console script, so it can be SIGKILLed and restarted like a Pod. With
`count_requests`, the script runs under a launcher that counts every HTTP request the operator
makes (by verb and resource) and serves the counts on a port of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from coviu_operator.settings import env_name

from .launch import LaunchError, free_ports

OPERATOR_SCRIPT = Path(sys.executable).with_name("coviu-mcp-operator")
COUNTS_PORT = "COVIU_TESTBED_COUNTS_PORT"

# Runs in the operator's process: count every HTTP request of every aiohttp session by verb and
# resource, serve the counts on COVIU_TESTBED_COUNTS_PORT, then run the installed console script as is.
LAUNCHER = r'''
import collections, http.server, json, os, runpy, sys, threading
import aiohttp

counts = collections.Counter()

def classify(method, url, headers):
    parts = [p for p in url.path.split("/") if p]
    if not parts or parts[0] not in ("api", "apis"):
        return f"{method} {url.path}"
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if len(rest) > 2 and rest[0] == "namespaces":
        rest = rest[2:]
    if not rest:
        return "GET discovery"
    resource = rest[0] + ("/" + rest[2] if len(rest) > 2 else "")
    if method == "GET":
        # A list selecting one name reads one object (the operator's reads of its children).
        one = len(rest) > 1 or url.query.get("fieldSelector", "").startswith("metadata.name=")
        verb = "WATCH" if url.query.get("watch") in ("true", "1") else "GET" if one else "LIST"
    elif method == "PATCH":
        verb = "APPLY" if "apply-patch" in str(headers.get("Content-Type", "")) else "PATCH"
    else:
        verb = method
    return f"{verb} {resource}"

async def on_request_start(session, context, params):
    counts[classify(params.method, params.url, params.headers)] += 1

trace = aiohttp.TraceConfig()
trace.on_request_start.append(on_request_start)
original = aiohttp.ClientSession.__init__

def init(self, *args, trace_configs=None, **kwargs):
    original(self, *args, trace_configs=[*(trace_configs or []), trace], **kwargs)

aiohttp.ClientSession.__init__ = init

class Counts(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(dict(counts.copy())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["COVIU_TESTBED_COUNTS_PORT"])), Counts)
threading.Thread(target=server.serve_forever, daemon=True).start()
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
'''


class OperatorProcess:
    """`coviu-mcp-operator` for one namespace (None: all); start() again after kill() or stop().

    Each start logs to a file of its own in `log_dir` (`operator.<n>.log`) and gets fresh ports.
    Counts and reconciles add up over every process started so far (those of a SIGKILLed one are
    read just before the kill).
    """

    def __init__(self, kubeconfig: str, namespace: str | None, log_dir: Path, *args: str,
                 count_requests: bool = False, **env: str) -> None:
        self.kubeconfig, self.log_dir, self.count_requests = kubeconfig, log_dir, count_requests
        scope = ["--namespace", namespace] if namespace is not None else ["--all-namespaces"]
        self.args, self.env = [*scope, *args], env
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.metrics_port = self.health_port = self.counts_port = 0
        self.past_counts: Counter[str] = Counter()
        self.past_reconciles = 0
        self.pids: list[int] = []

    @property
    def logs(self) -> list[Path]:
        return sorted(self.log_dir.glob("operator.*.log"))

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 120.0) -> float:
        """Start it and wait for its liveness endpoint; return the seconds that took."""
        began = time.monotonic()
        self.starts += 1
        self.metrics_port, self.health_port, self.counts_port = free_ports(3)
        env = {**os.environ, env_name("metrics_port"): str(self.metrics_port),
               env_name("health_port"): str(self.health_port), COUNTS_PORT: str(self.counts_port), **self.env}
        args = [str(OPERATOR_SCRIPT), "--kubeconfig", self.kubeconfig, "--log-format", "json", *self.args]
        command = [sys.executable, "-c", LAUNCHER, *args] if self.count_requests else args
        with (self.log_dir / f"operator.{self.starts}.log").open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.pids.append(self.process.pid)
        while _get(f"http://127.0.0.1:{self.health_port}/healthz") is None:
            if self.process.poll() is not None:
                raise LaunchError(f"the operator exited with {self.process.returncode}:\n{self.logs[-1].read_text()}")
            if time.monotonic() - began > timeout:
                output = self.logs[-1].read_text()[-2000:]
                raise LaunchError(f"the operator was not live within {timeout:.0f}s:\n{output}")
            time.sleep(0.02)
        return time.monotonic() - began

    def _retire(self) -> None:
        """Keep the counts of a process that is about to go."""
        self.past_counts = self.counts()
        self.past_reconciles = self.reconciles()

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind, as when a node dies or the OOM killer strikes."""
        assert self.process is not None
        self._retire()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM, as a rollout of the operator's Deployment does; the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self._retire()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            raise

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def counts(self) -> Counter[str]:
        """Requests by 'VERB resource' since the first start (with `count_requests` only)."""
        now = json.loads(_get(f"http://127.0.0.1:{self.counts_port}/") or "{}") \
            if self.count_requests and self.running() else {}
        return self.past_counts + Counter(now)

    def metrics(self) -> str:
        """The running process's /metrics text (empty when it is not running)."""
        return (_get(f"http://127.0.0.1:{self.metrics_port}/metrics") or "") if self.running() else ""

    def metric(self, name: str) -> dict[str, float]:
        """Samples of one metric of the running process, by their label string."""
        out = {}
        for line in self.metrics().splitlines():
            if line.startswith(name):
                key, value = line.rsplit(" ", 1)
                out[key[len(name):]] = float(value)
        return out

    def reconciles(self) -> int:
        return self.past_reconciles + int(sum(self.metric("coviu_operator_reconciles_total").values()))


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode() if response.status == 200 else None
    except (urllib.error.URLError, OSError):
        return None
