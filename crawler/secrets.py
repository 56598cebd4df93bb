"""Tokens: read from the environment only, and scrubbed from anything printed or stored.

Every token read through `token_from_env` is remembered so that `redact` can remove it from log lines, error
messages and stored outcomes, whatever path the text took to get there.
"""

from __future__ import annotations

import os
import re

_KNOWN: set[str] = set()
# shapes of GitHub and GitLab tokens, redacted even if they never went through token_from_env
_PATTERNS = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,})\b")


def remember(token: str) -> str:
    if token and len(token) >= 6:
        _KNOWN.add(token)
    return token


def token_from_env(name: str) -> list[str]:
    """The tokens in environment variable `name` (comma-separated for a pool), remembered for redaction."""
    raw = os.environ.get(name, "")
    return [remember(t.strip()) for t in raw.split(",") if t.strip()]


def redact(text: str) -> str:
    for token in sorted(_KNOWN, key=len, reverse=True):
        if token in text:
            text = text.replace(token, "***")
    return _PATTERNS.sub("***", text)
