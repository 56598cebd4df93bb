"""Part of an export written by a forked copy of this process, beside the rest: the read model is read once and
shared (copy-on-write), and the two processes encode files on both cores.

The child writes its files aside (`AtomicFileSet`) and hands them over on a pipe (`detach`, as the status
process does); the parent puts them in place with everything else (`adopt`), or removes them if the export
fails. The child never touches the database: it exits with `os._exit`, so nothing inherited (connections,
the parent's file sets) is closed or finalised from there.

Forking is only safe in a process with one thread (another thread may hold a lock the child would wait on
forever) and where `os.fork` exists: elsewhere `ForkedFiles.start` returns None and the caller writes the
same files itself.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from index.export.atomic import AtomicFileSet
from index.export.writer import ExportWriter, Handed, HandedFiles, hand_over


class ForkedFiles(HandedFiles):
    """`work(writer)` running in a forked child; `collect` adopts its files, `abandon` removes them."""

    def __init__(self, pid: int, reader: int):
        self._pid = pid
        self._reader = reader
        self._handed: Handed | None = None

    @classmethod
    def possible(cls) -> bool:
        return hasattr(os, "fork") and threading.active_count() == 1

    @classmethod
    def start(cls, out_dir: Path, gzip: bool, work: Callable[[ExportWriter], None]) -> ForkedFiles | None:
        """Fork and run `work` in the child; None where forking is not safe (see the module's docstring)."""
        if not cls.possible():
            return None
        reader, writer = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(reader)
            _child(writer, out_dir, gzip, work)
        os.close(writer)
        return cls(pid, reader)

    def _result(self) -> Handed:
        if self._handed is None:
            chunks = []
            while chunk := os.read(self._reader, 1 << 16):
                chunks.append(chunk)
            os.close(self._reader)
            _, status = os.waitpid(self._pid, 0)
            message = json.loads(b"".join(chunks) or b'{"error": "no answer"}')
            if os.waitstatus_to_exitcode(status) != 0 or "error" in message:
                raise RuntimeError(f"part of the export could not be written: {message.get('error')}")
            self._handed = [tuple(item) for item in message["files"]]
        return self._handed


def _child(pipe: int, out_dir: Path, gzip: bool, work: Callable[[ExportWriter], None]) -> None:
    gc.disable()  # as in the parent (index.export.build.collector_paused): the child lives for one part of one export
    code = 0
    answer: dict[str, Any]
    try:
        with AtomicFileSet() as file_set, ExportWriter(file_set, out_dir, gzip=gzip) as writer:
            work(writer)
            answer = {"files": hand_over(file_set, writer)}
    except BaseException as exc:  # reported to the parent, which raises it; the child's set removed its files
        code = 1
        answer = {"error": f"{type(exc).__name__}: {exc}"}
        traceback.print_exc()
        sys.stderr.flush()  # os._exit flushes nothing
    try:
        data = json.dumps(answer).encode("utf-8")
        while data:
            data = data[os.write(pipe, data):]
        os.close(pipe)
    finally:
        os._exit(code)
