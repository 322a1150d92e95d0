"""Tool results: what the model reads back, for success and for every kind of failure.

Failures are tool results with isError, never protocol errors, so the model sees Coviu's
status and message and can act on them; success is never claimed for a failed call.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import httpx
import mcp_types as types

from .tools import ToolSpec, continuation, continuation_field

_MAX_MESSAGE = 500


def success(spec: ToolSpec, body: Any, body_text: str, query: Mapping[str, str]) -> types.CallToolResult:
    structured = structured_content(spec, body, query)
    text = types.TextContent(type="text", text=json_text(structured, body, body_text))
    return types.CallToolResult(content=[text], structured_content=structured)


def json_text(structured: dict[str, Any], body: Any, body_text: str) -> str:
    """`structured` as JSON text, reusing Coviu's own text where it can.

    Serialising a page of sessions again costs more than the rest of the call; Coviu's text
    already is that JSON, short of the wrapping or the continuation field added here.
    """
    text = body_text.strip()
    if structured is body:
        return text
    if isinstance(body, list):
        return f'{{"items":{text}}}'
    if isinstance(body, dict) and body and text.endswith("}"):
        added = structured.keys() - body.keys()
        if added and len(structured) == len(body) + len(added):
            return text[:-1] + "," + _dumps({name: structured[name] for name in added})[1:]
    return _dumps(structured)


def structured_content(spec: ToolSpec, body: Any, query: Mapping[str, str]) -> dict[str, Any]:
    """Coviu's body, object-shaped (arrays wrapped as items) and with the continuation added."""
    if isinstance(body, list):
        return {"items": body}
    if not isinstance(body, dict):
        return {"value": body}
    field = continuation_field(spec.record)
    if field is None:
        return body
    return {**body, field: continuation(spec.record, body, query)}


def upstream_error(spec: ToolSpec, response: httpx.Response, retry_after: int | None) -> types.CallToolResult:
    code, message = coviu_error(response)
    if response.status_code == 429:
        when = f"retry after {retry_after} seconds" if retry_after is not None else "retry later"
        text = (
            f"Coviu rate limit reached (HTTP 429{code}): {message}. This server does not retry; {when}."
        )
    else:
        text = f"Coviu rejected {spec.name} with HTTP {response.status_code}{code}: {message}"
    return error(text)


def invalid_arguments(spec: ToolSpec, problems: list[str]) -> types.CallToolResult:
    return error(f"Invalid arguments for {spec.name}: " + "; ".join(problems))


def error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def binary(
    spec: ToolSpec, content_type: str, size: int | None, download_url: str, accept_ranges: bool, data: bytes | None
) -> types.CallToolResult:
    structured = {
        "content_type": content_type,
        "size": size,
        "download_url": download_url,
        "accept_ranges": accept_ranges,
    }
    content: list[types.ContentBlock] = [
        _text(structured),
        types.ResourceLink(
            type="resource_link",
            uri=download_url,
            name=spec.name.removeprefix("get_single_coviu_").removesuffix("_by_id"),
            mime_type=content_type,
            size=size,
        ),
    ]
    if data is not None:
        encoded = base64.b64encode(data).decode("ascii")
        if content_type.startswith("audio/"):
            content.append(types.AudioContent(type="audio", data=encoded, mime_type=content_type))
        else:
            content.append(
                types.EmbeddedResource(
                    type="resource",
                    resource=types.BlobResourceContents(uri=download_url, mime_type=content_type, blob=encoded),
                )
            )
    return types.CallToolResult(content=content, structured_content=structured)


def coviu_error(response: httpx.Response) -> tuple[str, str]:
    """Coviu's error code (formatted for a message) and message, from {"error": {...}} bodies."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    detail = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(detail, dict):
        code = f", {detail['code']}" if isinstance(detail.get("code"), str) else ""
        message = str(detail.get("message") or response.reason_phrase)
    elif isinstance(detail, str):
        code, message = "", detail
    else:
        code, message = "", response.reason_phrase or "no message"
    return code, message[:_MAX_MESSAGE]


def _text(structured: Mapping[str, Any]) -> types.TextContent:
    return types.TextContent(type="text", text=_dumps(structured))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
