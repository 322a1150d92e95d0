"""Faults below HTTP: connections cut mid-download, DNS failures, bad certificates, a dead token
endpoint, and no leaked connections or file descriptors after many faulted calls."""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from .faultproxy import fault_proxy
from .proxy_process import proxy_process

pytestmark = pytest.mark.real


def _port(url: str) -> int:
    return urlsplit(url).port or 80


async def _call(url: str, name: str, arguments: dict) -> tuple[bool, str]:
    async with Client(streamable_http_client(url), mode="2026-07-28") as client:
        result = await client.call_tool(name, arguments)
        return result.is_error, result.content[0].text


async def test_a_download_cut_mid_stream_is_reported_incomplete(sandbox_process) -> None:
    seed = sandbox_process.seed
    large = seed["large_recording"]
    async with fault_proxy(_port(sandbox_process.base_url), cut_after=4 * 1024 * 1024) as fp:
        env = {"COVIU_API_BASE_URL": f"http://127.0.0.1:{fp.port}/v1"}
        with proxy_process(sandbox_process, **env) as running:
            async with Client(streamable_http_client(running.url), mode="2026-07-28") as client:
                result = await client.call_tool(
                    "get_single_coviu_audio_recording_by_id",
                    {"team_id": seed["team_id"], "collection_id": large["collection_id"], "id": large["submission_id"]},
                )
            link = result.structured_content["download_url"]
            received = 0
            async with httpx.AsyncClient(timeout=30) as http:
                with pytest.raises(httpx.HTTPError):
                    async with http.stream("GET", link) as response:
                        assert int(response.headers["content-length"]) == large["size"]
                        async for chunk in response.aiter_raw():
                            received += len(chunk)
            assert 0 < received < large["size"]


async def test_unresolvable_coviu_host_is_a_clear_error(sandbox_process) -> None:
    with proxy_process(sandbox_process, COVIU_API_BASE_URL="http://coviu-api.invalid/v1") as running:
        is_error, text = await _call(running.url, "get_single_coviu_team", {})
        assert is_error and "token endpoint unreachable" in text
        ready = httpx.get(f"{running.admin_url}/readyz")
        assert ready.status_code == 503


async def test_dead_token_endpoint_is_a_clear_error(sandbox_process) -> None:
    async with fault_proxy(_port(sandbox_process.base_url), refuse=True) as fp:
        with proxy_process(sandbox_process, COVIU_API_BASE_URL=f"http://127.0.0.1:{fp.port}/v1") as running:
            is_error, text = await _call(running.url, "get_single_coviu_team", {})
            assert is_error and "token endpoint unreachable" in text


def _self_signed() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder = tempfile.mkdtemp()
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


async def test_untrusted_certificate_is_refused_with_a_clear_error(sandbox_process) -> None:
    import asyncio

    cert, key = _self_signed()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with proxy_process(sandbox_process, COVIU_API_BASE_URL=f"https://127.0.0.1:{port}/v1") as running:
            is_error, text = await _call(running.url, "get_single_coviu_team", {})
    assert is_error and "certificate" in text.lower()


async def test_no_descriptor_leak_after_many_faulted_calls(sandbox_process) -> None:
    admin = httpx.AsyncClient(base_url=sandbox_process.root_url)
    with proxy_process(sandbox_process) as running:
        pid = running.child.process.pid
        async with Client(streamable_http_client(running.url), mode="2026-07-28") as client:
            await client.call_tool("get_single_coviu_team", {})
            before = len(os.listdir(f"/proc/{pid}/fd"))
            try:
                for faults in ({"error_rate": 1.0}, {"drop_rate": 1.0}, {"error_rate": 0.5, "drop_rate": 0.3}):
                    await admin.post("/_sandbox/faults", json=faults)
                    for _ in range(150):
                        result = await client.call_tool("list_all_coviu_sessions", {"page_size": 1})
                        assert result.is_error or result.structured_content["content"]
            finally:
                await admin.post("/_sandbox/faults", json={})
                await admin.aclose()
            assert not (await client.call_tool("get_single_coviu_team", {})).is_error
            after = len(os.listdir(f"/proc/{pid}/fd"))
    assert after <= before + 5, (before, after)
