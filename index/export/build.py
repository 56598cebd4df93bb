"""The export: the JSON (and CSV) files a code-listing frontend fetches, as a deterministic read model.

`export_index(engine, out_dir)` reads one snapshot of the index (`index.queries`: the publication rules), writes
every file aside as it is produced (`index.export.writer`: streamed, gzip on a second thread), and puts the whole
set in place atomically (`index.export.atomic`). Same index, same bytes, but for
`generated_at`. docs/export.md documents every file and field; `index/schemas/` holds a JSON Schema per JSON file,
copied to `<out>/schemas/` with each export.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from index.db import IndexDatabaseError
from index.export.atomic import AtomicFileSet
from index.export.codegouvfr import write_codegouvfr_files
from index.export.fork import ForkedFiles
from index.export.format import (
    CsvWriter,
    EncodedJSON,
    csv_table,
    iso,
    json_document_chunks,
    json_pretty,
    json_sorted_bytes,
)
from index.export.rows import (
    ORGANISATION_CSV_COLUMNS,
    REPOSITORY_CSV_COLUMNS,
    REPOSITORY_CSV_TIMESTAMPS,
    account_json,
    account_sort_key,
    ministries_json,
    repository_json,
    stats_json,
)
from index.export.status_job import CHILD_FROM_REPOSITORIES, StatusJob, write_status
from index.export.writer import ExportedFile, ExportWriter
from index.history import HistoryDay, history_document, read_ministry_history
from index.queries import ExportedAccount, ExportedRepository, ReadModel, read_model
from index.status.report import ministry_slugs

SCHEMA_VERSION = "1.0"
SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


@dataclass(frozen=True)
class ExportReport:
    out_dir: Path
    generated_at: str
    repositories: int
    accounts: int
    seconds: float
    files: list[ExportedFile] = field(default_factory=list)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def summary(self) -> str:
        def n(count: int, word: str, many: str) -> str:
            return f"{count} {word if count == 1 else many}"

        return (f"{n(self.repositories, 'repository', 'repositories')}, {n(self.accounts, 'account', 'accounts')}, "
                f"{n(len(self.files), 'file', 'files')}, "
                f"{self.total_size / 1e6:.1f} MB in {self.seconds:.1f} s")


# the export ------------------------------------------------------------------------------------------------------
@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the export runs, as it was before afterwards. The export builds
    millions of objects and frees none in a cycle, but each of the collector's full passes walked the whole read
    model: a tenth of the export's CPU at ten times code.gouv.fr's size. (Its forked child and the status process
    turn it off for their lifetime.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class ExportOrder:
    """The read model in the files' order: repositories and accounts sorted, repositories grouped by account."""

    repos: list[ExportedRepository]
    accounts: list[ExportedAccount]
    by_account: dict[int, list[ExportedRepository]]

    @classmethod
    def of(cls, model: ReadModel) -> ExportOrder:
        repos = sorted(model.repositories, key=lambda r: r.sort_key)
        by_account: dict[int, list[ExportedRepository]] = defaultdict(list)
        for repo in repos:
            by_account[repo.account.id].append(repo)
        return cls(repos, sorted(model.accounts, key=account_sort_key), by_account)


def write_repository_files(writer: ExportWriter, order: ExportOrder, head: dict[str, str]) -> None:
    """repositories.json and its CSV twin, in one pass: each row is built once, for both, so memory holds the
    read model and a few blocks, never a whole file."""
    with writer.open("repositories.json", twin=True) as json_out, writer.open("repositories.csv") as csv_out:
        table = CsvWriter(csv_out, REPOSITORY_CSV_COLUMNS, verbatim=REPOSITORY_CSV_TIMESTAMPS)

        def rows() -> Iterator[EncodedJSON]:
            for repo in order.repos:
                row = repository_json(repo)
                table.writerow(row)  # the CSV row is written as its JSON row goes by
                yield json_sorted_bytes(row)

        json_out.write_all(json_document_chunks({**head, "repositories": rows()}))
        table.flush()
        json_out.rows = csv_out.rows = len(order.repos)


def write_summary_files(
    writer: ExportWriter, model: ReadModel, order: ExportOrder, head: dict[str, str],
    ministry_ids: Mapping[str, str] | None = None, history: Mapping[str | None, list[HistoryDay]] | None = None,
) -> None:
    """organisations, ministries, stats (and stats/ministries/, each ministry's progress) and the schemas."""
    account_rows = [account_json(a, order.by_account.get(a.id, [])) for a in order.accounts]
    writer.write("organisations.json", json_document_chunks({**head, "organisations": account_rows}),
                 len(account_rows), twin=True)
    writer.write("organisations.csv", csv_table(ORGANISATION_CSV_COLUMNS, account_rows), len(account_rows))
    del account_rows
    ministries = ministries_json(order.accounts, order.by_account, ministry_ids or {})
    writer.write("ministries.json", json_pretty({**head, "ministries": ministries}), len(ministries), twin=True)
    writer.write("stats.json", json_pretty({**head, **stats_json(model, order.repos, order.by_account)}), twin=True)
    for name, file_slug in ministry_slugs(history or {}).items():
        pso_id = (ministry_ids or {}).get(name) if name is not None else None
        document = history_document(name, (history or {})[name], pso_id, file_slug)
        writer.write(f"stats/ministries/{file_slug}.json", json_pretty({**head, **document}), twin=True)
    for schema in sorted(SCHEMAS.glob("*.schema.json")):
        writer.write(f"schemas/{schema.name}", schema.read_bytes())


def write_files(
    writer: ExportWriter, model: ReadModel, generated_at: str, ministry_ids: Mapping[str, str] | None = None,
    *, fork: bool = False, history: Mapping[str | None, list[HistoryDay]] | None = None,
) -> ForkedFiles | None:
    """Every exported file, written as it is produced. With `fork`, a forked copy of this process writes
    repositories.json and its CSV (in one pass: each row built once) while this one writes the code.gouv.fr and
    summary files (index.export.fork); the returned job is to be collected into the same set, or abandoned.
    None when everything was written here."""
    order = ExportOrder.of(model)
    head = {"schema_version": SCHEMA_VERSION, "generated_at": generated_at}

    def repository_files(out: ExportWriter) -> None:
        write_repository_files(out, order, head)

    forked = ForkedFiles.start(writer.out_dir, writer.gzip, repository_files) if fork else None
    try:
        if forked is None:
            write_repository_files(writer, order, head)
        write_codegouvfr_files(writer, "codegouvfr", order.repos, order.accounts, order.by_account)
        write_summary_files(writer, model, order, head, ministry_ids, history)
    except BaseException:
        if forked is not None:
            forked.abandon()
        raise
    return forked


def export_index(
    engine: Engine, out_dir: Path, *, now: dt.datetime | None = None, gzip: bool = True,
    ministry_ids: Mapping[str, str] | None = None, status: bool = True, status_process: bool | None = None,
    fork: bool | None = None,
) -> ExportReport:
    """Write the export into `out_dir`: every file written aside as it is built, then all put in place at once.

    `now` (UTC-aware) is the export's date: it is `generated_at`, and the day `ignored_since` is compared with.
    `ministry_ids` maps a ministry's name to its pso_id (config/ministries.yml, inverted) for ministries.json.
    With `status`, the referencing status report (status/: JSON and static HTML, see index.status.report) is written in
    the same atomic set, so the report always describes the exported files beside it; it is built in a second
    process when `status_process` says so (None: from 20,000 repositories on, see index.export.status_job).
    With `fork` (None: from 20,000 repositories on), half of the files are written by a forked copy of this
    process, on the other core (see write_files; where forking is not safe, everything is written here).
    """
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("export_index needs a timezone-aware `now`")
    generated_at = iso(now)
    assert generated_at is not None
    out_dir = Path(out_dir)
    try:
        job = StatusJob(engine, out_dir, now) if status and StatusJob.wanted(engine, status_process) else None
    except SQLAlchemyError as exc:
        raise IndexDatabaseError(f"cannot read the index: {str(exc).splitlines()[0]}") from exc
    with collector_paused():  # see collector_paused
        try:
            try:
                model = read_model(engine, now.astimezone(dt.UTC).date())
                history = read_ministry_history(engine, now.astimezone(dt.UTC).date())
            except SQLAlchemyError as exc:
                raise IndexDatabaseError(f"cannot read the index: {str(exc).splitlines()[0]}") from exc
            counts = (len(model.repositories), len(model.accounts))
            split = counts[0] >= CHILD_FROM_REPOSITORIES if fork is None else fork
            with AtomicFileSet() as file_set, ExportWriter(file_set, out_dir, gzip=gzip) as writer:
                forked = write_files(writer, model, generated_at, ministry_ids, fork=split, history=history)
                del model
                if forked is not None:
                    forked.collect(file_set, writer)  # its failure fails the export: the set discards everything
                if status:
                    if job is not None:
                        job.collect(file_set, writer)
                    else:
                        write_status(writer, engine, now)
                    produced = {out_dir / f.path for f in writer.files if f.path.startswith("status/")}
                    status_root = out_dir / "status"
                    if status_root.is_dir():  # pages of accounts or ministries no longer reported
                        for path in sorted(status_root.rglob("*")):
                            if path.is_file() and path.suffix in (".json", ".html") and path not in produced:
                                file_set.remove(path)
        except BaseException:
            if job is not None:
                job.abandon()
            raise
        finally:
            if job is not None:
                job.close()
    written = sorted(writer.files, key=lambda f: f.path)
    return ExportReport(
        out_dir=out_dir, generated_at=generated_at, repositories=counts[0],
        accounts=counts[1], seconds=round(time.perf_counter() - started, 3), files=written,
    )
