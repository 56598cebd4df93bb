"""Byte-level formats of the export: canonical JSON, RFC 4180 CSV, deterministic gzip.

Same input, same bytes: keys sorted, compact separators, floats rounded before they get here, timestamps as
`YYYY-MM-DDTHH:MM:SSZ`, gzip without a timestamp or file name in its header. Large arrays are laid out one
element per line, which keeps the file valid JSON, small, and readable in a diff.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# C0 controls and DEL, but TAB, LF and CR, which CSV quoting carries
_CSV_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# a cell a spreadsheet would evaluate: =1+1, +cmd, -2+3, @SUM(...), and tab/CR tricks (OWASP "CSV injection")
_FORMULA_START = frozenset("=+-@\t\r")


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a "Z", to the second (sub-seconds are noise for a listing)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} in the export")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    # valid JSON either way, but JavaScript source (and some JSONP-era parsers) choke on raw U+2028/U+2029
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8: escape everything rather than fail
        text = json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text


def _array_lines(items: Sequence[Any]) -> str:
    if not items:
        return "[]"
    return "[\n" + ",\n".join(_dumps(item) for item in items) + "\n]"


def json_array(items: Sequence[Any]) -> bytes:
    """A top-level JSON array, one element per line."""
    return (_array_lines(items) + "\n").encode("utf-8")


def json_document(document: Mapping[str, Any]) -> bytes:
    """A top-level object with sorted keys; its array values get one element per line."""
    parts = []
    for key in sorted(document):
        value = document[key]
        rendered = _array_lines(value) if isinstance(value, list) else _dumps(value)
        parts.append(f"{_dumps(key)}:{rendered}")
    return ("{" + ",".join(parts) + "}\n").encode("utf-8")


def json_pretty(document: Mapping[str, Any]) -> bytes:
    """Small documents (stats, ministries): indented, still canonical."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n").encode("utf-8", errors="backslashreplace")


def gzip_bytes(data: bytes) -> bytes:
    """gzip with mtime=0 and no file name: the same input always compresses to the same bytes."""
    return gzip.compress(data, compresslevel=6, mtime=0)  # 9 costs ~3x the time for ~2% smaller files


def csv_cell(value: Any) -> str:
    """One CSV cell: text neutralised against formula injection, lists joined with ";", booleans as true/false."""
    kind = type(value)
    if kind is str:
        text = value
    elif value is None:
        return ""
    elif kind is bool:
        return "true" if value else "false"
    elif kind is int or kind is float:
        return str(value)  # numbers stay numbers, even negative ones
    elif kind is list or kind is tuple:
        text = ";".join(str(item) for item in value)
    else:
        text = str(value)
    text = _CSV_CONTROLS.sub("", text)
    if text[:1] in _FORMULA_START:
        text = "'" + text
    return text


def csv_table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote or a line break; UTF-8, no BOM."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8", errors="backslashreplace")


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become prefix_key columns (a null object leaves its columns empty)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            flat.update(flatten(item, f"{name}_"))
        else:
            flat[name] = item
    return flat


def blank_to_none(value: str | None) -> str | None:
    """Blank strings mean "none" on the forges."""
    return value if value and value.strip() else None


def cut(text: str | None, length: int) -> str:
    """At most `length` characters (code points), for the short-key files."""
    return (text or "")[:length]
