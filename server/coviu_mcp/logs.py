"""Log lines as `message key=value ...`: readable by people, parseable by log pipelines.

Only fields passed explicitly through `extra` are printed, which keeps what reaches logs a
deliberate choice at each call site (tool names, outcomes, timings), never request data.
"""

from __future__ import annotations

import logging

_STANDARD = set(vars(logging.makeLogRecord({})))


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and k != "message")
        return f"{line} {fields}" if fields else line


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; uvicorn's access log would print the URL token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("mcp").setLevel(max(logging.WARNING, root.level))
