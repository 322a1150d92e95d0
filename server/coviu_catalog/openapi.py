"""Render the catalog as an OpenAPI 3.1 document (for users, and for tools that import OpenAPI)."""

from __future__ import annotations

from typing import Any

from .catalog import Catalog
from .models import DEFAULT_API_BASE_URL, Record
from .naming import tool_name


def render_openapi(catalog: Catalog, server_url: str = DEFAULT_API_BASE_URL) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for record in catalog.records:
        paths.setdefault(record.path, {})[record.http_method.lower()] = _operation(record)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Coviu REST API",
            "version": "v1",
            "description": "Generated from the coviu-mcp-operator catalog of documentation records.",
        },
        "servers": [{"url": server_url}],
        "security": [{"coviuOAuth": []}],
        "components": {
            "securitySchemes": {
                "coviuOAuth": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": f"{server_url}/auth/token", "scopes": {}}},
                }
            }
        },
        "tags": [{"name": tag} for tag in catalog.tags],
        "paths": paths,
    }


def _operation(record: Record) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "description": schema["description"], "schema": schema}
        for name, schema in record.path_params.items()
    ] + [
        {
            "name": name,
            "in": "query",
            "required": name in record.query.required,
            "description": schema["description"],
            "schema": schema,
        }
        for name, schema in record.query.properties.items()
    ]
    operation: dict[str, Any] = {
        "operationId": tool_name(record),
        "summary": record.summary,
        "description": _description(record),
        "tags": list(record.tags),
        "parameters": parameters,
        "responses": {"200": _success(record), "default": {"description": "Coviu error: {error: {code, message}}"}},
    }
    if record.body.properties:
        operation["requestBody"] = {
            "required": bool(record.body.required),
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": record.body.properties,
                        "required": list(record.body.required),
                    }
                }
            },
        }
    return operation


def _success(record: Record) -> dict[str, Any]:
    if record.response.kind == "binary":
        return {
            "description": "The file's bytes; Range requests are answered with 206.",
            "content": {ct: {"schema": {"type": "string", "format": "binary"}} for ct in record.response.content_types},
        }
    return {
        "description": record.summary,
        "content": {"application/json": {"schema": record.response.schema_ or {}}},
    }


def _description(record: Record) -> str:
    if not record.constraints:
        return record.description
    return record.description + "\n\nConstraints:\n" + "\n".join(f"- {c}" for c in record.constraints)
