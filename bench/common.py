"""Shared pieces of the benchmark scripts.

- Sizes and repetition counts, from the environment (BENCH_QUICK=1 for a short run).
- /proc readers: CPU seconds of a process (or its whole tree), RSS and peak RSS, machine load.
- Statistics: median and nearest-rank percentiles.
- Processes: the sandbox, the proxy and FastMCP, each started with coviu_testbed.launch.
- Load points: one run of loadgen.py in its own process, with the servers' CPU read around it.
- Results: bench/results/<name>.json and a Markdown table on stdout.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from coviu_catalog.proxy_env import ADMIN_PORT, HOST, PORT
from coviu_operator import builders
from coviu_operator.models import Server as ServerObject
from coviu_operator.names import link_key_secret_name, token_secret_name
from coviu_operator.secrets import LINK_KEY_KEY
from coviu_operator.settings import OperatorSettings
from coviu_testbed.launch import Running, console_script, free_port, free_ports, mint_token, running
from coviu_testbed.operator import credentials_secret, secret_body, server_body
from coviu_testbed.podenv import resolve_env

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
BENCH_VENV = ROOT / ".cache" / "bench-venv"
# Packages for the comparison server and the profilers; kept out of the project's venv.
# bpe-openai ships the OpenAI tokenizers' vocabularies inside its wheel, so tokens are counted offline.
BENCH_VENV_PACKAGES = (
    "fastmcp==4.1.6", "py-spy==0.4.3", "pyinstrument==5.1.3", "bpe-openai==0.1.4",
    # Only for FastMCP on the proxy's server stack (fastmcp(stack="uvloop")); hidden from it otherwise.
    "uvloop==0.23.0", "httptools==0.9.0",
)  # fmt: skip
# The proxy as it was before the cost work of issue 16: the baseline its CPU per call is compared with.
BASELINE_COMMIT = "e10b26e"
BASELINE_TREE = ROOT / ".cache" / f"baseline-{BASELINE_COMMIT}"

CLIENT_ID, CLIENT_SECRET = "sandbox-client", "sandbox-secret"
MODERN, LEGACY = "2026-07-28", "2025-11-25"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = 20


# ----------------------------------------------------------------------------- configuration


def quick() -> bool:
    return os.environ.get("BENCH_QUICK", "") not in ("", "0", "false", "no")


def knob(name: str, full: int, short: int) -> int:
    """An integer setting: BENCH_<NAME> if set, else the quick or the full default."""
    value = os.environ.get(f"BENCH_{name}")
    return int(value) if value else (short if quick() else full)


# ----------------------------------------------------------------------------- /proc


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses; fields resume after the last ')'.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (10 ms resolution)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_pids(pid: int) -> list[int]:
    """`pid` and all its descendants (uvicorn's supervisor and its workers, for example)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def tree_cpu_seconds(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def status_kib(pid: int, key: str) -> int:
    """A kB figure from /proc/PID/status: VmRSS (now) or VmHWM (peak since start)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def rss_mib(pid: int) -> float:
    return status_kib(pid, "VmRSS") / 1024


def peak_rss_mib(pid: int) -> float:
    return status_kib(pid, "VmHWM") / 1024


@dataclass
class MachineSample:
    busy: int
    total: int

    @classmethod
    def now(cls) -> MachineSample:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + values[4]
        return cls(sum(values) - idle, sum(values))

    def busy_cores_since(self, earlier: MachineSample) -> float:
        """Average number of busy cores between two samples."""
        total = self.total - earlier.total
        return (self.busy - earlier.busy) / total * (os.cpu_count() or 1) if total else 0.0


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def machine_info() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_at_start": load_average(),
        "quick": quick(),
    }


# ----------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, q in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# ----------------------------------------------------------------------------- results


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            if value != value:
                return "–"
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- processes


@dataclass
class Sandbox:
    run: Running
    port: int
    seed: dict[str, Any]
    bearer: str

    @property
    def api_url(self) -> str:
        return self.run.base_url + "/v1"

    @property
    def pid(self) -> int:
        return self.run.process.pid


@contextlib.contextmanager
def sandbox(recording_bytes: int = 64 << 20) -> Iterator[Sandbox]:
    port = free_port()
    args = [
        console_script("coviu-sandbox"), "--port", str(port), "--recording-size", str(recording_bytes),
        "--token-ttl", "86400", "--log-level", "warning",
    ]  # fmt: skip
    with running(args, port, "/_sandbox/seed") as run:
        seed = httpx.get(run.base_url + "/_sandbox/seed").json()
        grant = httpx.post(
            run.base_url + "/v1/auth/token", data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET)
        )
        grant.raise_for_status()
        yield Sandbox(run, port, seed, grant.json()["access_token"])


@dataclass
class Server:
    """An MCP server under test: where it listens, its URL token, the processes to charge."""

    name: str
    run: Running
    port: int
    token: str
    extra_pids: list[int] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return tree_pids(self.run.process.pid)

    @property
    def mcp_path(self) -> str:
        return f"/mcp/{self.token}"


def proxy_env(box: Sandbox, port: int, admin_port: int, digest: str, **extra: str) -> dict[str, str]:
    """The proxy's environment as the operator renders it (coviu_operator.builders) for a server of
    the default spec, its Secrets resolved, on loopback ports; LOG_LEVEL left at its default (info).
    One link key for all processes of a proxy (each would otherwise sign with its own random key)."""
    name = "bench"
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    objects = [credentials_secret(client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
               secret_body(token_secret_name(name), **{builders.TOKEN_SHA256_KEY: digest}),
               secret_body(link_key_secret_name(name), **{LINK_KEY_KEY: key})]
    server = ServerObject.parse(server_body(name, spec={"apiBaseURL": box.api_url}, uid=name))
    rendered = resolve_env(builders.deployment(server, OperatorSettings(), ""),
                           {secret["metadata"]["name"]: secret for secret in objects})
    return {**rendered, HOST: "127.0.0.1", PORT: str(port), ADMIN_PORT: str(admin_port), **extra}


@dataclass(frozen=True)
class ProxyTarget:
    """A proxy build to start in mode "single": its command, extra environment, and where it
    answers /readyz (the current proxy on MCP_ADMIN_PORT; the starting commit, which knows neither
    that nor MCP_LINK_SIGNING_KEY and ignores both, on its MCP port)."""

    command: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    admin_port: bool = True

    def ready_port(self, port: int, admin_port: int) -> int:
        return admin_port if self.admin_port else port


CURRENT = ProxyTarget()


@contextlib.contextmanager
def proxy(
    box: Sandbox,
    workers: int = 1,
    mode: str = "single",
    target: ProxyTarget = CURRENT,
    on_start: Callable[[int], None] | None = None,
    **env: str,
) -> Iterator[Server]:
    """The MCP proxy: `coviu-mcp-server` (one process, one uvicorn worker), or N workers.

    mode "single": the target's command (the console script by default). mode "workers":
    `uvicorn --workers N --factory` on bench/proxy_asgi.py:app (uvicorn's supervisor shares one
    listening socket with N workers). mode "reuseport": N separate processes, each binding the
    same port with SO_REUSEPORT. `on_start(port)` is called just before the process is spawned
    (cold-start timing), with the port that answers /readyz: the target's in mode "single", the
    shared port otherwise (bench/proxy_asgi.py serves the admin routes there too).
    """
    port, admin_port = free_ports(2)
    token, digest = mint_token()
    environment = proxy_env(box, port, admin_port, digest, **dict(target.env), **env)
    ready_port = target.ready_port(port, admin_port) if mode == "single" else port
    if on_start is not None:
        on_start(ready_port)
    if mode == "single":
        args = list(target.command or (console_script("coviu-mcp-server"),))
        with running(args, port, "/readyz", environment, ready_port=ready_port) as run:
            yield Server("proxy", run, port, token)
        return
    if mode == "workers":
        args = [
            sys.executable, "-m", "uvicorn", "--factory", "proxy_asgi:app", "--app-dir", str(BENCH_DIR),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
            "--log-level", "warning", "--lifespan", "on",
        ]  # fmt: skip
        with running(args, port, "/readyz", environment, timeout=60) as run:
            _wait_workers(run, workers)
            yield Server(f"proxy x{workers}", run, port, token)
        return
    if mode == "reuseport":
        args = [sys.executable, str(BENCH_DIR / "proxy_asgi.py")]
        with contextlib.ExitStack() as stack:
            runs = []
            for count in range(1, workers + 1):
                # /readyz may be answered by an earlier process on the shared port, so wait
                # until this one has its own listening socket (uvicorn listens after start-up).
                runs.append(stack.enter_context(running(args, port, "/readyz", environment)))
                _wait_listeners(port, count)
            server = Server(f"proxy x{workers}", runs[0], port, token, [r.process.pid for r in runs[1:]])
            yield server
        return
    raise ValueError(mode)


def listeners(port: int) -> int:
    """How many sockets listen on this TCP port (one per SO_REUSEPORT process)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def _wait_listeners(port: int, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while listeners(port) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{listeners(port)} of {count} processes listen on port {port}")
        time.sleep(0.05)


def _wait_workers(run: Running, workers: int, timeout: float = 60) -> None:
    """uvicorn's supervisor answers /readyz once one worker is up; wait until all are."""
    if workers == 1:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(tree_pids(run.process.pid)) >= workers + 1:
            time.sleep(1.0)  # let the last workers finish their lifespan start-up
            return
        time.sleep(0.1)
    raise RuntimeError(f"only {len(tree_pids(run.process.pid)) - 1} of {workers} workers started")


def baseline_proxy() -> ProxyTarget:
    """The starting point's proxy (a git worktree of BASELINE_COMMIT, made once) run by this venv's Python.

    Its `server/` directory goes first on PYTHONPATH, ahead of the editable install of the
    current code, so the same packages serve both and only the proxy's code differs. uvloop and
    httptools are hidden from it: it depended on neither, so it served on asyncio and h11, and
    uvicorn would otherwise pick them up. It has no admin port or link key yet: /readyz is on
    its MCP port.
    """
    if not (BASELINE_TREE / "server" / "coviu_mcp").is_dir():
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--force", str(BASELINE_TREE), BASELINE_COMMIT], cwd=ROOT, check=True
        )
    hide = "sys.modules.update(uvloop=None, httptools=None)"
    code = f"import sys; {hide}; from coviu_mcp.cli import main; sys.exit(main())"
    return ProxyTarget((sys.executable, "-c", code), (("PYTHONPATH", str(BASELINE_TREE / "server")),), admin_port=False)


def server_pids(server: Server) -> list[int]:
    pids = server.pids
    for extra in server.extra_pids:
        pids += tree_pids(extra)
    return pids


def bench_python() -> str:
    return str(BENCH_VENV / "bin" / "python")


def ensure_bench_venv() -> str:
    """Create .cache/bench-venv with FastMCP and the profilers (once; a stamp records the pins)."""
    stamp = BENCH_VENV / f".installed-{hashlib.sha256(' '.join(BENCH_VENV_PACKAGES).encode()).hexdigest()[:12]}"
    if not stamp.exists():
        print(f"installing {', '.join(BENCH_VENV_PACKAGES)} into {BENCH_VENV.relative_to(ROOT)}", flush=True)
        base = getattr(sys, "_base_executable", None) or "python3"
        subprocess.run([base, "-m", "venv", "--clear", str(BENCH_VENV)], check=True)
        subprocess.run(
            [bench_python(), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), *BENCH_VENV_PACKAGES],
            check=True,
        )
        stamp.touch()
    return bench_python()


def count_tokens(texts: Sequence[str], encoding: str = "o200k_base") -> list[int]:
    """Tokens of each text in an OpenAI encoding (o200k_base: GPT-4o and later), in the bench venv."""
    code = (
        "import json, sys, bpe_openai; e = bpe_openai.get_encoding(sys.argv[1]); "
        "print(json.dumps([len(e.encode(t)) for t in json.load(sys.stdin)]))"
    )
    done = subprocess.run(
        [ensure_bench_venv(), "-c", code, encoding],
        input=json.dumps(list(texts)).encode(),
        capture_output=True,
        check=True,
    )
    return list(json.loads(done.stdout))


@contextlib.contextmanager
def fastmcp(box: Sandbox, on_start: Callable[[int], None] | None = None, stack: str = "installed") -> Iterator[Server]:
    """FastMCP.from_openapi on the catalog's OpenAPI document, in the bench venv.

    stack "installed": on asyncio and h11, as `pip install fastmcp` runs it; "uvloop": on uvloop and
    httptools, the proxy's server stack (see bench/fastmcp_server.py).
    """
    from coviu_catalog import load_catalog
    from coviu_catalog.openapi import render_openapi

    python = ensure_bench_venv()
    port = free_port()
    token, _ = mint_token()
    with tempfile.TemporaryDirectory(prefix="coviu-bench-") as folder:
        spec_path = Path(folder) / "openapi.json"
        spec_path.write_text(json.dumps(render_openapi(load_catalog(), server_url=box.api_url)))
        env = {
            "BENCH_OPENAPI": str(spec_path), "BENCH_UPSTREAM": box.api_url, "BENCH_CLIENT_ID": CLIENT_ID,
            "BENCH_CLIENT_SECRET": CLIENT_SECRET, "BENCH_TOKEN": token, "PORT": str(port), "BENCH_SERVER_STACK": stack,
        }  # fmt: skip
        if on_start is not None:
            on_start(port)
        with running([python, str(BENCH_DIR / "fastmcp_server.py")], port, "/readyz", env, timeout=60) as run:
            yield Server("fastmcp" if stack == "installed" else f"fastmcp ({stack})", run, port, token)


# ----------------------------------------------------------------------------- load specs

_MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
TOOL = "list_all_coviu_sessions"


def direct_spec(box: Sandbox, page_size: int = PAGE_SIZE) -> dict[str, Any]:
    return {
        "host": "127.0.0.1", "port": box.port, "method": "GET",
        "path": f"/v1/sessions?page=0&page_size={page_size}",
        "headers": {"Authorization": f"Bearer {box.bearer}", "Accept": "application/json"},
        "body": "",
        "check": {"status": 200, "counts": [['"session_name":', page_size]]},
    }  # fmt: skip


def mcp_call_body(era: str, tool: str, arguments: dict[str, Any], request_id: int = 7) -> dict[str, Any]:
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    if era == MODERN:
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def mcp_headers(era: str, tool: str) -> dict[str, str]:
    if era == MODERN:
        return {**_MCP_HEADERS, "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool}
    return {**_MCP_HEADERS, "MCP-Protocol-Version": LEGACY}


def legacy_handshake() -> list[dict[str, Any]]:
    """initialize then notifications/initialized, as a legacy client does once per session."""
    initialize = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
    }  # fmt: skip
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    return [
        {"method": "POST", "path": "", "headers": dict(_MCP_HEADERS), "body": json.dumps(initialize), "status": 200},
        {
            "method": "POST",
            "path": "",
            "headers": mcp_headers(LEGACY, TOOL),
            "body": json.dumps(initialized),
            "status": 202,
        },
    ]


def mcp_spec(server: Server, era: str, page_size: int = PAGE_SIZE) -> dict[str, Any]:
    arguments = {"page": 0, "page_size": page_size}
    body = json.dumps(mcp_call_body(era, TOOL, arguments), separators=(",", ":"))
    setup = legacy_handshake() if era == LEGACY else []
    for step in setup:
        step["path"] = server.mcp_path
    return {
        "host": "127.0.0.1", "port": server.port, "method": "POST", "path": server.mcp_path,
        "headers": mcp_headers(era, TOOL), "body": body, "setup": setup,
        # Structured content holds "session_name": once per item; the text content holds it escaped.
        "check": {
            "status": 200,
            "contains": ['"isError":false', '"id":7'],
            "counts": [['"session_name":', page_size], ['\\"session_name\\":', page_size]],
        },
    }  # fmt: skip


def validate_direct(body: bytes, page_size: int = PAGE_SIZE) -> None:
    page = json.loads(body)
    assert len(page["content"]) == page_size, f"direct: {len(page['content'])} items"


def validate_mcp(body: bytes, era: str, page_size: int = PAGE_SIZE) -> None:
    """Strict check of one tools/call answer (applied to one response per point)."""
    message = json.loads(body)
    assert message.get("id") == 7 and "error" not in message, f"JSON-RPC error: {body[:300]!r}"
    result = message["result"]
    assert result["isError"] is False, result
    structured = result["structuredContent"]
    assert len(structured["content"]) == page_size, "wrong item count"
    text = next(block["text"] for block in result["content"] if block["type"] == "text")
    assert json.loads(text) == structured, "text content differs from structuredContent"
    if era == MODERN:
        assert result.get("resultType") == "complete", "modern answer without resultType"
    else:
        assert "resultType" not in result, "legacy answer with resultType"


# ----------------------------------------------------------------------------- load points


def run_loadgen(spec: dict[str, Any], download: bool = False, timeout: float = 600) -> dict[str, Any]:
    """Run loadgen.py in its own process; its result as a dict."""
    args = [sys.executable, str(BENCH_DIR / "loadgen.py")] + (["--download"] if download else [])
    done = subprocess.run(args, input=json.dumps(spec).encode(), capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout)


def measure(
    spec: dict[str, Any], concurrency: int, requests: int, warmup: int, charge: dict[str, list[int]]
) -> dict[str, Any]:
    """One load point: run the load and read the CPU of each process group in `charge` around it.

    CPU is read before the load generator starts and after it exits, which includes its warm-up;
    the warm-up share is removed by scaling with the timed share of requests (the servers do the
    same work per request in both phases).
    """
    spec = {**spec, "concurrency": concurrency, "requests": requests, "warmup": warmup}
    before = {name: tree_cpu_seconds(pids) for name, pids in charge.items()}
    machine0 = MachineSample.now()
    result = run_loadgen(spec)
    machine1 = MachineSample.now()
    after = {name: tree_cpu_seconds(pids) for name, pids in charge.items()}
    latencies = result.pop("latencies_s")
    served = max(spec["warmup"], concurrency) + len(latencies)
    point = {
        "concurrency": concurrency,
        "requests": result["requests"],
        "errors": result["errors"],
        "error_samples": result["error_samples"],
        "rps": result["requests"] / result["wall_s"] if result["wall_s"] else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p90_ms": percentile(latencies, 90) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "client_cpu_us": result["client_cpu_s"] / max(1, result["requests"]) * 1e6,
        "busy_cores": machine1.busy_cores_since(machine0),
        "load_average": load_average(),
        "sample_body": result["sample_body_b64"],
    }
    for name in charge:
        point[f"{name}_cpu_us"] = (after[name] - before[name]) / served * 1e6
    # Cores kept busy by everything else on the machine (other people's work) during the point.
    ours = sum(after[name] - before[name] for name in charge) + result["client_cpu_s"]
    point["other_cores"] = max(0.0, point["busy_cores"] - ours / max(result["wall_s"], 1e-9))
    if result["errors"] or result["warmup_errors"] or result["requests"] != requests:
        raise RuntimeError(f"incorrect responses during the load: {json.dumps(result)[:1500]}")
    return point


def sample_body(point: dict[str, Any]) -> bytes:
    return base64.b64decode(point.pop("sample_body"))


def summarise(points: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """Median over repetitions of each numeric key, with the range kept beside it."""
    out: dict[str, Any] = {}
    for key in keys:
        values = [p[key] for p in points if key in p]
        if values:
            out[key] = median(values)
            out[key + "_range"] = [min(values), max(values)]
    return out
