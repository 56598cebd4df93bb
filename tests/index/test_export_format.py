"""Byte-level rules of the export formats."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from types import SimpleNamespace

import pytest

from index.export.codegouvfr import forge_licence_key
from index.export.format import (
    CsvWriter,
    csv_cell,
    csv_table,
    cut,
    gzip_bytes,
    iso,
    json_array,
    json_bytes,
    json_document,
    json_shares_bytes,
    json_sorted_bytes,
)


def test_json_is_strict_utf8_even_with_lone_surrogates():
    data = json_document({"b": ["\ud800 lone", "\u2028\u2029 line separators"], "a": "é"})
    text = data.decode("utf-8")  # strict: would raise on a raw surrogate
    assert json.loads(text) == {"a": "é", "b": ["\ud800 lone", "\u2028\u2029 line separators"]}
    assert "\u2028" not in text and text.startswith('{"a":"é","b":[\n')


def test_json_refuses_nan():
    with pytest.raises(ValueError):
        json_array([float("nan")])


@pytest.mark.parametrize("value", [
    {"a": "plain", "b": "é ü 漢字 😀", "c": "\u2028\u2029", "d": "\x00\x1f\x7f\t\n\"\\/"},
    {"a": "".join(map(chr, range(0x20))), "b": "".join(chr(c) for c in range(0x7f, 0x3000, 7))},
    {"a": [1, -1, 0, 2**63 - 1, -(2**63), True, False, None], "b": ("tuple", 1), "c": {}, "d": []},
    {"a": 2**64 + 1, "b": "beyond orjson's integers: the json module's"},
    {"a": "\ud800 lone surrogate: the json module's ASCII form"},
    {2: "a non-string key: the json module's"},
])
def test_rows_encode_as_the_json_module_would(value):
    """json_sorted_bytes (orjson) writes exactly json_bytes' bytes for a row built with sorted keys."""
    assert json_sorted_bytes(value) == json_bytes(value)


@pytest.mark.parametrize("value", [
    {"b": {"z": 1, "a": [{"y": None, "x": "é"}]}, "a": "\u2028", "é": 1, "e": 2, "\U0001f600": 3, "~": 4},
    {"share": 0.0, "one": 1.0, "low": 0.0001, "some": [round(i / 7, 4) for i in range(1, 40)], "big": 9.9999e15},
    {"a": 2**64 + 1, "b": "\ud800 lone surrogate", "c": [0.5]},
    {2: "a non-string key", 1: 0.25},
])
def test_status_entries_encode_as_the_json_module_would(value):
    """json_shares_bytes (orjson, sorting keys) writes json_bytes' bytes for floats rounded to 4 decimals."""
    assert json_shares_bytes(value) == json_bytes(value)


def test_status_shares_are_floats_orjson_writes_as_the_json_module():
    """Every share a status entry can hold (a ratio rounded to 4 decimals) has the same digits in both."""
    shares = {round(i / 10_000, 4) for i in range(10_001)} | {round(a / b, 4) for b in range(1, 300) for a in range(b)}
    assert json_shares_bytes(sorted(shares)) == json_bytes(sorted(shares))


def test_iso_is_utc_with_z():
    paris = dt.timezone(dt.timedelta(hours=2))
    assert iso(dt.datetime(2026, 6, 1, 14, 30, 5, 123456, tzinfo=paris)) == "2026-06-01T12:30:05Z"
    assert iso(None) is None
    with pytest.raises(ValueError):
        iso(dt.datetime(2026, 6, 1))  # noqa: DTZ001


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+33 1", "'+33 1"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"),
    ("\r=1", "'\r=1"), ("a=1", "a=1"), ("", ""), (None, ""), (-100, "-100"), (1.5, "1.5"), (True, "true"),
    (["-a", "b"], "'-a;b"), ("bell\x07null\x00esc\x1b", "bellnullesc"), ("\x00=1", "'=1"),
])
def test_csv_cells(value, cell):
    assert csv_cell(value) == cell


def test_csv_round_trips_rfc4180():
    rows = [{"a": 'say "hi", then\r\nleave', "b": 1}, {"a": None, "b": -2}]
    data = csv_table(["a", "b"], rows)
    assert data == b'a,b\r\n"say ""hi"", then\r\nleave",1\r\n,-2\r\n'
    assert list(csv.reader(io.StringIO(data.decode(), newline=""))) == [
        ["a", "b"], ['say "hi", then\r\nleave', "1"], ["", "-2"]]


def test_csv_blocks_and_verbatim_columns(monkeypatch):
    """Rows reach the sink in blocks (flush() hands over the rest): the same bytes as one block; a verbatim
    column's text is written as is, any other text is neutralised."""
    rows = [{"at": f"2026-11-0{i % 9 + 1}T00:00:00Z", "text": f"=cmd{i}\U0001F600", "n": i} for i in range(500)]
    whole = csv_table(["at", "text", "n"], rows)
    monkeypatch.setattr(CsvWriter, "FLUSH_AT", 100)
    pieces: list[bytes] = []
    writer = CsvWriter(SimpleNamespace(write=pieces.append), ["at", "text", "n"], verbatim=["at"])
    for row in rows:
        writer.writerow(row)
    writer.flush()
    assert len(pieces) > 100 and b"".join(pieces) == whole
    assert whole.splitlines()[1] == "2026-11-01T00:00:00Z,'=cmd0\U0001F600,0".encode()


def test_gzip_is_deterministic():
    assert gzip_bytes(b"x" * 1000) == gzip_bytes(b"x" * 1000)
    assert gzip.decompress(gzip_bytes(b"abc")) == b"abc"
    assert gzip_bytes(b"abc")[4:8] == b"\0\0\0\0"  # no mtime in the header


def test_cut_counts_characters():
    assert cut("é" * 130, 120) == "é" * 120 and cut(None, 120) == ""


@pytest.mark.parametrize(("spdx", "key"), [
    ("MIT", "mit"), ("AGPL-3.0-only", "agpl-3.0"), ("GPL-3.0-or-later", "gpl-3.0"), ("EUPL-1.2", "eupl-1.2"),
    ("CECILL-2.1", "cecill-2.1"), ("PostgreSQL", "postgresql"), ("Other", "other"), ("LiLiQ-R-1.1", "other"),
    (None, ""), ("", ""),
])
def test_forge_licence_keys(spdx, key):
    assert forge_licence_key(spdx) == key
