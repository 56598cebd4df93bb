"""The referencing status report's part of an export: `status/`, in the same atomic set as the other files.

The report reads the index on its own (index.status.report) and is independent of the other files, so on a big index
it is built in a second process while this one writes the rest: the export then uses both cores instead of
one. The child writes its files aside and hands them over (`AtomicFileSet.detach`); the parent renames them
with everything else, or removes them if the export fails. It reads its own snapshot, as the report always has.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import Engine, func, select

from index.export.atomic import AtomicFileSet
from index.export.writer import ExportWriter, Handed, HandedFiles, hand_over

CHILD_FROM_REPOSITORIES = 20_000  # below this, starting a process costs more than it saves


def write_status(writer: ExportWriter, engine: Engine, now: dt.datetime) -> None:
    """Every file of status/ into `writer` (see index.status.html)."""
    from index.status.html import iter_files
    from index.status.report import load_status

    for name, data in iter_files(load_status(engine, now=now)):
        writer.write(f"status/{name}", data)


def status_aside(url: str, out_dir: Path, now: dt.datetime) -> Handed:
    """The child's work: write status/ aside under `out_dir` and hand the files over, renamed by nobody yet."""
    from index.db import create_index_engine

    engine = create_index_engine(url)
    try:
        with AtomicFileSet() as file_set, ExportWriter(file_set, out_dir, gzip=False) as writer:
            write_status(writer, engine, now)
            return hand_over(file_set, writer)
    finally:
        engine.dispose()


class StatusJob(HandedFiles):
    """status/ being built by `python -m index.export.status_job` (a plain subprocess: no multiprocessing, so a
    caller's script needs no `__main__` guard); the database URL travels on its standard input, never in its
    command line. `collect` adopts the child's files into the parent's set."""

    def __init__(self, engine: Engine, out_dir: Path, now: dt.datetime):
        self._stdout = tempfile.TemporaryFile()
        self._stderr = tempfile.TemporaryFile()
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "index.export.status_job"], stdin=subprocess.PIPE, stdout=self._stdout,
            stderr=self._stderr, env=env)
        request = {"url": engine.url.render_as_string(hide_password=False), "out_dir": str(out_dir),
                   "now": now.isoformat()}
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request).encode("utf-8"))
        self._process.stdin.close()
        self._handed: Handed | None = None

    @staticmethod
    def wanted(engine: Engine, choice: bool | None) -> bool:
        """`choice` None: a child for a big index on a file or server database (not an in-memory SQLite)."""
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return False
        if choice is not None:
            return choice
        from index.models import Repository

        with engine.connect() as connection:
            count = connection.scalar(select(func.count()).select_from(Repository)) or 0
        return count >= CHILD_FROM_REPOSITORIES

    def _result(self) -> Handed:
        if self._handed is None:
            code = self._process.wait()
            self._stdout.seek(0)
            output = self._stdout.read()
            if code != 0:
                self._stderr.seek(0)
                lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
                raise RuntimeError(f"the status report could not be built (exit {code}): "
                                   f"{lines[-1] if lines else 'no message'}")
            self._handed = [tuple(item) for item in json.loads(output)]
        return self._handed

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.wait()
        self._stdout.close()
        self._stderr.close()


def main() -> int:
    gc.disable()  # a process for one report: no cycle to free, and each full pass walked every entry built
    request = json.loads(sys.stdin.buffer.read())
    handed = status_aside(request["url"], Path(request["out_dir"]), dt.datetime.fromisoformat(request["now"]))
    sys.stdout.write(json.dumps(handed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
