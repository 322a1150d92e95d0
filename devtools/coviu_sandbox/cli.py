"""``coviu-sandbox``: run the Coviu sandbox on a local port."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

from pydantic import ValidationError

from coviu_sandbox.server import base_url, bind, serve
from coviu_sandbox.settings import GIB, FaultSettings, RateLimitSettings, SandboxSettings

_UNITS = {"": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": GIB, "gib": GIB}


def parse_size(text: str) -> int:
    """Bytes from ``1048576``, ``512MiB`` or ``1GiB`` (K, M and G are binary too)."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if match is None or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 1048576, 512MiB or 1GiB")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coviu-sandbox", description="An in-memory server that behaves like the Coviu REST API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on; 0 picks a free one (default 8090)")
    parser.add_argument("--client-id", default="sandbox-client", help="OAuth client id (default sandbox-client)")
    parser.add_argument(
        "--client-secret", default="sandbox-secret", help="OAuth client secret (default sandbox-secret)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of all generated data (default 1)")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime in seconds (default 3600)")
    parser.add_argument(
        "--recording-size", type=parse_size, default=GIB, help="size of the large recording (default 1GiB)"
    )
    parser.add_argument("--rate-limit", type=int, default=0, help="API requests per window per client; 0 = unlimited")
    parser.add_argument("--rate-window", type=float, default=60, help="rate-limit window in seconds (default 60)")
    faults = parser.add_argument_group("fault injection (API requests only; change at run time via /_sandbox/faults)")
    faults.add_argument("--latency-ms", type=float, default=0, help="delay added to every request")
    faults.add_argument("--error-rate", type=float, default=0, help="share (0..1) of requests answered with a 5xx")
    faults.add_argument("--error-status", type=int, default=503, help="status of injected errors (default 503)")
    faults.add_argument("--drop-rate", type=float, default=0, help="share (0..1) of connections closed unanswered")
    faults.add_argument("--slow-body-delay-ms", type=float, default=0, help="pause between response body chunks")
    faults.add_argument("--slow-body-chunk-bytes", type=int, default=1024, help="chunk size of slowed bodies")
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = SandboxSettings(
            client_id=args.client_id,
            client_secret=args.client_secret,
            seed=args.seed,
            token_ttl_s=args.token_ttl,
            large_recording_bytes=args.recording_size,
            rate_limit=RateLimitSettings(limit=args.rate_limit, window_s=args.rate_window),
            faults=FaultSettings(
                latency_ms=args.latency_ms,
                error_rate=args.error_rate,
                error_status=args.error_status,
                drop_rate=args.drop_rate,
                slow_body_delay_ms=args.slow_body_delay_ms,
                slow_body_chunk_bytes=args.slow_body_chunk_bytes,
            ),
        )
    except ValidationError as error:
        parser.error(str(error))
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        parser.error(f"cannot listen on {args.host}:{args.port}: {error}")
    url = base_url(sock)
    print(
        f"Coviu sandbox serving {url}/v1\n"
        f"  OAuth client id {settings.client_id!r}, secret {settings.client_secret!r} "
        f"(HTTP Basic on POST {url}/v1/auth/token)\n"
        f"  seed ids: {url}/_sandbox/seed",
        flush=True,
    )
    serve(settings, sock, log_level=args.log_level)
