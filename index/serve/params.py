"""Query parameters of the API, each validated: a bad one is a 400 whose message names it."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_QUERY = 200  # characters of a search
MAX_TEXT = 300  # characters of any other text parameter
MAX_DAYS = 36_500
SORTS = ("stars", "activity", "score", "name")
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$")
ACTIVITY_TIME = "%Y-%m-%dT%H:%M:%SZ"  # as the API writes times
SPDX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,99}$")
REPOSITORY_PARAMETERS = frozenset({"q", "ministry", "account", "forge", "license", "language", "archived", "fork",
                                   "publiccode", "active_days", "sort", "limit", "cursor", "facets"})


class BadParameter(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass(frozen=True)
class Filters:
    q: str = ""
    ministry: str | None = None  # "none": accounts without a ministry
    account: tuple[str, str] | None = None  # (host, login)
    forge: str | None = None
    license: str | None = None  # SPDX id, or "none"
    language: str | None = None
    archived: bool | None = None
    fork: bool | None = None
    publiccode: bool | None = None
    active_days: int | None = None

    def query_string(self) -> dict[str, str]:
        """The filters as query parameters (the page's links keep them)."""
        out: dict[str, str] = {}
        for name in ("q", "ministry", "forge", "license", "language", "active_days"):
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = str(value)
        if self.account:
            out["account"] = "/".join(self.account)
        for name in ("archived", "fork", "publiccode"):
            value = getattr(self, name)
            if value is not None:
                out[name] = "true" if value else "false"
        return out


@dataclass(frozen=True)
class Listing:
    filters: Filters = field(default_factory=Filters)
    sort: str = "stars"
    limit: int = DEFAULT_LIMIT
    cursor: tuple[Any, int] | None = None
    facets: bool = True


def _text(params: Mapping[str, str], name: str, limit: int = MAX_TEXT) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if len(value) > limit:
        raise BadParameter(name, f"at most {limit} characters")
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise BadParameter(name, "control characters are not allowed")
    return value.strip() or None


def _bool(params: Mapping[str, str], name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value.lower() not in BOOLEANS:
        raise BadParameter(name, "true or false")
    return BOOLEANS[value.lower()]


def _int(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise BadParameter(name, f"a whole number from {low} to {high}")
    number = int(value)
    if not low <= number <= high:
        raise BadParameter(name, f"a whole number from {low} to {high}")
    return number


def filters(params: Mapping[str, str]) -> Filters:
    account = _text(params, "account")
    host_login = None
    if account is not None:
        host, _, login = account.removeprefix("https://").partition("/")
        if not HOST.match(host.lower()) or not login.strip("/"):
            raise BadParameter("account", "host/login, e.g. github.com/etalab")
        host_login = (host.lower(), login.strip("/"))
    forge = _text(params, "forge")
    if forge is not None and not HOST.match(forge.lower()):
        raise BadParameter("forge", "a forge host name, e.g. gitlab.com")
    licence = _text(params, "license")
    if licence is not None and licence.lower() != "none" and not SPDX.match(licence):
        raise BadParameter("license", 'an SPDX id (e.g. MIT, EUPL-1.2) or "none"')
    return Filters(
        q=_text(params, "q", MAX_QUERY) or "",
        ministry=_text(params, "ministry"),
        account=host_login,
        forge=forge.lower() if forge else None,
        license="none" if licence is not None and licence.lower() == "none" else licence,
        language=_text(params, "language"),
        archived=_bool(params, "archived"),
        fork=_bool(params, "fork"),
        publiccode=_bool(params, "publiccode"),
        active_days=_int(params, "active_days", 1, MAX_DAYS),
    )


def listing(params: Mapping[str, str]) -> Listing:
    unknown = sorted(set(params) - REPOSITORY_PARAMETERS)
    if unknown:
        raise BadParameter(unknown[0][:50], "unknown parameter")
    sort = params.get("sort") or "stars"
    if sort not in SORTS:
        raise BadParameter("sort", "one of " + ", ".join(SORTS))
    limit = _int(params, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
    facets = _bool(params, "facets")
    return Listing(filters(params), sort, limit, decode_cursor(params.get("cursor"), sort),
                   True if facets is None else facets)


def encode_cursor(sort: str, value: Any, row_id: int) -> str:
    raw = json.dumps([sort, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None, sort: str) -> tuple[Any, int] | None:
    if not text:
        return None
    if len(text) > 1000:
        raise BadParameter("cursor", "too long")
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise BadParameter("cursor", "not a cursor this API gave") from None
    if not (isinstance(data, list) and len(data) == 3 and data[0] == sort and isinstance(data[2], int)
            and not isinstance(data[2], bool)):
        raise BadParameter("cursor", "not a cursor for this sort")
    value = data[1]
    expected = str if sort in ("name", "activity") else int
    if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
        raise BadParameter("cursor", "not a cursor for this sort")
    if isinstance(value, int) and abs(value) > 2**62 or abs(data[2]) > 2**62:
        raise BadParameter("cursor", "out of range")
    if sort == "activity" and isinstance(value, str) and value:
        try:
            dt.datetime.strptime(value, ACTIVITY_TIME).replace(tzinfo=dt.UTC)
        except ValueError:
            raise BadParameter("cursor", "not a cursor for this sort") from None
    return value, data[2]
