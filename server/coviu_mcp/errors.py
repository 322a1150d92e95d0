"""The proxy's error types. Each maps to one clear message for a model or an operator."""

from __future__ import annotations


class ProxyError(Exception):
    """Base of every error the proxy raises on purpose."""


class UpstreamUnavailableError(ProxyError):
    """Coviu could not be reached, timed out, or dropped the connection."""


class UpstreamAuthError(ProxyError):
    """Coviu refused this server's OAuth credentials: an operator must fix the Secret."""
