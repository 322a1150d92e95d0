"""Work with CoviuMCPServers (`kubectl-cmcp`, which kubectl finds on PATH as `kubectl cmcp`).

    kubectl cmcp tools -f server.yaml     the tools a manifest would get, before applying it
    kubectl cmcp url NAME                 the MCP URL, from the server's token Secret
    kubectl cmcp extend NAME 8h           move spec.expiresAt later
    kubectl cmcp rotate NAME [--overlap 15m]  a new URL token; the old one works for the overlap
    kubectl cmcp list [-A]                servers with the time left until they expire

kubectl does not pass its own flags to plugins: the plugin reads KUBECONFIG like kubectl
does, and takes -n/--namespace, --context and --kubeconfig itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ..errors import PluginError
from . import commands
from .kubectl import Kubectl, connection_flags


def _parser() -> argparse.ArgumentParser:
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("-n", "--namespace", help="namespace of the server (default: the context's)")
    connection.add_argument("--context", help="kubeconfig context to use")
    connection.add_argument("--kubeconfig", help="kubeconfig file to use (default: $KUBECONFIG)")
    parser = argparse.ArgumentParser(prog="kubectl cmcp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    tools = sub.add_parser("tools", help="show the tools the servers in a manifest would get")
    tools.add_argument("-f", "--filename", required=True, help="manifest file, or - for standard input")
    url = sub.add_parser("url", parents=[connection], help="print a server's MCP URL (it holds the token)")
    url.add_argument("name")
    extend = sub.add_parser("extend", parents=[connection], help="move a server's expiresAt later")
    extend.add_argument("name")
    extend.add_argument("duration", help="e.g. 8h, 90m, 1d12h")
    rotate = sub.add_parser("rotate", parents=[connection], help="give a server a new URL token")
    rotate.add_argument("name")
    rotate.add_argument("--overlap", help="how long the old URL keeps working, e.g. 15m (spec.rotationOverlapSeconds)")
    listing = sub.add_parser("list", parents=[connection], help="list servers with expiry countdowns")
    listing.add_argument("-A", "--all-namespaces", action="store_true", help="list servers in every namespace")
    return parser


def _read(filename: str) -> str:
    if filename == "-":
        return sys.stdin.read()
    try:
        return Path(filename).read_text()
    except OSError as exc:
        raise PluginError(f"cannot read {filename}: {exc.strerror}") from None


def run(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    now = datetime.now(UTC)
    if args.command == "tools":
        text, valid = commands.tools(commands.load_manifest(_read(args.filename), args.filename))
        sys.stdout.write(text)
        return 0 if valid else 1
    kubectl = Kubectl(connection_flags(args.namespace, args.context, args.kubeconfig))
    if args.command == "url":
        sys.stdout.write(commands.url(kubectl, args.name))
    elif args.command == "extend":
        sys.stdout.write(commands.extend(kubectl, args.name, commands.parse_duration(args.duration), now))
    elif args.command == "rotate":
        overlap = commands.parse_duration(args.overlap) if args.overlap else None
        sys.stdout.write(commands.rotate(kubectl, args.name, overlap, now))
    else:
        sys.stdout.write(commands.listing(kubectl, args.all_namespaces, now))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    try:
        sys.exit(run(sys.argv[1:] if argv is None else argv))
    except PluginError as exc:
        sys.stderr.write(f"kubectl cmcp: error: {exc}\n")
        sys.exit(1)
