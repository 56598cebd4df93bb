"""Problems and the small value checks behind `crawler.config`.

Every check takes the text of a YAML scalar and returns what was expected when the value is wrong (None when it is
fine), so that the loader can report every mistake of a file at once instead of stopping at the first.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import yaml

UNKNOWN_PSO_ID = "00000000-0000-0000-0000-000000000000"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_FQDN = re.compile(rf"^(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# GitHub (classic and fine-grained), GitLab personal/project/group tokens, and long opaque hex or base64 blobs
_TOKEN_VALUE = re.compile(
    r"^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,}|gl[a-z]{2,4}-[A-Za-z0-9_\-]{20,})$"
)
_TOKEN_KEY = re.compile(r"token|passw|secret|api_?key|credential|bearer", re.IGNORECASE)
_LOGIN_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,38}$")


@dataclass(frozen=True)
class Problem:
    """One mistake in a configuration file, located precisely enough to fix it without reading the code."""

    file: str
    line: int | None
    key_path: str
    found: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key_path}: found {self.found}; expected {self.expected}"


class ConfigError(Exception):
    """The configuration is unusable; `problems` lists every mistake found, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Problems:
    """Collects problems for one file; nodes give the line, paths are dotted key names."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []

    def add(self, node: yaml.Node | None, path: tuple[str, ...], found: str, expected: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.items.append(Problem(self.file, line, ".".join(path) or "(top level)", found, expected))


def describe(node: yaml.Node) -> str:
    """How a value reads in an error message: its text for strings, its type for anything else."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    text = node.value if len(node.value) <= 80 else node.value[:77] + "..."
    if tag == "null":
        return "nothing"
    if tag == "str":
        if looks_like_token(node.value):
            return "a value that looks like a token (not shown)"
        return repr(text)
    kind = {"int": "number", "float": "number", "bool": "boolean", "timestamp": "date"}.get(tag, tag)
    return f"{kind} {text}"


def suggestion(word: str, known: list[str] | tuple[str, ...], cutoff: float = 0.6) -> str:
    """' (did you mean `owners`?)' for a near miss among `known`, else ''."""
    close = difflib.get_close_matches(word.lower().replace("-", "_"), list(known), n=1, cutoff=cutoff)
    return f" (did you mean `{close[0]}`?)" if close else ""


def looks_like_token(text: str) -> bool:
    return bool(_TOKEN_VALUE.match(text.strip()))


def is_token_key(key: str) -> bool:
    """A key that would hold a secret: `token`, `private_token`, `password`... (`token_env` is the allowed form)."""
    return key != "token_env" and bool(_TOKEN_KEY.search(key))


def check_host(text: str) -> str | None:
    if _FQDN.match(text):
        return None
    if "://" in text:
        return "a host name without scheme (e.g. 'gitlab.example.org'; put a full API URL in api_url)"
    if "/" in text:
        return "a host name without path (e.g. 'gitlab.example.org'; put a full API URL in api_url)"
    if ":" in text:
        return "a host name without port (put the port in api_url)"
    if text != text.lower() and _FQDN.match(text.lower()):
        return f"a lowercase host name ({text.lower()!r})"
    return "a fully qualified host name such as 'gitlab.example.org'"


def check_url(text: str) -> str | None:
    try:
        parts = urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", text)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        ok = False
    return None if ok else "an http(s) URL with a host, e.g. 'https://example.org/path'"


def check_uuid(text: str) -> str | None:
    if _UUID.match(text):
        return None
    if _UUID.match(text.lower()):
        return "a lowercase UUID"
    return f"a UUID from lannuaire.service-public.fr (8-4-4-4-12 lowercase hex; {UNKNOWN_PSO_ID} if unknown)"


def parse_date(text: str) -> tuple[dt.date | None, str | None]:
    """The date of a `YYYY-MM-DD` text, or what was expected."""
    expected = "a date YYYY-MM-DD"
    if not _DATE.match(text):
        return None, expected
    try:
        return dt.date.fromisoformat(text), None
    except ValueError:
        return None, "a real calendar date YYYY-MM-DD"


def check_env_name(text: str) -> str | None:
    if looks_like_token(text):
        return "the NAME of an environment variable holding the token, never the token itself"
    return None if _ENV_NAME.match(text) else "an environment variable name such as GITLAB_TOKEN"


def check_login(text: str, kind: str) -> str | None:
    """Forges differ in what an account name may hold; only GitLab has nested group paths."""
    if "://" in text or text.startswith("www."):
        return "an account login or group path, not a URL (e.g. 'etalab')"
    if kind == "github":
        return (
            None
            if _GITHUB_LOGIN.match(text)
            else "a GitHub login (letters, digits, '-', at most 39 characters)"
        )
    segments = text.split("/")
    if kind != "gitlab" and len(segments) > 1:
        return f"a {kind} account name without '/' (only GitLab has nested groups)"
    if all(_LOGIN_SEGMENT.match(s) for s in segments):
        return None
    return "an account name or group path (letters, digits, '_', '-', '.', segments joined by '/')"


def check_cron(text: str) -> str | None:
    """Five fields, and accepted by APScheduler, which will run it."""
    fields = text.split()
    if len(fields) != 5:
        return f"a cron expression with 5 fields (minute hour day month weekday), not {len(fields)}"
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(text, timezone=dt.UTC)
    except ValueError as exc:
        return f"a valid cron expression ({exc})"
    return None
