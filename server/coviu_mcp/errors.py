"""The proxy's error types. Each maps to one clear message for a model or an operator.

    ProxyError                    raised on purpose
    ├── ConfigError               a variable is missing or malformed: the process exits naming it
    ├── UpstreamUnavailableError  Coviu could not be reached, timed out or dropped the connection
    └── UpstreamAuthError         Coviu refused the OAuth credentials: the Secret needs fixing

`upstream.Unreachable` is outside the tree on purpose: the HTTP transports raise it to say
"no answer", and the Coviu client turns it into UpstreamUnavailableError with its context.
"""

from __future__ import annotations


class ProxyError(Exception):
    """Base of every error the proxy raises on purpose."""


class ConfigError(ProxyError):
    """A configuration value is missing or malformed; the message names the variable."""


class UpstreamUnavailableError(ProxyError):
    """Coviu could not be reached, timed out, or dropped the connection."""


class UpstreamAuthError(ProxyError):
    """Coviu refused this server's OAuth credentials: an operator must fix the Secret."""
