"""Serve a CoviuMCPServer of the local control plane on this machine.

On the local control plane kwok marks Pods Ready but runs no container, so the URL in the
token Secret leads nowhere. This reads the Deployment and Secrets the operator created, starts
`coviu-mcp-server` here with exactly that environment, and prints a working URL.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = ROOT / ".cache" / "bin" / "kubectl"
KUBECONFIG = ROOT / ".cache" / "k8s" / "kubeconfig"

from coviu_catalog import proxy_env  # noqa: E402
from coviu_operator.names import token_secret_name, workload_name  # noqa: E402
from coviu_testbed.launch import console_script, free_port, running  # noqa: E402
from coviu_testbed.podenv import resolve_env  # noqa: E402


def kubectl(kubeconfig: Path, *args: str) -> dict:
    done = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), *args, "-o", "json"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the CoviuMCPServer")
    parser.add_argument("-n", "--namespace", default="default")
    parser.add_argument("--kubeconfig", type=Path, default=KUBECONFIG)
    parser.add_argument("--port", type=int, default=0, help="local port (default: a free one)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the proxy too, not just this script
    deployment = kubectl(args.kubeconfig, "get", "deployment", "-n", args.namespace, workload_name(args.name))
    secrets = {
        s["metadata"]["name"]: s for s in kubectl(args.kubeconfig, "get", "secrets", "-n", args.namespace)["items"]
    }
    token_secret = secrets.get(token_secret_name(args.name))
    if token_secret is None:
        raise SystemExit(f"no token Secret {token_secret_name(args.name)} yet: is the server Ready?")
    token = base64.b64decode(token_secret["data"]["token"]).decode()
    port, admin_port = args.port or free_port(), free_port()
    env = {**resolve_env(deployment, secrets), proxy_env.HOST: "127.0.0.1", proxy_env.PORT: str(port),
           proxy_env.ADMIN_PORT: str(admin_port)}
    with running([console_script("coviu-mcp-server")], port, "/healthz", env, ready_port=admin_port) as server:
        print(f"MCP URL: {server.base_url}/mcp/{token}", flush=True)
        print("Serving until Ctrl-C.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
