"""The documentation record: one per Coviu resource x method, validated once at load time.

A record says everything needed to expose an endpoint as a tool and to call it: where each
argument goes (path, query, body), how the endpoint paginates, what it returns and which
lifecycle rules a caller must know before calling it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_PATH_PARAM = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")

# Where the API the records describe lives; a server's configuration may point elsewhere (a sandbox).
DEFAULT_API_BASE_URL = "https://api.coviu.com/v1"


class MethodClass(StrEnum):
    """The seed product's method classes, used by the `methods` filter."""

    READ = "read"
    WRITE = "write"
    CUSTOM = "custom"


class Pagination(StrEnum):
    """How a list endpoint pages: Coviu uses two styles, and some lists are not paged at all."""

    NONE = "none"
    PAGE = "page"  # page (0-based) + page_size -> {content, page, page_size, more}
    OFFSET = "offset"  # offset + limit -> {items, total}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectSchema(_Frozen):
    """A JSON Schema object whose properties become tool arguments."""

    properties: dict[str, dict[str, Any]] = Field(default_factory=dict)
    required: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _required_are_declared(self) -> ObjectSchema:
        missing = [name for name in self.required if name not in self.properties]
        if missing:
            raise ValueError(f"required names not among properties: {missing}")
        for name, prop in self.properties.items():
            if not prop.get("description"):
                raise ValueError(f"property {name!r} has no description")
        return self


class Response(_Frozen):
    kind: Literal["json", "binary"] = "json"
    # For binary responses: the media types the endpoint serves.
    content_types: tuple[str, ...] = ()
    # JSON Schema of the JSON body, as Coviu sends it (before any wrapping for MCP).
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")

    @model_validator(mode="after")
    def _binary_has_types(self) -> Response:
        if self.kind == "binary" and not self.content_types:
            raise ValueError("a binary response must list its content types")
        if self.kind == "binary" and self.schema_ is not None:
            raise ValueError("a binary response has no JSON schema")
        return self


class Record(_Frozen):
    """One documentation record: one tool."""

    resource: str = Field(pattern=_SNAKE.pattern)
    plural: str = Field(pattern=_SNAKE.pattern)
    method: str = Field(pattern=_SNAKE.pattern)
    http_method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(pattern=r"^/[A-Za-z0-9_/{}]*$")
    summary: str = Field(min_length=10)
    description: str = Field(min_length=20)
    constraints: tuple[str, ...] = ()
    tags: tuple[str, ...] = Field(min_length=1)
    # The path parameter that identifies the record itself (tool names say "_by_id" when set).
    id_param: str | None = None
    path_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    query: ObjectSchema = Field(default_factory=ObjectSchema)
    body: ObjectSchema = Field(default_factory=ObjectSchema)
    pagination: Pagination = Pagination.NONE
    response: Response = Field(default_factory=Response)

    @property
    def method_class(self) -> MethodClass:
        if self.method in ("list", "get"):
            return MethodClass.READ
        if self.method in ("create", "update", "delete"):
            return MethodClass.WRITE
        return MethodClass.CUSTOM

    @property
    def path_param_names(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @model_validator(mode="after")
    def _consistent(self) -> Record:
        in_path = self.path_param_names
        if set(in_path) != set(self.path_params):
            raise ValueError(
                f"path {self.path!r} has parameters {sorted(in_path)} "
                f"but path_params declares {sorted(self.path_params)}"
            )
        for name, prop in self.path_params.items():
            if not prop.get("description"):
                raise ValueError(f"path parameter {name!r} has no description")
        if self.id_param is not None and self.id_param not in in_path:
            raise ValueError(f"id_param {self.id_param!r} is not a parameter of {self.path!r}")
        if self.method in ("get", "update", "delete") and self.id_param is None and in_path:
            raise ValueError(f"a {self.method} record with path parameters must name its id_param")
        clashes = (set(in_path) & set(self.query.properties)) | (
            set(in_path) & set(self.body.properties)
        ) | (set(self.query.properties) & set(self.body.properties))
        if clashes:
            raise ValueError(f"argument names used in two places: {sorted(clashes)}")
        if self.pagination is not Pagination.NONE and self.method != "list":
            raise ValueError("only list records paginate")
        if self.body.properties and self.http_method in ("GET", "DELETE"):
            raise ValueError(f"a {self.http_method} record cannot take a body")
        return self
