"""publiccode.yml validated by the standard's rules (v0, https://yml.publiccode.tools) as the reference parser
(italia/publiccode-parser-go) applies them with network and file checks off.

What needs the network or the repository's other files is not checked: whether URLs answer, whether the logo,
screenshots and authors file exist and are images. Everything else is: supported version, required keys, types,
closed vocabularies, SPDX licence expression, URL, date, e-mail and language shapes, unknown keys.
Each problem is a (key path, message) pair; the key paths and messages follow the parser's.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import regex

import crawler.forges.publiccode.vocab as vocab

Issue = tuple[str, str]
WRONG_TYPE = "wrong type for this field"
DEPRECATED_DROP = "This key is DEPRECATED and will be removed in the future. It's safe to drop it"
_URN = re.compile(r"^urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,\-.:=@;$_!*'%/?#]+$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _oneof(values: tuple[str, ...]) -> str:
    quoted = [f'"{v}"' for v in values]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]


def is_url(value: str) -> bool:
    """A URL with a scheme and a host, fragment or opaque part (the parser's `url` rule)."""
    if not value or not _SCHEME.match(value):
        return False
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return False
    opaque = bool(parts.path) and not parts.path.startswith("/") and not parts.netloc
    return bool(parts.scheme) and bool(parts.netloc or parts.fragment or opaque)


def is_http_url(value: str) -> bool:
    if not is_url(value):
        return False
    parts = urllib.parse.urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _uri_parts(value: str) -> urllib.parse.SplitResult | None:
    """An absolute URI (or absolute path) as a request URI; None when it is neither."""
    if not value or not (value.startswith("/") or _SCHEME.match(value)) or " " in value:
        return None
    try:
        return urllib.parse.urlsplit(value)
    except ValueError:
        return None


def _organisation_uri(value: str, key: str) -> Issue | None:
    parts = _uri_parts(value)
    if parts is None:
        return (key, "uri is not a valid URI")
    if parts.scheme.lower() == "urn":
        if not _URN.match(value):
            return (key, "uri is not a valid URI")
        opaque = value[4:]
        if opaque.lower().startswith("x-italian-pa:") and opaque[13:].lower() not in vocab.ipa_codes():
            return (key, "uri must be a valid Italian Public Administration Code (iPA) with format "
                         "'urn:x-italian-pa:[codiceIPA]'")
        return None
    return None if parts.scheme and parts.netloc else (key, "uri is not a valid URI")


def _supports_id(value: str, key: str) -> Issue | None:
    if value.startswith("alias:"):
        return None if value[6:] in vocab.SUPPORTS_ALIASES else (key, "id contains an unknown alias")
    parts = _uri_parts(value)
    if parts is not None and parts.scheme.lower() == "urn":
        ok = bool(_URN.match(value))
    else:
        ok = parts is not None and bool(parts.scheme) and bool(parts.netloc)
    return None if ok else (key, "id must be a known alias ('alias:<name>') or a valid URI (URL or URN)")


def _is_date(value: str) -> bool:
    if not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class Checker:
    """One pass over a decoded publiccode.yml: `errors` and `warnings`, as (key path, message)."""

    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append((key, message))

    def warn(self, key: str, message: str) -> None:
        self.warnings.append((key, message))

    @staticmethod
    def graphemes(text: str) -> int:
        """Length in user-perceived characters (grapheme clusters), as the standard counts it."""
        return len(regex.findall(r"\X", text))

    # -- types ---------------------------------------------------------------------------------------------------
    def mapping(self, value: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        """A struct: {} when absent or of the wrong type (the error recorded), unknown keys reported."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(key, WRONG_TYPE)
            return {}
        for name in value:
            if not isinstance(name, str) or name not in allowed:
                self.error(f"{key}.{name}" if key else str(name), f'unknown field "{name}"')
        return {k: v for k, v in value.items() if isinstance(k, str) and k in allowed}

    def string(self, value: Any, key: str) -> str | None:
        """A scalar read as text (numbers too, as the parser's decoder does); None when absent or mistyped."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.error(key, WRONG_TYPE)
            return None
        return str(value)

    def boolean(self, value: Any, key: str) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            self.error(key, WRONG_TYPE)
            return None
        return value

    def strings(self, value: Any, key: str) -> list[str] | None:
        """A list of texts; None when absent or mistyped. Mistyped items are reported and left out."""
        if value is None:
            return None
        if not isinstance(value, list):
            self.error(key, WRONG_TYPE)
            return None
        out = []
        for i, item in enumerate(value):
            text = self.string(item, f"{key}[{i}]")
            if text is not None:
                out.append(text)
        return out

    def structs(self, value: Any, key: str, allowed: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            self.error(key, WRONG_TYPE)
            return None
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.error(f"{key}[{i}]", WRONG_TYPE)
                continue
            out.append((f"{key}[{i}]", self.mapping(item, f"{key}[{i}]", allowed)))
        return out

    # -- value rules ---------------------------------------------------------------------------------------------
    def required(self, value: str | None, key: str) -> str | None:
        if not value:
            self.error(key, f"{key.rsplit('.', 1)[-1]} is a required field")
            return None
        return value

    def oneof(self, value: str | None, key: str, values: tuple[str, ...], *, required: bool = True) -> None:
        if required and self.required(value, key) is None:
            return
        if value is not None and value not in values:
            self.error(key, f"{key.rsplit('.', 1)[-1]} must be one of the following: {_oneof(values)}")

    def url(self, value: Any, key: str, check: Callable[[str], bool] = is_http_url) -> str | None:
        text = self.string(value, key)
        if text is not None and not check(text):
            kind = "an HTTP URL" if check is is_http_url else "a valid URL"
            self.error(key, f"{key.rsplit('.', 1)[-1]} must be {kind}")
        return text

    def each(self, values: list[str] | None, key: str, ok: Callable[[str], bool], message: str) -> None:
        for i, value in enumerate(values or ()):
            if not ok(value):
                self.error(f"{key}[{i}]", f"{key.rsplit('.', 1)[-1]}[{i}] {message}")

    def non_empty(self, values: list[Any] | None, key: str) -> None:
        if not values:
            self.error(key, f"{key.rsplit('.', 1)[-1]} must contain more than 0 items")

    def date(self, value: Any, key: str, *, required: bool) -> None:
        text = self.string(value, key)
        if required and self.required(text, key) is None:
            return
        if text is not None and not _is_date(text):
            self.error(key, f"{key.rsplit('.', 1)[-1]} must be a date with format 'YYYY-MM-DD'")

    def email(self, value: Any, key: str) -> None:
        text = self.string(value, key)
        if text and not vocab.is_email(text):
            self.error(key, "email must be a valid email address")

    def file(self, value: Any, key: str, extensions: tuple[str, ...] | None) -> None:
        """A relative path or an HTTP(S) URL; its extension, when the standard restricts it (existence unchecked)."""
        text = self.string(value, key)
        if not text:
            return
        if text.startswith("/"):
            self.error(key, "is an absolute path. Only relative paths or HTTP(s) URLs allowed")
        elif text.startswith("file:"):
            self.error(key, "is a file:// URL. Only relative paths or HTTP(s) URLs allowed")
        elif extensions is not None:
            path = urllib.parse.urlsplit(text).path if _SCHEME.match(text) else text
            name = path.rsplit("/", 1)[-1]
            if "." not in name or "." + name.rsplit(".", 1)[-1].lower() not in extensions:
                self.error(key, f"invalid file extension for: {text}")
