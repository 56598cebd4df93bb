"""Logging set-up: readable lines on a terminal, or JSON lines (`--log-format json`) for log collectors.

Levels: codeindex's own loggers at WARNING, INFO with -v, DEBUG with -vv (INFO at least in JSON); the progress
logger (`crawler.progress`: one line per finished account, each run's end) at INFO always; the libraries'
loggers (Alembic, APScheduler, SQLAlchemy) at WARNING unless -vv, the HTTP clients' unless -vvv. In JSON every
line is one object, errors included (`error_event`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import Any

from crawler.secrets import redact

PROGRESS = "crawler.progress"
progress = logging.getLogger(PROGRESS)
LIBRARIES = ("alembic", "apscheduler", "graphql")
HTTP_CLIENTS = ("urllib3", "httpx", "httpcore", "github", "gitlab", "sqlalchemy")  # sqlalchemy: every SQL
_BASE_KEYS = ("time", "level", "logger", "message")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("forge", "account", "run_id", "status", "requests", "event"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):  # an event's data (e.g. a run's summary), beside the base keys
            for key, value in fields.items():
                if key not in _BASE_KEYS:
                    payload[key] = json.loads(redact(json.dumps(value, default=str)))
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(log_format: str = "text", verbose: int = 0) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        level = min(level, logging.INFO)
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    progress.setLevel(min(level, logging.INFO))
    for name in LIBRARIES:  # Alembic's "Context impl SQLiteImpl" on every command, APScheduler's job lines
        logging.getLogger(name).setLevel(logging.NOTSET if verbose >= 2 else logging.WARNING)
    # the HTTP clients log full URLs and headers at DEBUG (SQLAlchemy every statement); WARNING unless -vvv
    for name in HTTP_CLIENTS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)


def error_event(message: str, **fields: Any) -> None:
    """An error as one JSON line on stderr (under --log-format json), with `fields` beside the message."""
    logging.getLogger("codeindex").error(message, extra={"event": "error", "fields": fields})


def quiet_progress(quiet: bool) -> None:
    """Hide the per-account lines (while a terminal progress bar shows them), or show them again."""
    if quiet:
        progress.setLevel(logging.WARNING)
    else:
        progress.setLevel(min(logging.getLogger().level or logging.WARNING, logging.INFO))
