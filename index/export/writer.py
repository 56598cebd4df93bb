"""Writes the export's files as they are produced: aside in an `AtomicFileSet`, each JSON with its .gz twin.

Files are streamed in blocks, so that no file (repositories.json weighs hundreds of MB at ten times
code.gouv.fr's size) is ever held whole in memory, and gzip runs on a second thread while the next rows are
encoded (zlib releases the GIL). The .gz twin is deterministic: no file name and mtime 0 in its header.
"""

from __future__ import annotations

import contextlib
import gzip
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from index.export.atomic import AtomicFileSet
from index.export.format import gzip_stream

BLOCK = 1 << 18  # 256 KiB: big enough for zlib to work without the GIL, small enough to bound memory
MAX_QUEUED = 16  # blocks waiting for the gzip thread before the producer waits for it (4 MiB)


@dataclass(frozen=True)
class ExportedFile:
    path: str  # relative to the output folder, with "/" separators
    size: int  # bytes
    rows: int | None  # records it holds, when it is a list of records


class Output:
    """One file being written: `write()` bytes in any pieces; `rows` is reported with it."""

    def __init__(self, handle: IO[bytes], twin: gzip.GzipFile | None, writer: ExportWriter):
        self.rows: int | None = None
        self.size = 0
        self._handle = handle
        self._twin = twin
        self._writer = writer
        self._buffer = bytearray()

    def write(self, chunk: bytes) -> None:
        if not self._buffer and len(chunk) >= BLOCK:  # a whole page at once: no copy into the buffer
            self._emit(chunk)
            return
        self._buffer += chunk
        if len(self._buffer) >= BLOCK:
            self.flush()

    def write_all(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if self._buffer:
            block = bytes(self._buffer)
            self._buffer.clear()
            self._emit(block)

    def _emit(self, block: bytes) -> None:
        self.size += len(block)
        self._handle.write(block)
        if self._twin is not None:
            self._writer._compress(self._twin.write, block)

    def finish(self) -> None:
        """Write what is buffered and wait for the .gz twin to be complete."""
        self.flush()
        if self._twin is not None:
            self._writer._compress(self._twin.close)
            self._writer._wait()


class ExportWriter:
    """Files of one export, written into `file_set` under `out_dir`; `files` lists what was written."""

    def __init__(self, file_set: AtomicFileSet, out_dir: Path, *, gzip: bool = True):
        self.file_set = file_set
        self.out_dir = Path(out_dir)
        self.gzip = gzip
        self.files: list[ExportedFile] = []
        self._packer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gzip")
        self._queued: deque[Future[Any]] = deque()

    def close(self, *, failed: bool = False) -> None:
        try:
            self._wait(raise_errors=not failed)
        finally:
            self._packer.shutdown(wait=True)

    def __enter__(self) -> ExportWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)

    @contextlib.contextmanager
    def open(self, name: str, *, twin: bool = False) -> Iterator[Output]:
        """`name` relative to the output folder; `twin`: also write `name.gz` (when the export gzips)."""
        with contextlib.ExitStack() as stack:
            handle = stack.enter_context(self.file_set.open(self.out_dir / name))
            packed: IO[bytes] | None = None
            archive = None
            if twin and self.gzip:
                packed = stack.enter_context(self.file_set.open(self.out_dir / f"{name}.gz"))
                archive = gzip_stream(packed)
            elif twin:  # a .gz left by an earlier export would no longer match its JSON
                self.file_set.remove(self.out_dir / f"{name}.gz")
            output = Output(handle, archive, self)
            try:
                yield output
                output.finish()
            except BaseException:
                self._wait(raise_errors=False)  # the gzip thread must be done with `packed` before it is removed
                raise
            self.files.append(ExportedFile(name, output.size, output.rows))
            if packed is not None:
                self.files.append(ExportedFile(f"{name}.gz", packed.tell(), output.rows))

    def write(self, name: str, data: bytes | Iterable[bytes], rows: int | None = None, *, twin: bool = False) -> None:
        with self.open(name, twin=twin) as output:
            output.write_all([data] if isinstance(data, bytes) else data)
            output.rows = rows

    def _compress(self, fn: Any, *args: Any) -> None:
        if len(self._queued) >= MAX_QUEUED:
            self._queued.popleft().result()
        self._queued.append(self._packer.submit(fn, *args))

    def _wait(self, raise_errors: bool = True) -> None:
        while self._queued:
            future = self._queued.popleft()
            try:
                future.result()
            except Exception:
                if raise_errors:
                    raise


Handed = list[tuple[str, str, int, int | None]]  # (temporary path, name in the export folder, size, rows)


def hand_over(file_set: AtomicFileSet, writer: ExportWriter) -> Handed:
    """A child process's files, detached from its set for its parent to adopt (`HandedFiles.collect`): each one
    as written aside, with what the export reports of it. Call it inside the set's block."""
    temporaries = {target: temporary for temporary, target in file_set.detach()}
    return [(str(temporaries[writer.out_dir / f.path]), f.path, f.size, f.rows) for f in writer.files]


class HandedFiles:
    """Files a child process wrote aside and hands over (`_result`, which waits for the child and raises its
    failure): `collect` adds them to this export's set, `abandon` removes them when the export fails."""

    def _result(self) -> Handed:
        raise NotImplementedError

    def collect(self, file_set: AtomicFileSet, writer: ExportWriter) -> None:
        """Wait for the child (its failure is raised here) and add its files to the export."""
        for temporary, name, size, rows in self._result():
            file_set.adopt(Path(temporary), writer.out_dir / name)
            writer.files.append(ExportedFile(name, size, rows))

    def abandon(self) -> None:
        """The export failed: remove whatever the child wrote aside (after it ends)."""
        try:
            handed = self._result()
        except Exception:  # the child failed: its own set removed its files
            return
        for temporary, *_ in handed:
            Path(temporary).unlink(missing_ok=True)
