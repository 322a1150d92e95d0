"""The operator's failure kinds, and how each maps onto kopf's retry model.

    OperatorError
    ├── SettingsError      the operator's own environment is invalid: it exits naming each variable.
    ├── PluginError        a problem the kubectl plugin reports to its user, saying what to do.
    ├── InputError         a referenced Secret or a filter is missing or malformed, or a child's
    │                      name is taken by an object the server does not control. Reported in
    │                      the conditions; nothing is retried on a timer, because the Secret and
    │                      CoviuMCPServer watches wake the server the moment the input changes.
    └── KubeError          a Kubernetes API request failed.
        ├── TransientKubeError   timeouts, connection errors, 409, 429 and 5xx: the server's loop
        │                        retries after 1, 2, 4 ... 30 s, or at once when a watch event
        │                        shows the API server is back.
        └── RejectedKubeError    any other 4xx (forbidden, invalid): reported as Ready=False with
                                 reason ApplyFailed and retried at the resync interval, since only
                                 a change of RBAC, admission policy or spec can fix it.

Anything else a reconcile raises is a bug or an answer the operator cannot read: the
server's loop reports it (Ready=False, reason ReconcileFailed, a Warning Event, the error
count) and retries with backoff, so it never becomes a crash loop of the kopf daemon.
Messages never include secret values.
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base of the errors the operator raises on purpose."""


class SettingsError(OperatorError):
    """The operator's environment is invalid; the message names each variable."""


class PluginError(OperatorError):
    """A problem to report to the kubectl plugin's user; the message says what to do."""


class InputError(OperatorError):
    """An input the server depends on is unusable; `reason` becomes the condition reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class KubeError(OperatorError):
    """A Kubernetes API request failed; `status` is the HTTP status (0 when none arrived)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class TransientKubeError(KubeError):
    """Worth retrying soon: the API server is busy, restarting or the object just changed."""


class RejectedKubeError(KubeError):
    """The API server refused the request; retrying unchanged will not help."""


TRANSIENT_STATUSES = frozenset({0, 408, 409, 429, 500, 502, 503, 504})


def kube_error(message: str, status: int) -> KubeError:
    """Classify a failed request by its HTTP status."""
    if status in TRANSIENT_STATUSES:
        return TransientKubeError(message, status)
    return RejectedKubeError(message, status)
