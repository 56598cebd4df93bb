"""Atomic replacement of a set of files, so that a frontend never reads half a file.

Every file is first written in full beside its target (same directory, hence same filesystem); only when all
of them are on disk (flushed at commit: one `syncfs` per filesystem on Linux, an `fsync` per file elsewhere; an
export writes ~2,000 files at ten times code.gouv.fr's size, and one fsync each cost more than a second) is each
one `os.replace`d into place, then the directories are fsync'd so the renames survive a power cut. `os.replace`
is atomic on POSIX: a reader opening the target gets either the old file or the new one, never a mix. If anything fails before the renames (a serialisation error,
a full disk, a crash), the temporary files are removed and every previous file is left untouched.

The set as a whole is not atomic (there is no multi-file rename): between the first and the last rename a
reader may see new and old files side by side, for the few microseconds the renames take.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


class AtomicFileSet:
    """Collects files written aside, and puts them all in place on `commit()`.

    Use as a context manager: leaving the block normally commits, an exception discards everything.

        with AtomicFileSet() as files:
            files.write_bytes(out / "a.json", data)
            with files.open(out / "b.csv") as handle:
                handle.write(...)
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, target)
        self._removals: list[Path] = []
        self._done = False
        self._detached = False

    def _temporary(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")

    @contextlib.contextmanager
    def open(self, target: Path) -> Iterator[IO[bytes]]:
        """A binary file to fill; it joins the set only if the block ends without an exception."""
        if self._done:
            raise RuntimeError("this file set was already committed or discarded")
        temporary = self._temporary(Path(target))
        handle = open(temporary, "xb")  # noqa: SIM115 - closed below, on every path
        try:
            yield handle
            handle.flush()
            if hasattr(os, "posix_fadvise"):  # Linux starts writing it back now: less for commit to wait for
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        except BaseException:
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
        handle.close()
        self._pending.append((temporary, Path(target)))

    def write_bytes(self, target: Path, data: bytes) -> int:
        with self.open(target) as handle:
            handle.write(data)
        return len(data)

    def detach(self) -> list[tuple[Path, Path]]:
        """Hand the files written aside over to another set (in another process: `adopt`), without renaming
        them; this set is then done and removes nothing."""
        if self._done:
            raise RuntimeError("this file set was already committed or discarded")
        self._done = self._detached = True
        pending, self._pending = self._pending, []
        return pending

    def adopt(self, temporary: Path, target: Path) -> None:
        """Take a file another set wrote aside (and detached): renamed with this set, or removed with it."""
        if self._done:
            raise RuntimeError("this file set was already committed or discarded")
        self._pending.append((Path(temporary), Path(target)))

    def remove(self, target: Path) -> None:
        """Delete `target` (if it exists) on commit, after the new files are in place: a stale twin."""
        self._removals.append(Path(target))

    def commit(self) -> None:
        """Rename every file into place, then make the renames durable."""
        if self._done:
            raise RuntimeError("this file set was already committed or discarded")
        self._done = True
        make_durable([temporary for temporary, _ in self._pending])
        for temporary, target in self._pending:
            os.replace(temporary, target)
        for target in self._removals:
            target.unlink(missing_ok=True)
        for directory in sorted({target.parent for _, target in self._pending}):
            _fsync_directory(directory)
        self._pending.clear()

    def discard(self) -> None:
        """Remove every temporary file; the previous files stay as they were."""
        self._done = True
        for temporary, _ in self._pending:
            temporary.unlink(missing_ok=True)
        self._pending.clear()

    def __enter__(self) -> AtomicFileSet:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if self._detached:  # another set owns the files now
            return
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.discard()
                raise
        else:
            self.discard()


def make_durable(paths: list[Path]) -> None:
    """Flush written files to disk: on Linux one syncfs(2) per filesystem they are on (a file set sits in one
    or two folders), elsewhere, or if syncfs fails, one fsync per file."""
    if not paths:
        return
    syncfs = _syncfs()
    if syncfs is not None:  # it reports writeback errors (a disk found full late) since Linux 5.8
        done: set[int] = set()
        for path in paths:
            device = os.stat(path).st_dev
            if device in done:
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                if syncfs(fd) != 0:
                    break
            finally:
                os.close(fd)
            done.add(device)
        else:
            return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@functools.cache
def _syncfs() -> Any:
    """libc's syncfs (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not supported on this platform/filesystem: the renames are still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(target: Path, data: bytes) -> None:
    """Replace one file atomically."""
    with AtomicFileSet() as files:
        files.write_bytes(target, data)
