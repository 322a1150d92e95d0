"""Entry points: the `coviu-mcp-operator` command and the coroutine it runs.

Configuration is validated before anything starts, so a bad COVIU_OPERATOR_* value ends
the process with a message (exit code 2) instead of a crash loop of stack traces.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import threading
from collections.abc import Sequence

import kopf
from prometheus_client import start_http_server

from coviu_catalog import load_catalog

from . import handlers
from .catchup import catch_up
from .controller import Runtime, Turns, Wakeups, release_terminating
from .errors import SettingsError
from .expiry import Clock, SystemClock
from .kube import Kube
from .metrics import Metrics
from .reconcile import Context
from .settings import OperatorSettings, load_settings

logger = logging.getLogger(__name__)
_LOG_FORMATS = {"plain": kopf.LogFormat.PLAIN, "full": kopf.LogFormat.FULL, "json": kopf.LogFormat.JSON}
Flag = asyncio.Event | threading.Event


async def run_operator(
    settings: OperatorSettings,
    metrics: Metrics,
    *,
    namespaces: Sequence[str] = (),
    kubeconfig: str | None = None,
    clock: Clock | None = None,
    liveness_endpoint: str | None = None,
    stop_flag: Flag | None = None,
    ready_flag: Flag | None = None,
) -> None:
    """Run until `stop_flag` is set (or forever); empty `namespaces` watches the whole cluster."""
    async with Kube.connect(settings.request_timeout, kubeconfig) as kube:
        now, turns = clock or SystemClock(), Turns()
        expiries = asyncio.create_task(catch_up(kube, now, metrics, turns, namespaces))
        runtime = Runtime(Context(settings, kube, load_catalog().records, now), Wakeups(), metrics, turns)
        releases = asyncio.create_task(release_terminating(kube, namespaces, logger)) if namespaces else None
        try:
            await kopf.operator(
                registry=handlers.registry,
                memo=kopf.Memo(runtime=runtime),
                standalone=True,
                # kopf would otherwise name itself after the user, and the image's uid
                # 65532 has no passwd entry (getpwuid fails); in a Pod this is its name.
                identity=socket.gethostname(),  # type: ignore[arg-type]
                clusterwide=not namespaces,
                namespaces=list(namespaces),
                liveness_endpoint=liveness_endpoint,
                stop_flag=stop_flag,
                ready_flag=ready_flag,
            )
        finally:
            expiries.cancel()
            if releases is not None:
                releases.cancel()


class _QuietPokes(logging.Filter):
    """Drop kopf's per-event "Handler '...-changed' succeeded." lines: every Secret in a watched
    namespace would produce one, and they say nothing the server's own log lines do not."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and record.getMessage().endswith("-changed' succeeded."))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coviu-mcp-operator",
        description="Run the CoviuMCPServer operator. Settings come from COVIU_OPERATOR_* variables "
                    "(see docs/operator.md); flags override the namespaces.",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", default=[],
                       help="watch this namespace (repeatable); default: COVIU_OPERATOR_NAMESPACES")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch the whole cluster")
    parser.add_argument("--kubeconfig", help="kubeconfig file; default: in-cluster, then KUBECONFIG")
    parser.add_argument("--log-format", choices=sorted(_LOG_FORMATS), default="full")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"coviu-mcp-operator: {exc}", file=sys.stderr)
        return 2
    namespaces = () if args.all_namespaces else tuple(args.namespace) or settings.namespaces
    # Plain and full lines get a "[namespace/name]" prefix; JSON lines carry an "object" field.
    kopf.configure(verbose=args.verbose, log_format=_LOG_FORMATS[args.log_format],
                   log_prefix=args.log_format != "json")
    logging.getLogger("kopf.objects").addFilter(_QuietPokes())
    metrics = Metrics()
    server, _ = start_http_server(settings.metrics_port, registry=metrics.registry)
    logger.info("serving /metrics on port %d; watching %s; %s", server.server_port,
                ", ".join(namespaces) or "all namespaces", settings.describe())
    asyncio.run(run_operator(
        settings, metrics, namespaces=namespaces, kubeconfig=args.kubeconfig,
        liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
    ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
