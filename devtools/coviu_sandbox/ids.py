"""Name-based ids: the same seed yields the same ids on every run."""

from __future__ import annotations

import itertools
from uuid import NAMESPACE_URL, uuid5


class IdFactory:
    def __init__(self, seed: int) -> None:
        self._namespace = uuid5(NAMESPACE_URL, f"https://coviu-sandbox.invalid/seed/{seed}")
        self._counters: dict[str, itertools.count[int]] = {}

    def make(self, kind: str, key: object) -> str:
        return str(uuid5(self._namespace, f"{kind}:{key}"))

    def client(self, client_id: str) -> str:
        """The uuid Coviu reports as ``client_id`` on records an OAuth client created."""
        return self.make("client", client_id)

    def next(self, kind: str) -> str:
        """A fresh id for a record created at run time, numbered per kind."""
        counter = self._counters.setdefault(kind, itertools.count())
        return self.make(f"created-{kind}", next(counter))
