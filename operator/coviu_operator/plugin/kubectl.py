"""Running the kubectl that found the plugin, so its kubeconfig, context and credentials apply."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import PluginError


@dataclass(frozen=True)
class Kubectl:
    """kubectl with the plugin's connection flags (`--namespace`, `--context`, `--kubeconfig`)."""

    flags: tuple[str, ...] = ()

    def run(self, *args: str) -> str:
        executable = shutil.which("kubectl")
        if executable is None:
            raise PluginError("kubectl is not on PATH")
        result = subprocess.run([executable, *self.flags, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PluginError(result.stderr.strip() or f"kubectl {' '.join(args)} failed ({result.returncode})")
        return result.stdout

    def get(self, *args: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.run("get", *args, "-o", "json"))
        return found

    def merge_patch(self, target: str, patch: dict[str, Any]) -> None:
        self.run("patch", target, "--type=merge", "-p", json.dumps(patch))


def connection_flags(namespace: str | None, context: str | None, kubeconfig: str | None) -> tuple[str, ...]:
    pairs: Sequence[tuple[str, str | None]] = (
        ("--namespace", namespace), ("--context", context), ("--kubeconfig", kubeconfig))
    return tuple(f"{flag}={value}" for flag, value in pairs if value)
