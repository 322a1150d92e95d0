"""Child processes that cannot outlive the test run.

Each component runs in its own session (so a Ctrl-C in the terminal reaches only the
Python process, which then stops the components in order) and is stopped by signalling
its whole process group. As a last resort against a parent killed with SIGKILL, children
started from the main thread ask the kernel to kill them when the parent dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
# Resolved once in the parent: the child, between fork and exec, must not load libraries.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


class ProcessExited(RuntimeError):
    """A component exited while it was expected to run."""


def _die_with_parent() -> None:
    """Runs in the child between fork and exec."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def _preexec() -> Callable[[], None] | None:
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so only use it from the
    # main thread, which lives as long as the interpreter.
    if _prctl is not None and threading.current_thread() is threading.main_thread():
        return _die_with_parent
    return None


class Process:
    """One running component with its output going to ``log_path``."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        with log_path.open("wb") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_preexec(),  # noqa: PLW1509 (only a prctl call, see above)
            )

    @property
    def pid(self) -> int:
        return self._popen.pid

    def running(self) -> bool:
        return self._popen.poll() is None

    def check_running(self) -> None:
        """Raise with the end of the log if the process has exited."""
        code = self._popen.poll()
        if code is not None:
            raise ProcessExited(
                f"{self.name} exited with code {code}; last lines of {self.log_path}:\n"
                + self.log_tail()
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(log unreadable: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL it if it does not exit in time.

        The group is signalled even after the leader exited, in case it left children.
        """
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)
        self._signal_group(signal.SIGKILL)
        self._popen.wait()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group is already gone
            os.killpg(self._popen.pid, sig)


def wait_until(
    condition: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    watch: Sequence[Process] = (),
    interval: float = 0.1,
) -> None:
    """Poll ``condition`` until it is true; fail early if a watched process exits."""
    deadline = time.monotonic() + timeout
    while True:
        for process in watch:
            process.check_running()
        if condition():
            return
        if time.monotonic() > deadline:
            tails = "".join(f"\n--- {p.name} ({p.log_path}):\n{p.log_tail()}" for p in watch)
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{tails}")
        time.sleep(interval)


def http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    """Whether a health endpoint answers 200 (any error counts as not yet)."""
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
