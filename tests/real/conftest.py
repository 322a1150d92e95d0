"""Real ``coviu-sandbox`` processes on loopback.

``sandbox_process`` is one sandbox for the whole run, shared by every real-process test: a test
that changes its faults, limits or data puts them back (``POST /_sandbox/reset``) when done.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .sandbox_process import SandboxProcess, start_sandbox


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[SandboxProcess]:
    with start_sandbox() as sandbox:
        yield sandbox
