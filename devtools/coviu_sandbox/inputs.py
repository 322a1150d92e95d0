"""Request bodies and query strings, validated into frozen models.

Bodies are validated strictly (a number is not a string, a string is not a list); query strings
are text by nature and coerced. Unknown fields and parameters are ignored, like Coviu does; a
known one with a bad value is a 400 that names it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from starlette.datastructures import QueryParams
from starlette.requests import Request

from coviu_sandbox.errors import BadRequest, PayloadTooLarge
from coviu_sandbox.models import Role
from coviu_sandbox.timestamps import parse_timestamp


def _to_timestamp(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "date_time", "expected a date-time string, got {kind}", {"kind": type(value).__name__}
        )
    try:
        return parse_timestamp(value)
    except ValueError as error:
        raise PydanticCustomError("date_time", "{reason}", {"reason": str(error)}) from None


def _to_role(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


DateTimeInput = Annotated[datetime, BeforeValidator(_to_timestamp)]
RoleInput = Annotated[Role, BeforeValidator(_to_role)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)


class _Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ParticipantCreate(_Body):
    display_name: Text
    role: RoleInput
    picture: Text | None = None
    state: Text | None = None
    phone: Text | None = None


class SessionCreate(_Body):
    session_name: Text
    start_time: DateTimeInput
    end_time: DateTimeInput
    picture: Text | None = None
    participants: list[ParticipantCreate] = Field(default_factory=list, max_length=50)
    feature_flags: list[Text] = Field(default_factory=list, max_length=50)


class _Update(_Body):
    @model_validator(mode="after")
    def _not_empty(self) -> _Update:
        if not any(getattr(self, name) is not None for name in type(self).model_fields):
            names = ", ".join(type(self).model_fields)
            raise PydanticCustomError("empty_update", "set at least one of: {names}", {"names": names})
        return self

    def changes(self) -> dict[str, Any]:
        return {name: value for name, value in self if value is not None}


class SessionUpdate(_Update):
    session_name: Text | None = None
    start_time: DateTimeInput | None = None
    end_time: DateTimeInput | None = None
    picture: Text | None = None


class ParticipantUpdate(_Update):
    display_name: Text | None = None
    picture: Text | None = None
    role: RoleInput | None = None
    state: Text | None = None


class SessionListQuery(_Query):
    page: int = Field(default=0, ge=0)
    page_size: int = Field(default=200, ge=1, le=200)
    start_time: DateTimeInput | None = None
    end_time: DateTimeInput | None = None
    order: Literal["forward", "reverse"] = "forward"
    include_canceled: bool = False
    deleted_participants: bool = False
    state: str | None = None


class DeletedParticipantsQuery(_Query):
    deleted_participants: bool = False


class SubmissionListQuery(_Query):
    from_: DateTimeInput | None = Field(default=None, alias="from")
    until: DateTimeInput | None = None
    filter: str | None = None
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0)
    order: Literal["asc", "desc"] = "asc"
    order_by: Literal["created_at", "updated_at"] = Field(default="created_at", alias="orderBy")


class SubmissionFileQuery(_Query):
    quality: Literal["480p"] = "480p"


ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_BODY_BYTES = 1024 * 1024


async def read_body(request: Request) -> bytes:
    """The request body, refused once it grows past :data:`MAX_BODY_BYTES`.

    Raises:
        PayloadTooLarge: the declared or actual body is too large.
    """
    too_large = PayloadTooLarge("body_too_large", f"the request body is larger than {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


async def read_model(request: Request, model: type[ModelT]) -> ModelT:
    return parse_body(model, await read_body(request))


def parse_body(model: type[ModelT], raw: bytes) -> ModelT:
    """Validate a JSON request body.

    Raises:
        BadRequest: the body is not JSON, not an object, or a field is missing or wrong.
    """
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise BadRequest("invalid_json", f"the request body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise BadRequest("invalid_body", f"the request body must be a JSON object, got {type(document).__name__}")
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise BadRequest("invalid_body", f"invalid request body: {_describe(error)}") from None


def parse_query(model: type[ModelT], params: QueryParams) -> ModelT:
    """Validate query parameters.

    Raises:
        BadRequest: a known parameter has a value it cannot take.
    """
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        raise BadRequest("invalid_query", f"invalid query parameter {_describe(error)}") from None


def _describe(error: ValidationError) -> str:
    problems = []
    for detail in error.errors(include_url=False):
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in detail["loc"])
        problems.append(f"{location.lstrip('.') or 'body'}: {detail['msg']}")
    return "; ".join(problems)
