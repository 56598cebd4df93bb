"""Atomic export: a reader never sees half a file, and a failed export leaves the previous one whole."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from index.db import transaction
from index.export.atomic import AtomicFileSet, write_atomically
from index.export.build import export_index
from index.upsert import record_account_crawl, start_run, sync_configuration
from tests.index.factories import T0, crawl, repo, specs
from tests.support import wait_until


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_file_set_commits_all_or_nothing(tmp_path):
    write_atomically(tmp_path / "a.json", b'{"v":1}')
    write_atomically(tmp_path / "sub" / "b.json", b'{"v":1}')
    with pytest.raises(RuntimeError, match="crash"), AtomicFileSet() as files:
        files.write_bytes(tmp_path / "a.json", b'{"v":2}')
        with files.open(tmp_path / "sub" / "b.json") as handle:
            handle.write(b'{"v":')  # half written, then the writer dies
            raise RuntimeError("crash")
    assert (tmp_path / "a.json").read_bytes() == b'{"v":1}'  # a.json was complete, but the set was not
    assert (tmp_path / "sub" / "b.json").read_bytes() == b'{"v":1}'
    assert _temporaries(tmp_path) == []
    with AtomicFileSet() as files:
        files.write_bytes(tmp_path / "a.json", b'{"v":3}')
    assert (tmp_path / "a.json").read_bytes() == b'{"v":3}' and _temporaries(tmp_path) == []


def test_file_set_cannot_be_reused(tmp_path):
    files = AtomicFileSet()
    files.write_bytes(tmp_path / "a", b"1")
    files.commit()
    with pytest.raises(RuntimeError):
        files.write_bytes(tmp_path / "a", b"2")


def _index(engine, count: int, now: dt.datetime) -> None:
    run = start_run(engine)
    repos = [repo(i, f"r{i}", description=f"{'é' * 50} {now.isoformat()}") for i in range(1, count + 1)]
    record_account_crawl(engine, run, crawl("etalab", repos), now=now)


def test_reader_never_sees_a_partial_file(engine, tmp_path):
    with transaction(engine) as session:
        sync_configuration(session, specs())
    out = tmp_path / "export"
    _index(engine, 150, T0)
    export_index(engine, out, now=T0)
    stop = threading.Event()
    reads, problems = [], []

    def reader() -> None:
        while not stop.is_set():
            for name in ("repositories.json", "codegouvfr/codegouvfr-repositories.json", "stats.json"):
                try:
                    data = (out / name).read_bytes()
                    json.loads(data)
                    reads.append(len(data))
                except (ValueError, OSError) as exc:  # a JSON error, or the file missing for an instant
                    problems.append(f"{name}: {exc}")
            time.sleep(0.0005)  # let the exporter have the GIL now and then

    def two_whole_passes() -> bool:  # the reader read every file twice more: it saw the version now written
        attempts = len(reads) + len(problems)
        return wait_until(lambda: len(reads) + len(problems) >= attempts + 6, timeout=30)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(1, 5):  # each export changes every row, and the size of the files
            assert two_whole_passes()
            now = T0 + dt.timedelta(days=round_)
            _index(engine, 150 + 50 * round_, now)
            export_index(engine, out, now=now)
        assert two_whole_passes()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert problems == []
    assert len(reads) > 20 and len(set(reads)) > 3  # it did read, and did see several versions
    assert _temporaries(out) == []


@pytest.mark.parametrize("failing_call", [1, 2, 7])  # a JSON and its .gz twin open together, then later files
def test_failed_export_leaves_the_previous_one(engine, tmp_path, monkeypatch, failing_call):
    """The disk fills up in the middle of an export: every file stays as the previous export wrote it.
    (Files are flushed at commit, before any rename: here one fsync each, as where syncfs is missing.)"""
    from index.export import atomic

    monkeypatch.setattr(atomic, "_syncfs", lambda: None)
    with transaction(engine) as session:
        sync_configuration(session, specs())
    out = tmp_path / "export"
    _index(engine, 20, T0)
    export_index(engine, out, now=T0)
    before = _files(out)
    _index(engine, 30, T0 + dt.timedelta(days=1))
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == failing_call:  # some files already written aside, the rest not
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        export_index(engine, out, now=T0 + dt.timedelta(days=1))
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert calls["n"] == failing_call
    assert _files(out) == before
    assert _temporaries(out) == []
    report = export_index(engine, out, now=T0 + dt.timedelta(days=1))  # and the next one goes through
    assert report.repositories == 30 and _files(out) != before


def test_no_gzip_removes_stale_twins(engine, tmp_path):
    export_index(engine, tmp_path, now=T0)
    assert (tmp_path / "repositories.json.gz").is_file()
    export_index(engine, tmp_path, now=T0, gzip=False)
    assert not list(tmp_path.rglob("*.gz")) and (tmp_path / "repositories.json").is_file()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_files_are_flushed_once_per_filesystem(tmp_path, monkeypatch):
    """On Linux a commit flushes the set with one syncfs per filesystem, not one fsync per file."""
    from index.export import atomic

    calls = []
    real = atomic._syncfs()
    monkeypatch.setattr(atomic, "_syncfs", lambda: lambda fd: calls.append(fd) or real(fd))

    def no_fsync(fd: int) -> None:
        raise AssertionError("fsync called per file")

    monkeypatch.setattr(os, "fsync", no_fsync)
    paths = [tmp_path / "a", tmp_path / "b"]
    for path in paths:
        path.write_bytes(b"x")
    atomic.make_durable(paths)
    assert len(calls) == 1
