"""The real ``coviu-sandbox`` console script over real TCP on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from coviu_sandbox.binary import expected_bytes
from coviu_testbed.launch import console_script, stop

from .sandbox_process import SandboxProcess, start_sandbox

pytestmark = pytest.mark.real


def _login(sandbox: SandboxProcess, client: httpx.Client) -> str:
    response = client.post(
        f"{sandbox.base_url}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def api(sandbox_process: SandboxProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_process.base_url, timeout=10) as client:
        client.headers["Authorization"] = f"Bearer {_login(sandbox_process, client)}"
        yield client


def test_startup_line_names_the_url_and_credentials(sandbox_process: SandboxProcess) -> None:
    first_line = sandbox_process.output().splitlines()[0]
    assert first_line == f"Coviu sandbox serving {sandbox_process.base_url}"
    assert f"'{sandbox_process.client_id}'" in sandbox_process.output()
    assert f"'{sandbox_process.client_secret}'" in sandbox_process.output()


def test_oauth_and_a_page_of_sessions(sandbox_process: SandboxProcess, api: httpx.Client) -> None:
    page = api.get("/sessions", params={"page": 1, "page_size": 10})
    assert page.status_code == 200
    body = page.json()
    assert (body["page"], body["page_size"], len(body["content"]), body["more"]) == (1, 10, 10, True)
    anonymous = httpx.get(f"{sandbox_process.base_url}/sessions")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "missing_token"


def test_range_downloads(sandbox_process: SandboxProcess, api: httpx.Client) -> None:
    team = sandbox_process.seed["team_id"]
    small, large = sandbox_process.seed["recording"], sandbox_process.seed["large_recording"]
    whole = api.get(f"/collections/{team}/collection/{small['collection_id']}/recording/{small['submission_id']}")
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/webm"
    assert whole.content == expected_bytes(small["submission_id"], 0, small["size"])
    path = f"/collections/{team}/collection/{large['collection_id']}/recording/{large['submission_id']}"
    size = large["size"]
    tail = api.get(path, headers={"Range": "bytes=-1048576"})
    assert tail.status_code == 206 and tail.headers["content-range"] == f"bytes {size - 1048576}-{size - 1}/{size}"
    assert tail.content == expected_bytes(large["submission_id"], size - 1048576, 1048576)
    with api.stream("GET", path) as streamed:
        assert streamed.headers["content-length"] == str(size)
        head = next(streamed.iter_bytes(4096))
    assert head[:4] == bytes.fromhex("1a45dfa3")
    beyond = api.get(path, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"


def test_dropped_connections_close_the_socket_unanswered(sandbox_process: SandboxProcess, api: httpx.Client) -> None:
    address = urlsplit(sandbox_process.root_url)
    request = (
        f"GET /v1/user/team HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: {api.headers['Authorization']}\r\n\r\n"
    ).encode()
    httpx.post(f"{sandbox_process.root_url}/_sandbox/faults", json={"drop_rate": 1}).raise_for_status()
    try:
        with socket.create_connection((address.hostname, address.port), timeout=5) as raw:
            raw.sendall(request)
            try:
                answer = raw.recv(65536)
            except ConnectionResetError:
                answer = b""
        assert answer == b""
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.get("/user/team")
    finally:
        httpx.post(f"{sandbox_process.root_url}/_sandbox/faults", json={}).raise_for_status()
    assert api.get("/user/team").status_code == 200


def test_flags_reach_the_server_and_sigterm_stops_it_cleanly() -> None:
    flags = (
        "--seed",
        "9",
        "--token-ttl",
        "1",
        "--rate-limit",
        "2",
        "--rate-window",
        "3600",
        "--recording-size",
        "2MiB",
    )
    with start_sandbox(*flags, client_id="clinic-app", client_secret="s3cret") as sandbox:
        assert sandbox.seed["large_recording"]["size"] == 2 * 1024 * 1024
        with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
            bearer = {"Authorization": f"Bearer {_login(sandbox, client)}"}
            assert [client.get("/user/team", headers=bearer).status_code for _ in range(3)] == [200, 200, 429]
            time.sleep(1.1)
            expired = client.get("/user/team", headers=bearer)
            assert expired.status_code == 401 and expired.json()["error"]["code"] == "token_expired"
        process = sandbox.child.process
        started = time.monotonic()
        stop(process)
        assert process.returncode == 0, sandbox.output()
        assert time.monotonic() - started < 5


def test_bad_flags_exit_with_a_usage_error() -> None:
    result = subprocess.run(
        [console_script("coviu-sandbox"), "--error-rate", "2", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "error_rate" in result.stderr and "less than or equal to 1" in result.stderr
