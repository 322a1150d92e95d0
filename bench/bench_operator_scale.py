"""Item 5 of the benchmarks (operator scale) and the long version of the operator fault test.

On the control-plane harness (coviu_testbed.cluster: etcd, kube-apiserver, controller-manager, scheduler,
kwok), with the operator running as the real `coviu-mcp-operator` process (cluster-wide, as a
user bound to exactly its documented ClusterRole):

1. Scale: create BENCH_OPERATOR_SERVERS CoviuMCPServers (1,000; 100 with BENCH_QUICK=1) as fast
   as 16 concurrent clients can, and watch them until every one is Ready. Reported: time until
   all are Ready, the operator's peak RSS and CPU, its API requests by verb and resource and per
   reconcile, the API server's own request count, and the CPU of every process while idle
   afterwards (no busy polling: the operator should cost next to nothing).
2. Faults (the long operator fault test, `make chaos`, which sets BENCH_OPERATOR_FAULTS=1): half of the
   servers deleted and as many created, in bursts, some expiring at random instants, while the
   operator is SIGKILLed at random points, the API server and etcd are restarted. Then the whole
   namespace is checked with the invariants of tests/k8s/test_operator_faults.py (coviu_testbed.invariants): every
   live server Ready with exactly one of each child and one ReplicaSet, every expired one torn
   down, every deleted one gone with its children, nothing announced twice, no token rotated.

The operator's requests are counted inside its own process: it is started (coviu_testbed.operator_process)
through a launcher that adds an aiohttp trace hook to every client session (kopf's and the Kubernetes client's),
then runs the installed `coviu-mcp-operator` script unchanged. CPU and RSS come from /proc.
Random choices come from a seeded RNG (BENCH_OPERATOR_SEED).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from kubernetes_asyncio import client, config, watch

from common import (
    ROOT,
    cpu_seconds,
    knob,
    load_average,
    machine_info,
    markdown_table,
    percentile,
    status_kib,
    write_result,
)
from coviu_operator.names import (
    API_VERSION,
    CREDENTIALS_USE,
    PLURAL,
    SECRET_SERVERS_ANNOTATION,
    SECRET_USE_LABEL,
)
from coviu_operator.rbac import cluster_role
from coviu_testbed.cluster import ControlPlane, controlplane
from coviu_testbed.invariants import problems, world
from coviu_testbed.operator_process import OperatorProcess

GROUP, VERSION = API_VERSION.split("/")
USER = "coviu-operator-bench"
CRD = ROOT / "crds" / "coviumcpservers.yaml"


# ----------------------------------------------------------------------------- the harness


def start_plane(keep_workdir: bool = False) -> ControlPlane:
    # The harness gives Services a /24 (253 ClusterIPs); 1,000 servers need 1,000 Services, and the
    # 254th would fail with "failed to allocate a serviceIP: range is full".
    controlplane.SERVICE_CIDR = "10.96.0.0/16"
    plane = ControlPlane(crds=[CRD], keep_workdir=keep_workdir).start()
    # The fake Node takes 110 Pods and 32 CPUs, fewer than 1,000 proxies (50m each) need.
    room = {"pods": "5000", "cpu": "1000", "memory": "4Ti"}
    plane.kubectl("patch", "node", plane.node_name, "--subresource=status", "--type=merge",
                  "-p", json.dumps({"status": {"capacity": room, "allocatable": room}}))
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": USER},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": USER},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}],
    }
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([cluster_role(USER), binding]))
    return plane


def create_namespace(plane: ControlPlane, namespace: str) -> None:
    plane.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    plane.api("POST", f"/api/v1/namespaces/{namespace}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {
            "name": "coviu-credentials", "labels": {SECRET_USE_LABEL: CREDENTIALS_USE},
            "annotations": {SECRET_SERVERS_ANNOTATION: "*"}},
        "stringData": {"client_id": "bench-client", "client_secret": "bench-secret"},
    })


class Sampler:
    """Reads CPU time and RSS of named processes every `interval` seconds, in a thread.

    `pids()` says which process each name is right now; CPU is summed over every pid a name had
    (a restarted component keeps counting), peak RSS is the largest VmHWM seen.
    """

    def __init__(self, pids: Callable[[], dict[str, int]], interval: float = 0.5) -> None:
        self.pids, self.interval = pids, interval
        self._cpu: dict[str, dict[int, float]] = {}
        self.peak_rss_mib: dict[str, float] = {}
        self.rss_mib: dict[str, float] = {}
        self.timeline: list[tuple[float, float, float]] = []  # (t, operator CPU s, operator RSS MiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()

    def start(self) -> Sampler:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        for name, pid in self.pids().items():
            try:
                cpu = cpu_seconds(pid)
                rss, peak = status_kib(pid, "VmRSS") / 1024, status_kib(pid, "VmHWM") / 1024
            except (OSError, KeyError, ValueError, IndexError):
                continue
            self._cpu.setdefault(name, {})[pid] = cpu
            self.rss_mib[name] = rss
            self.peak_rss_mib[name] = max(self.peak_rss_mib.get(name, 0.0), peak)
        if "operator" in self._cpu:
            self.timeline.append((round(time.monotonic() - self.started, 2), round(self.cpu("operator"), 2),
                                  round(self.rss_mib.get("operator", 0.0), 1)))

    def cpu(self, name: str) -> float:
        return sum(self._cpu.get(name, {}).values())

    def cpus(self) -> dict[str, float]:
        return {name: self.cpu(name) for name in self._cpu}


def plane_pids(plane: ControlPlane, operator: OperatorProcess | None = None) -> Callable[[], dict[str, int]]:
    def pids() -> dict[str, int]:
        found = {name: process.pid for name, process in plane.processes.items()}
        if operator is not None and operator.running():
            found["operator"] = operator.pid
        return found
    return pids


def apiserver_requests(plane: ControlPlane) -> Counter[str]:
    """apiserver_request_total summed by 'VERB resource[/subresource]' (every client's requests)."""
    text = plane.kubectl("get", "--raw", "/metrics", timeout=60).stdout
    totals: Counter[str] = Counter()
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(
            part.split("=", 1) for part in line[line.index("{") + 1 : line.rindex("}")].split(",") if "=" in part
        )
        labels = {key: value.strip('"') for key, value in labels.items()}
        resource = labels.get("resource", "") + ("/" + labels["subresource"] if labels.get("subresource") else "")
        totals[f"{labels.get('verb', '?')} {resource or '(none)'}"] += int(float(line.rsplit(" ", 1)[1]))
    return totals


async def api_client(plane: ControlPlane) -> client.ApiClient:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(plane.kubeconfig), client_configuration=configuration)
    configuration.connection_pool_maxsize = 32
    return client.ApiClient(configuration)


def server_body(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "CoviuMCPServer", "metadata": {"name": name},
            "spec": {"credentialsSecretRef": {"name": "coviu-credentials"}, **spec}}


async def persist(call: Callable[[], Awaitable[Any]], done: int, attempts: int = 120) -> None:
    """Make one request until it succeeds, riding out API server and etcd restarts. `done` is the
    status that means an earlier attempt whose answer was lost already did it (404, 409)."""
    for _ in range(attempts):
        try:
            await call()
            return
        except client.ApiException as exc:
            if exc.status == done:
                return
            if exc.status not in (0, 429, 500, 502, 503, 504):
                raise
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("the API server did not come back")


async def create_all(api: client.ApiClient, namespace: str, bodies: list[dict[str, Any]],
                     concurrency: int = 16) -> None:
    custom, gate = client.CustomObjectsApi(api), asyncio.Semaphore(concurrency)

    async def one(body: dict[str, Any]) -> None:
        async with gate:
            await persist(lambda: custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body,
                                                                         _request_timeout=30), done=409)

    await asyncio.gather(*(one(body) for body in bodies))


async def delete_all(api: client.ApiClient, namespace: str, names: list[str], concurrency: int = 16) -> None:
    custom, gate = client.CustomObjectsApi(api), asyncio.Semaphore(concurrency)

    async def one(name: str) -> None:
        async with gate:
            await persist(lambda: custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name,
                                                                         _request_timeout=30), done=404)

    await asyncio.gather(*(one(name) for name in names))


def is_ready(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), {})
    return ready.get("status") == "True" and status.get("observedGeneration") == obj["metadata"].get("generation")


async def wait_ready(api: client.ApiClient, namespace: str, names: set[str], began: float,
                     timeout: float) -> dict[str, float]:
    """Watch the servers until every one in `names` is Ready; seconds from `began` for each."""
    custom, ready_at = client.CustomObjectsApi(api), {}
    deadline = time.monotonic() + timeout
    while len(ready_at) < len(names) and time.monotonic() < deadline:
        async with watch.Watch() as stream:
            async for event in stream.stream(custom.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
                                             timeout_seconds=max(1, int(deadline - time.monotonic()))):
                obj = event["object"]
                name = obj["metadata"]["name"]
                if name in names and name not in ready_at and is_ready(obj):
                    ready_at[name] = time.monotonic() - began
                    if len(ready_at) == len(names):
                        break
    return ready_at


def diff(after: Counter[str], before: Counter[str]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in sorted(after) if after[key] - before[key]}


def operator_work(counts: dict[str, int]) -> int:
    """Requests that are work (every verb but the long-lived WATCH and the LISTs that start them)."""
    return sum(n for key, n in counts.items() if not key.startswith(("WATCH ", "LIST ", "GET discovery")))


async def settle(operator: OperatorProcess, quiet: float, timeout: float) -> float:
    """Wait until the operator has not reconciled for `quiet` seconds; the seconds waited."""
    began = time.monotonic()
    last, since = operator.reconciles(), time.monotonic()
    while time.monotonic() - began < timeout:
        await asyncio.sleep(0.5)
        now = operator.reconciles()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return time.monotonic() - began


# ----------------------------------------------------------------------------- phase 1: scale


async def scale(
    plane: ControlPlane, operator: OperatorProcess, sampler: Sampler, count: int, idle_s: float
) -> dict[str, Any]:
    namespace = "scale"
    create_namespace(plane, namespace)
    api = await api_client(plane)
    try:
        await asyncio.sleep(2)
        before = (operator.counts(), apiserver_requests(plane), sampler.cpus(), operator.reconciles())
        names = [f"s{i:04d}" for i in range(count)]
        began = time.monotonic()
        waiter = asyncio.ensure_future(wait_ready(api, namespace, set(names), began, timeout=max(600, count * 1.5)))
        await create_all(api, namespace, [server_body(name) for name in names])
        created_s = time.monotonic() - began
        print(f"{count} servers created in {created_s:.1f}s", flush=True)
        ready_at = await waiter
        all_ready_s = time.monotonic() - began
        if len(ready_at) < count:
            raise RuntimeError(f"only {len(ready_at)} of {count} servers became Ready")
        at_ready = (operator.counts(), apiserver_requests(plane), sampler.cpus(), operator.reconciles())
        print(f"all {count} Ready {all_ready_s:.1f}s after the first create", flush=True)
        settled_s = await settle(operator, quiet=5, timeout=120)
        settled = (operator.counts(), apiserver_requests(plane), sampler.cpus(), operator.reconciles())
        idle_began = time.monotonic()
        await asyncio.sleep(idle_s)
        idle_for = time.monotonic() - idle_began
        idle = (operator.counts(), apiserver_requests(plane), sampler.cpus(), operator.reconciles())
        pods = json.loads(plane.kubectl("get", "pods", "-n", namespace, "-o", "json", timeout=120).stdout)["items"]
        running = sum(1 for pod in pods if pod["status"].get("phase") == "Running")
    finally:
        await api.close()

    def cpu(window: tuple[Any, ...], later: tuple[Any, ...]) -> dict[str, float]:
        return {name: later[2].get(name, 0.0) - window[2].get(name, 0.0) for name in later[2]}

    requests = diff(settled[0], before[0])
    reconciles = settled[3] - before[3]
    work = operator_work(requests)
    apiserver = diff(settled[1], before[1])
    idle_cpu = {name: seconds / idle_for for name, seconds in cpu(settled, idle).items()}
    latencies = sorted(ready_at.values())
    return {
        "servers": count,
        "create_s": created_s,
        "all_ready_s": all_ready_s,
        "ready_p50_s": percentile(latencies, 50),
        "ready_p90_s": percentile(latencies, 90),
        "settled_after_ready_s": settled_s,
        "pods_running": running,
        "operator_cpu_s_to_ready": cpu(before, at_ready).get("operator", 0.0),
        "operator_cpu_s_to_settled": cpu(before, settled).get("operator", 0.0),
        "cpu_s_to_settled_by_process": cpu(before, settled),
        "operator_peak_rss_mib": sampler.peak_rss_mib.get("operator", 0.0),
        "operator_rss_idle_mib": sampler.rss_mib.get("operator", 0.0),
        "rss_mib_by_process": dict(sampler.rss_mib),
        "reconciles": reconciles,
        "reconciles_per_server": reconciles / count,
        "operator_requests": requests,
        "operator_work_requests": work,
        "requests_per_reconcile": work / reconciles if reconciles else float("nan"),
        "requests_per_server": work / count,
        "apiserver_requests": apiserver,
        "apiserver_requests_total": sum(apiserver.values()),
        "apiserver_requests_per_server": sum(apiserver.values()) / count,
        "idle_s": idle_for,
        "idle_cpu_cores_by_process": idle_cpu,
        "idle_operator_cpu_percent": idle_cpu.get("operator", 0.0) * 100,
        "idle_control_plane_cpu_percent": sum(v for k, v in idle_cpu.items() if k != "operator") * 100,
        "idle_operator_requests": diff(idle[0], settled[0]),
        "idle_reconciles": idle[3] - settled[3],
        "idle_apiserver_requests": sum(diff(idle[1], settled[1]).values()),
    }


# ----------------------------------------------------------------------------- phase 2: faults


async def faults(plane: ControlPlane, operator: OperatorProcess, count: int, seed: int) -> dict[str, Any]:
    """Delete half and create as many again, in bursts, under SIGKILLs and component restarts."""
    from datetime import UTC, datetime, timedelta

    rng = random.Random(seed)
    namespace = "scale"
    api = await api_client(plane)
    log: list[str] = []
    try:
        existing = [f"s{i:04d}" for i in range(count)]
        doomed = sorted(rng.sample(existing, count // 2))
        fresh = [f"f{i:04d}" for i in range(count // 2)]
        began = datetime.now(UTC)
        window = max(20.0, count * 0.06)
        expiring = {name: began + timedelta(seconds=rng.uniform(window * 0.3, window)) for name in
                    rng.sample(fresh, max(5, count // 20))}
        bursts = 5
        faults_at = sorted(rng.uniform(0.5, window * 0.8) for _ in range(4))
        kinds = ["operator", "kube-apiserver", "operator", "etcd"]
        rng.shuffle(kinds)
        started = time.monotonic()

        async def bursts_of_writes() -> None:
            for i in range(bursts):
                chunk_d, chunk_c = doomed[i::bursts], fresh[i::bursts]
                bodies = [server_body(n, **({"expiresAt": _rfc3339(expiring[n])} if n in expiring else {}))
                          for n in chunk_c]
                await asyncio.gather(delete_all(api, namespace, chunk_d), create_all(api, namespace, bodies))
                log.append(f"{time.monotonic() - started:6.1f}s burst {i + 1}: -{len(chunk_d)} +{len(bodies)}")
                await asyncio.sleep(window / bursts)

        async def inject() -> None:
            for at, kind in zip(faults_at, kinds, strict=True):
                await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
                if kind == "operator":
                    operator.kill()
                    down = rng.uniform(0.0, 3.0)
                    await asyncio.sleep(down)
                    took = operator.start()
                    log.append(f"{time.monotonic() - started:6.1f}s operator SIGKILLed, down {down:.1f}s, "
                               f"up again in {took:.1f}s")
                else:
                    took = await asyncio.to_thread(plane.restart, kind, graceful=False)
                    log.append(f"{time.monotonic() - started:6.1f}s {kind} killed and restarted, "
                               f"API ready again after {took:.1f}s")

        await asyncio.gather(bursts_of_writes(), inject())
        for line in log:
            print(line, flush=True)
        await asyncio.sleep(max(0.0, (max(expiring.values()) - datetime.now(UTC)).total_seconds()))
        live = (set(existing) - set(doomed)) | (set(fresh) - set(expiring))
        converge_began = time.monotonic()
        left: list[str] = []
        reposted: list[str] = []
        operator_done_s = None  # every server in its final state; what is left is garbage collection
        reported = 0.0
        while time.monotonic() - converge_began < 600:
            try:
                left = problems(await world(api, namespace), live, set(expiring))
            except (TimeoutError, client.ApiException, OSError) as exc:
                left = [f"listing failed: {exc!r}"]
            # kopf retries an Event POST whose answer was lost (an API server or etcd going away
            # mid-request), so an Event can appear twice: counted, but it is not state.
            reposted = [p for p in left if "announced twice" in p and "TokenRotated" not in p]
            left = [p for p in left if p not in reposted]
            if operator_done_s is None and not [p for p in left if any(mark in p for mark in OPERATOR_PROBLEMS)]:
                operator_done_s = time.monotonic() - converge_began
            if not left:
                break
            if time.monotonic() - reported > 20:
                reported = time.monotonic()
                print(f"  {reported - converge_began:5.0f}s: {len(left)} differences, e.g. {left[0][:150]}", flush=True)
            await asyncio.sleep(2)
        converged_s = time.monotonic() - converge_began
        seen = await world(api, namespace)
        gone = {d["metadata"]["name"].removesuffix("-mcp") for d in seen["Deployment"]}
        missed = sorted(name for name in expiring if name in gone)
    finally:
        await api.close()
    return {
        "seed": seed, "servers_before": count, "deleted": len(doomed), "created": len(fresh),
        "expiring": len(expiring), "window_s": window, "faults": log, "converged": not left,
        "converged_after_last_expiry_s": converged_s, "servers_final_after_last_expiry_s": operator_done_s,
        "events_posted_twice": reposted, "violations": left[:50], "expiries_missed": missed,
        "servers_after": len(seen["servers"]),
    }


# Differences that say a server is not yet in its final state (Ready, Expired, or deleted); the rest
# (children of deleted servers still there, old Pods) is for the garbage collector and kwok.
OPERATOR_PROBLEMS = ("servers missing", " not Ready", " not Expired", "older generation")


def _rfc3339(instant: Any) -> str:
    return instant.isoformat().replace("+00:00", "Z")


# ----------------------------------------------------------------------------- main


def main() -> int:
    count = knob("OPERATOR_SERVERS", 1000, 100)
    idle_s = float(knob("OPERATOR_IDLE_S", 30, 15))
    seed = knob("OPERATOR_SEED", 20261125, 20261125)
    with_faults = os.environ.get("BENCH_OPERATOR_FAULTS", "0") not in ("0", "", "no", "false")
    info = machine_info()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="coviu-bench-operator-") as folder:
        plane = start_plane(keep_workdir=os.environ.get("BENCH_KEEP", "") not in ("", "0"))
        operator = OperatorProcess(str(plane.user_kubeconfig(USER)), None, Path(folder), count_requests=True)
        sampler = Sampler(plane_pids(plane, operator))
        try:
            idle_before = {name: status_kib(pid, "VmRSS") / 1024 for name, pid in plane_pids(plane)().items()}
            operator.start()
            sampler.start()
            result = asyncio.run(scale(plane, operator, sampler, count, idle_s))
            result["control_plane_rss_mib_before"] = idle_before
            fault_result = asyncio.run(faults(plane, operator, count, seed)) if with_faults else None
            sampler.stop()
            result["operator_peak_rss_mib_incl_faults"] = sampler.peak_rss_mib.get("operator", 0.0)
            result["operator_timeline"] = sampler.timeline[::4]
        finally:
            operator.stop()
            plane.stop()
            log_tail = "".join((Path(folder) / f"operator.{n}.log").read_text()[-2000:]
                               for n in range(1, operator.starts + 1) if (Path(folder) / f"operator.{n}.log").exists())
    cores = info["cpus"] or 1
    print()
    print(markdown_table(
        ["servers", "all Ready s", "p50 / p90 Ready s", "operator CPU s", "operator peak RSS MiB",
         "reconciles / server", "requests / reconcile", "operator requests / server", "API server requests / server"],
        [[count, result["all_ready_s"], f"{result['ready_p50_s']:.1f} / {result['ready_p90_s']:.1f}",
          result["operator_cpu_s_to_settled"], result["operator_peak_rss_mib"], result["reconciles_per_server"],
          result["requests_per_reconcile"], result["requests_per_server"], result["apiserver_requests_per_server"]]],
    ))
    print()
    print(markdown_table(
        ["idle window s", "operator CPU %", "control plane CPU %", "operator requests", "reconciles",
         "operator RSS MiB"],
        [[result["idle_s"], result["idle_operator_cpu_percent"], result["idle_control_plane_cpu_percent"],
          sum(result["idle_operator_requests"].values()), result["idle_reconciles"], result["operator_rss_idle_mib"]]],
    ))
    print("\noperator requests, create to settled:", json.dumps(result["operator_requests"]))
    goals = [
        {"goal": f"all {count} servers Ready", "value": result["pods_running"], "target": count,
         "met": result["pods_running"] >= count},
        {"goal": "no reconcile while idle", "value": result["idle_reconciles"], "target": 0,
         "met": result["idle_reconciles"] == 0},
        {"goal": "operator idle CPU under 1% of a core", "value": round(result["idle_operator_cpu_percent"], 2),
         "target": 1.0, "met": result["idle_operator_cpu_percent"] < 1.0},
    ]
    if fault_result is not None:
        final = fault_result["servers_final_after_last_expiry_s"]
        print(f"\nfaults: converged={fault_result['converged']}: every server in its final state "
              f"{final if final is not None else float('nan'):.1f}s and everything else (garbage collection) "
              f"{fault_result['converged_after_last_expiry_s']:.1f}s after the last expiry; "
              f"missed expiries {len(fault_result['expiries_missed'])}; violations {len(fault_result['violations'])}; "
              f"Events posted twice by kopf's retry of a POST: {len(fault_result['events_posted_twice'])}")
        for line in fault_result["violations"][:20]:
            print("  ", line)
        goals.append({"goal": "faults: converged, nothing duplicated or orphaned, no expiry missed",
                      "value": len(fault_result["violations"]) + len(fault_result["expiries_missed"]),
                      "target": 0, "met": fault_result["converged"] and not fault_result["expiries_missed"]})
    write_result("operator_scale", {
        "item": 5, "machine": info, "cores": cores,
        "settings": {"servers": count, "idle_s": idle_s, "seed": seed, "faults": with_faults},
        "scale": result, "faults": fault_result, "goals": goals,
        "duration_s": time.monotonic() - started, "load_average_at_end": load_average(),
        "operator_log_tail": log_tail[-4000:],
    })
    return 0 if fault_result is None or fault_result["converged"] else 1


if __name__ == "__main__":
    sys.exit(main())
