"""`python -m bench.export_parts DB_URL`: where an export's time goes, part by part, on an existing index.

Each part is timed alone, in this process, in the order the export runs them, with the garbage collector paused
as the export pauses it (the export itself overlaps the status report with the rest, in a second process, writes
half of the files in a forked one, and gzips on a second thread). For docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Engine

T = TypeVar("T")


class Part(Protocol):
    """Times `work` under `label`, prints the time and returns what `work` returned."""

    def __call__(self, label: str, work: Callable[[], T], /) -> T: ...


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    from index.db import open_index
    from index.export.build import collector_paused

    engine = open_index(args[0])
    now = dt.datetime.now(dt.UTC)

    def part(label: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = work()
        print(f"{label:<42} {time.perf_counter() - started:7.2f} s", flush=True)
        return result

    with collector_paused():
        return _parts(engine, now, part)


def _parts(engine: Engine, now: dt.datetime, part: Part) -> int:
    from index.export.codegouvfr import repository_entry, short_repository_entry
    from index.export.format import CsvWriter, json_sorted_bytes
    from index.export.rows import REPOSITORY_CSV_COLUMNS, REPOSITORY_CSV_TIMESTAMPS, repository_json
    from index.queries import read_model
    from index.status.html import iter_files
    from index.status.report import load_status

    class Discard:
        def write(self, data: bytes) -> None:
            pass

    model = part("read model (index.queries)", lambda: read_model(engine, now.date()))
    repos = model.repositories
    print(f"{len(repos)} repositories, {len(model.accounts)} accounts")
    rows = part("repositories.json rows (repository_json)", lambda: [repository_json(r) for r in repos])
    part("repositories.json encoding (json_sorted_bytes)", lambda: [json_sorted_bytes(r) for r in rows])
    table = CsvWriter(Discard(), REPOSITORY_CSV_COLUMNS, verbatim=REPOSITORY_CSV_TIMESTAMPS)

    def csv_rows() -> None:
        for r in rows:
            table.writerow(r)
        table.flush()

    part("repositories.csv rows (CsvWriter)", csv_rows)
    part("codegouvfr repository files", lambda: [
        (json_sorted_bytes(e), json_sorted_bytes(short_repository_entry(e))) for e in map(repository_entry, repos)])
    data = part("status: load_status", lambda: load_status(engine, now=now))
    part("status: files (JSON and HTML)", lambda: [d if isinstance(d, bytes) else b"".join(d)
                                                   for _, d in iter_files(data)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
