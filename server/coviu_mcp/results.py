"""Tool results: what the model reads back, for success and for every kind of failure.

Failures are tool results with isError, never protocol errors, so the model sees Coviu's
status and message and can act on them; success is never claimed for a failed call.

Results are plain dicts in the wire shape of `CallToolResult`: the SDK validates them once
against the negotiated version's result surface (which drops `resultType` on the legacy era),
so building pydantic models here would only add a validation and a dump of the page per call.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson

from .tools import ToolSpec, continuation, continuation_field
from .upstream import Reply

_MAX_MESSAGE = 500
_COMPLETE = {"isError": False, "resultType": "complete"}


def success(spec: ToolSpec, body: Any, body_text: str, query: Mapping[str, str]) -> dict[str, Any]:
    structured = structured_content(spec, body, query)
    return {"content": [_text(json_text(structured, body, body_text))], "structuredContent": structured, **_COMPLETE}


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


def upstream_error(spec: ToolSpec, response: Reply, retry_after: int | None) -> dict[str, Any]:
    code, message = coviu_error(response)
    if response.status_code == 429:
        when = f"retry after {retry_after} seconds" if retry_after is not None else "retry later"
        text = (
            f"Coviu rate limit reached (HTTP 429{code}): {message}. This server does not retry; {when}."
        )
    else:
        text = f"Coviu rejected {spec.name} with HTTP {response.status_code}{code}: {message}"
    return error(text)


def invalid_arguments(spec: ToolSpec, problems: list[str]) -> dict[str, Any]:
    return error(f"Invalid arguments for {spec.name}: " + "; ".join(problems))


def error(text: str) -> dict[str, Any]:
    return {"content": [_text(text)], "isError": True, "resultType": "complete"}


def binary(
    spec: ToolSpec, content_type: str, size: int | None, download_url: str, accept_ranges: bool, data: bytes | None
) -> dict[str, Any]:
    structured = {
        "content_type": content_type,
        "size": size,
        "download_url": download_url,
        "accept_ranges": accept_ranges,
    }
    link: dict[str, Any] = {
        "type": "resource_link",
        "uri": download_url,
        "name": spec.name.removeprefix("get_single_coviu_").removesuffix("_by_id"),
        "mimeType": content_type,
    }
    if size is not None:
        link["size"] = size
    content: list[dict[str, Any]] = [_text(_dumps(structured)), link]
    if data is not None:
        encoded = base64.b64encode(data).decode("ascii")
        if content_type.startswith("audio/"):
            content.append({"type": "audio", "data": encoded, "mimeType": content_type})
        else:
            resource = {"uri": download_url, "mimeType": content_type, "blob": encoded}
            content.append({"type": "resource", "resource": resource})
    return {"content": content, "structuredContent": structured, **_COMPLETE}


def coviu_error(response: Reply) -> tuple[str, str]:
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


def _text(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
