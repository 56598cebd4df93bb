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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import orjson

# C0 controls and DEL, but TAB, LF and CR, which CSV quoting carries
_CSV_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# a cell a spreadsheet would evaluate: =1+1, +cmd, -2+3, @SUM(...), and tab/CR tricks (OWASP "CSV injection")
_FORMULA_START = frozenset("=+-@\t\r")


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a "Z", to the second (sub-seconds are noise for a listing)."""
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:  # the index hands back UTC: others are converted, naive ones refused
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in the export")
        value = value.astimezone(dt.UTC)
    if value.year < 1000:  # isoformat pads such years, strftime does not: keep the output they always had
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat(timespec="seconds")[:19] + "Z"  # several times faster than strftime


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, sort_keys=True, separators=(",", ":"), allow_nan=False)
_IN_ORDER_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_IN_ORDER_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


class EncodedJSON(bytes):
    """A value already encoded by json_bytes, spliced as is where it appears as an array element (a status
    document repeats every account's entry in its ministry's document: each is encoded once)."""


def json_bytes(value: Any) -> bytes:
    """Canonical compact JSON as UTF-8: keys sorted, no NaN, U+2028/U+2029 escaped."""
    if type(value) is EncodedJSON:
        return value
    return _encoded(value, _ENCODER, _ASCII_ENCODER)


def json_sorted_bytes(value: Any) -> EncodedJSON:
    """json_bytes for a row whose dicts were built with their keys in sorted order, at every level, and that
    holds no float: the same bytes, encoded by orjson without sorting (the export encodes ~250,000 rows at x10,
    ~10x faster than the json module). orjson would write a float in another notation (1e-5 for 1e-05) and NaN
    as null, hence no floats in rows (tests walk full rows for both rules); what orjson refuses (an integer
    beyond 64 bits, a lone surrogate, a non-string key) goes through the json module, as json_bytes would."""
    try:
        data = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError included
        return EncodedJSON(_encoded(value, _IN_ORDER_ENCODER, _IN_ORDER_ASCII_ENCODER))
    return EncodedJSON(_line_separators_escaped(data))


def json_shares_bytes(value: Any) -> EncodedJSON:
    """json_bytes, encoded by orjson, which sorts the keys itself, for a document whose only floats are shares
    rounded to 4 decimals (the status report's entries, ~100 MB at ten times code.gouv.fr's size). For 0 and
    for magnitudes from 1e-4 to 1e16 orjson writes the digits the json module does; below 1e-4 it would not
    (0.00001 for 1e-05), nor for NaN (null, where json_bytes refuses it). What orjson refuses goes through
    json_bytes, as in json_sorted_bytes."""
    try:
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError included
        return EncodedJSON(json_bytes(value))
    return EncodedJSON(_line_separators_escaped(data))


def _encoded(value: Any, encoder: json.JSONEncoder, ascii_encoder: json.JSONEncoder) -> bytes:
    try:
        data = encoder.encode(value).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8: escape everything rather than fail
        return ascii_encoder.encode(value).encode("ascii")
    return _line_separators_escaped(data)


def _line_separators_escaped(data: bytes) -> bytes:
    """Valid JSON, but JavaScript source (and JSONP-era parsers) choke on raw U+2028/9: escaped."""
    if b"\xe2\x80" in data:
        data = data.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return data


def json_array_chunks(items: Iterable[Any]) -> Iterator[bytes]:
    """A JSON array, one element per line, in pieces: the items may be a generator, never all in memory."""
    opening = b"[\n"
    for item in items:
        yield opening + json_bytes(item)
        opening = b",\n"
    yield b"[]" if opening == b"[\n" else b"\n]"


def json_document_chunks(document: Mapping[str, Any]) -> Iterator[bytes]:
    """A top-level object with sorted keys, in pieces; its list (or generator) values get one element per line."""
    separator = b"{"
    for key in sorted(document):
        value = document[key]
        yield separator + json_bytes(key) + b":"
        if isinstance(value, list | Iterator):
            yield from json_array_chunks(value)
        else:
            yield json_bytes(value)
        separator = b","
    yield b"{}\n" if separator == b"{" else b"}\n"


class JsonArrayWriter:
    """A top-level JSON array written element by element into a byte sink, one element per line: for files
    produced side by side in one pass over the rows (json_array writes through it too)."""

    def __init__(self, sink: Any):
        self._sink = sink
        self.count = 0

    def append(self, item: Any) -> None:
        self._sink.write((b",\n" if self.count else b"[\n") + json_bytes(item))
        self.count += 1

    def close(self) -> None:
        self._sink.write(b"\n]\n" if self.count else b"[]\n")


def json_array(items: Iterable[Any]) -> bytes:
    """A top-level JSON array, one element per line (JsonArrayWriter's bytes, all at once)."""
    pieces: list[bytes] = []
    writer = JsonArrayWriter(SimpleNamespace(write=pieces.append))
    for item in items:
        writer.append(item)
    writer.close()
    return b"".join(pieces)


def json_document(document: Mapping[str, Any]) -> bytes:
    """A top-level object with sorted keys; its array values get one element per line."""
    return b"".join(json_document_chunks(document))


def json_pretty(document: Mapping[str, Any]) -> bytes:
    """Small documents (stats, ministries): indented, still canonical."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n").encode("utf-8", errors="backslashreplace")


GZIP_LEVEL = 6  # 9 costs ~3x the time for ~2% smaller files


def gzip_stream(fileobj: Any) -> gzip.GzipFile:
    """A gzip writer whose output depends on the data only: no file name, mtime 0, the OS byte "unknown"
    (gzip.compress writes the platform's), so the same input compresses to the same bytes on every machine."""
    return gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=fileobj, mtime=0)


def gzip_bytes(data: bytes) -> bytes:
    """`data` compressed as the export's .gz twins are (gzip_stream)."""
    buffer = io.BytesIO()
    with gzip_stream(buffer) as packed:
        packed.write(data)
    return buffer.getvalue()


def csv_cell(value: Any) -> str:
    """One CSV cell: text neutralised against formula injection, lists joined with ";", booleans as true/false."""
    kind = type(value)
    text: str
    if kind is str:
        text = value
    elif value is None:
        return ""
    elif kind is bool:
        return "true" if value else "false"
    elif kind is int or kind is float:
        return str(value)  # numbers stay numbers, even negative ones
    elif kind is list or kind is tuple:  # objects in a list (publiccode problems) as "key: message"
        text = ";".join(": ".join(map(str, item.values())) if type(item) is dict else str(item) for item in value)
    else:
        text = str(value)
    if not text.isprintable():  # printable text holds no control character: skip the regex for most cells
        text = _CSV_CONTROLS.sub("", text)
    if text[:1] in _FORMULA_START:
        text = "'" + text
    return text


class CsvWriter:
    """RFC 4180 rows into a byte sink (anything with `write(bytes)`): CRLF line ends, fields quoted when they hold
    a comma, a quote or a line break; UTF-8, no BOM. A nested object's fields are `key_field` columns.

    Rows are formatted into a text buffer and handed to the sink in blocks: `flush()` when done. `verbatim`
    columns hold text the export made itself (timestamps): csv_cell's neutralisation is skipped for them."""

    FLUSH_AT = 1 << 16  # characters

    def __init__(self, sink: Any, columns: Sequence[str], verbatim: Iterable[str] = ()):
        self._sink = sink
        self._columns = tuple(columns)
        self._verbatim = frozenset(verbatim)
        self._text = io.StringIO()
        self._writer = csv.writer(self._text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self._writer.writerow(self._columns)
        self._cells: Any = None  # compiled from the first record (_compile_cells)
        self.rows = 0

    def flush(self) -> None:
        """Hand what is formatted to the sink."""
        text = self._text.getvalue()
        if text:
            self._sink.write(text.encode("utf-8", errors="backslashreplace"))
            self._text.seek(0)
            self._text.truncate()

    def writerow(self, record: Mapping[str, Any]) -> None:
        """One record; the columns are mapped to its keys once, from the first record (records share one shape)."""
        cells = self._cells
        if cells is None:
            plan = _column_plan(self._columns, record)
            cells = self._cells = _compile_cells(plan, [column in self._verbatim for column in self._columns])
        self._writer.writerow(cells(record))
        self.rows += 1
        if self._text.tell() >= self.FLUSH_AT:
            self.flush()


def _compile_cells(plan: Sequence[tuple[str, str | None]], verbatim: Sequence[bool]) -> Any:
    """A function listing a record's cells, compiled once from the column plan, as namedtuple and dataclasses
    compile theirs: a repository row has 62 cells, and interpreting the plan cell by cell cost as much as the
    csv module's own formatting. Verbatim columns, None and int cells go to the csv module as they are (it
    writes "" and str(n)), so does text csv_cell would leave as it is (printable, no formula); every other
    value goes through csv_cell. Keys are our column names, written as literals."""
    cells = []
    for (key, sub), as_is in zip(plan, verbatim, strict=True):
        value = f"r.get({key!r})" if sub is None else f"(p.get({sub!r}) if type(p := r.get({key!r})) is dict else None)"
        cells.append(value if as_is else f"(v if (t := type(v := {value})) is str and v.isprintable() and "
                     f"v[:1] not in formula or t is int or v is None else cell(v))")
    source = "def cells(r):\n    return [\n        " + ",\n        ".join(cells) + ",\n    ]\n"
    namespace: dict[str, Any] = {"cell": csv_cell, "formula": _FORMULA_START}
    exec(compile(source, "<csv cells>", "exec"), namespace)  # noqa: S102 - our own source, literals by repr()
    return namespace["cells"]


def _column_plan(columns: Sequence[str], record: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """Per column, (key, None) for a top-level value or (key, sub) for `key_sub` inside a nested object (one level
    deep, as the exported records are; a nested object that is null leaves its columns empty)."""
    parents = [k for k, v in record.items() if v is None or isinstance(v, dict)]
    plan: list[tuple[str, str | None]] = []
    for column in columns:
        if column in record and not isinstance(record[column], dict):
            plan.append((column, None))
            continue
        parent = max((k for k in parents if column.startswith(f"{k}_")), key=len, default=None)
        plan.append((parent, column[len(parent) + 1:]) if parent is not None else (column, None))
    return plan


def csv_table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """A whole CSV table as bytes (see CsvWriter)."""
    pieces: list[bytes] = []
    writer = CsvWriter(SimpleNamespace(write=pieces.append), columns)
    for row in rows:
        writer.writerow(row)
    writer.flush()
    return b"".join(pieces)


def blank_to_none(value: str | None) -> str | None:
    """Blank strings mean "none" on the forges (isspace: strip's test, without copying the text)."""
    return value if value and not value.isspace() else None


def cut(text: str | None, length: int) -> str:
    """At most `length` characters (code points), for the short-key files."""
    return (text or "")[:length]
