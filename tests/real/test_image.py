"""The images `make image` builds, run the way the operator's Pods run them: as uid 65532, with a
read-only root filesystem and no capabilities. The proxy container serves MCP against a
sandbox container, on loopback.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from coviu_operator.builders import PROXY_COMMAND, RUN_AS
from coviu_testbed.launch import free_port, free_ports, mint_token

from .containers import HARDENED, IMAGE_SCRIPT, Images, build_images, container, engine
from .sandbox_process import CLIENT_ID, CLIENT_SECRET

# A cold build (base image from Debian's packages, then both images) takes minutes.
pytestmark = [pytest.mark.real, pytest.mark.timeout(1500)]

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "image-test", "version": "1"},
    },
}


@pytest.fixture(scope="module")
def images() -> Images:
    return build_images()


@pytest.fixture(scope="module")
def sandbox_url(images: Images) -> Iterator[str]:
    port = free_port()
    command = ["coviu-sandbox", "--host=127.0.0.1", f"--port={port}"]
    with container(images.sandbox, command, port, "/_sandbox/seed") as sandbox:
        yield f"{sandbox.base_url}/v1"


def run(image: str, *command: str) -> str:
    done = engine("run", "--rm", *HARDENED, image, *command)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_product_runs_as_the_pods_user_with_a_read_only_root(images: Images) -> None:
    assert run(images.product, "python3", "-c", "import os; print(os.getuid(), os.getgid())").split() == [
        str(RUN_AS), str(RUN_AS)
    ]
    refused = engine("run", "--rm", *HARDENED, images.product, "python3", "-c", "open('/opt/venv/x', 'w')")
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr


def test_the_build_secrets_stay_out_of_the_images(images: Images) -> None:
    """The machine's pip.conf and CA bundle are mounted for pip's steps only (Containerfile)."""
    for image in (images.product, images.sandbox):
        assert run(image, "python3", "-c", "import os; print(os.path.exists('/etc/pip.conf'))").strip() == "False"


@pytest.mark.parametrize("command", ["coviu-mcp-operator", PROXY_COMMAND])
def test_both_programs_start(images: Images, command: str) -> None:
    assert f"usage: {command}" in run(images.product, command, "--help")


def test_the_product_does_not_carry_the_sandbox(images: Images) -> None:
    probe = (
        "import importlib.util, shutil; print(importlib.util.find_spec('coviu_sandbox'), shutil.which('coviu-sandbox'))"
    )
    assert run(images.product, "python3", "-c", probe).split() == ["None", "None"]
    assert run(images.sandbox, "python3", "-c", probe).split() != ["None", "None"]


async def test_the_proxy_container_serves_mcp_against_the_sandbox_container(images: Images, sandbox_url: str) -> None:
    port, admin_port = free_ports(2)
    token, digest = mint_token()
    env = {
        "COVIU_API_BASE_URL": sandbox_url,
        "COVIU_CLIENT_ID": CLIENT_ID,
        "COVIU_CLIENT_SECRET": CLIENT_SECRET,
        "MCP_TOKEN_SHA256": digest,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "MCP_ADMIN_PORT": str(admin_port),
    }
    with container(images.product, [PROXY_COMMAND], port, "/readyz", env, ready_port=admin_port) as proxy:
        url = f"{proxy.base_url}/mcp/{token}"
        answer = httpx.post(url, json=INITIALIZE, headers={"Accept": "application/json, text/event-stream"})
        assert answer.status_code == 200, answer.text
        assert '"serverInfo"' in answer.text
        async with Client(streamable_http_client(url)) as client:
            team = await client.call_tool("get_single_coviu_team", {})
            assert not team.is_error and team.structured_content["team_id"]


@pytest.fixture
def path_without_an_engine() -> Iterator[str]:
    """A PATH with the few tools the script needs to get that far, and no docker or podman."""
    with tempfile.TemporaryDirectory() as folder:  # under /tmp, so another user can read it
        tools = Path(folder)
        tools.chmod(0o755)
        for tool in ("bash", "cat", "dirname", "grep", "id"):
            (tools / tool).symlink_to(shutil.which(tool) or tool)
        yield folder


def test_without_an_engine_or_root_the_message_names_what_to_install(path_without_an_engine: str) -> None:
    """A user who is not root gets the packages to install, not an apt-get that cannot work."""
    done = subprocess.run(
        [shutil.which("setpriv") or "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         IMAGE_SCRIPT, "build"],
        capture_output=True, text=True, timeout=30, check=False, env={"PATH": path_without_an_engine},
    )  # fmt: skip
    assert done.returncode == 1
    assert "no container engine answers" in done.stderr
    assert "apt-get install podman runc buildah" in done.stderr
