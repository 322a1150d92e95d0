"""The sandbox's error types and the one JSON shape they are rendered in.

Every failure leaves the server as ``{"error": {"code": ..., "message": ...}}`` with a 4xx status
(5xx only when a fault is injected on purpose)::

    SandboxError
    ├── BadRequest            400  validation and lifecycle violations
    ├── Unauthorized          401  missing, expired, forged or revoked bearer tokens
    ├── Forbidden             403  entry links that may no longer be used
    ├── NotFound              404  unknown ids, cancelled sessions
    ├── PayloadTooLarge       413  request bodies over the size limit
    ├── RangeNotSatisfiable   416  byte ranges outside a binary
    └── RateLimited           429  the client's request window is used up
"""

from __future__ import annotations

from collections.abc import Mapping

from coviu_sandbox.responses import JSONResponse


class SandboxError(Exception):
    status_code = 400

    def __init__(self, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(SandboxError):
    status_code = 400


class Unauthorized(SandboxError):
    status_code = 401


class Forbidden(SandboxError):
    status_code = 403


class NotFound(SandboxError):
    status_code = 404


class PayloadTooLarge(SandboxError):
    status_code = 413


class RangeNotSatisfiable(SandboxError):
    status_code = 416

    def __init__(self, message: str, size: int) -> None:
        super().__init__("range_not_satisfiable", message, {"Content-Range": f"bytes */{size}"})


class RateLimited(SandboxError):
    status_code = 429


def error_response(status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code, headers=headers)


def render(error: SandboxError) -> JSONResponse:
    return error_response(error.status_code, error.code, error.message, error.headers)
