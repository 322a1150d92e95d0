"""The sandbox's configuration: one frozen model built from the command line (or by a test)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

GIB = 1024**3


class FaultSettings(BaseModel):
    """Misbehaviour injected into API requests (everything under ``/v1`` except the token endpoint).

    Shares are probabilities drawn from a RNG seeded with the sandbox seed, so a given sequence
    of requests meets the same faults on every run. Fields left out mean "off".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float = Field(default=0, ge=0, le=60_000, description="delay added before each request is handled")
    error_rate: float = Field(default=0, ge=0, le=1, description="share of requests answered with error_status")
    error_status: int = Field(default=503, ge=500, le=599, description="status of the injected server errors")
    drop_rate: float = Field(
        default=0, ge=0, le=1, description="share of requests whose connection is closed unanswered"
    )
    slow_body_delay_ms: float = Field(default=0, ge=0, le=10_000, description="pause between body chunks; 0 = off")
    slow_body_chunk_bytes: int = Field(default=1024, ge=1, le=1024 * 1024, description="size of the slowed chunks")


class RateLimitSettings(BaseModel):
    """A fixed window per OAuth client: at most ``limit`` API requests per ``window_s`` seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int = Field(default=0, ge=0, description="requests allowed per window; 0 = unlimited")
    window_s: float = Field(default=60, gt=0, le=86_400)


class SandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str = Field(default="sandbox-client", min_length=1)
    client_secret: str = Field(default="sandbox-secret", min_length=1)
    seed: int = Field(default=1, ge=0, description="drives every generated id, name and byte")
    token_ttl_s: int = Field(default=3600, ge=1, description="lifetime of access tokens")
    large_recording_bytes: int = Field(default=GIB, ge=0, description="size of the seeded large audio recording")
    rate_limit: RateLimitSettings = RateLimitSettings()
    faults: FaultSettings = FaultSettings()
