"""The images `make image` builds, and containers of them on the host's loopback.

Every call goes through ``hack/image.sh``, so tests use the engine and engine settings the build
used. A build that fails, or an engine that cannot be installed, fails the test with the reason.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from coviu_testbed.launch import Running, running

from .node_tools import ROOT

IMAGE_SCRIPT = str(ROOT / "hack" / "image.sh")
PRODUCT_IMAGE = "localhost/coviu-mcp-operator:dev"
SANDBOX_IMAGE = "localhost/coviu-mcp-sandbox:dev"
# What the operator's Pods and the chart give every container (coviu_operator.builders).
HARDENED = ("--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges", "--tmpfs=/tmp:size=64m")


class ImageError(RuntimeError):
    """The images could not be built or the engine refused a command; carries its output."""


@dataclass(frozen=True)
class Images:
    """Image ids, not names: another checkout on the same machine may retag the names."""

    product: str
    sandbox: str


def build_images() -> Images:
    """Build (or find up to date) both images with `hack/image.sh build`."""
    names = {"IMAGE": PRODUCT_IMAGE, "SANDBOX_IMAGE": SANDBOX_IMAGE}
    done = subprocess.run(
        [IMAGE_SCRIPT, "build"], capture_output=True, text=True, timeout=1500, check=False,
        env={**os.environ, **names},
    )  # fmt: skip
    if done.returncode != 0:
        raise ImageError(f"hack/image.sh build failed ({done.returncode}):\n{done.stderr[-3000:]}{done.stdout[-2000:]}")
    return Images(_image_id(PRODUCT_IMAGE), _image_id(SANDBOX_IMAGE))


def _image_id(name: str) -> str:
    found = engine("image", "inspect", "--format", "{{.Id}}", name)
    if found.returncode != 0:
        raise ImageError(f"{name} was built but cannot be inspected: {found.stderr}")
    return found.stdout.strip()


def engine(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the engine `make image` chose; the result is returned whatever its exit code."""
    return subprocess.run(
        [IMAGE_SCRIPT, "engine", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@contextlib.contextmanager
def container(
    image: str,
    command: list[str],
    port: int,
    ready_path: str,
    env: Mapping[str, str] | None = None,
    ready_port: int | None = None,
) -> Iterator[Running]:
    """A hardened container on the host network until the block ends, once `ready_path` answers.

    Its programs listen on 127.0.0.1 only, so nothing leaves loopback. The engine's client
    stays attached, so a container that exits is reported with its output.
    """
    name = f"coviu-test-{secrets.token_hex(4)}"
    flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
    args = [
        IMAGE_SCRIPT,
        "engine",
        "run",
        "--rm",
        f"--name={name}",
        "--network=host",
        *HARDENED,
        *flags,
        image,
        *command,
    ]
    try:
        with running(args, port, ready_path, timeout=60, ready_port=ready_port) as child:
            yield child
    finally:
        engine("rm", "--force", name)

