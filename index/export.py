"""The export: the JSON (and CSV) files a code-listing frontend fetches, as a deterministic read model.

`export_index(engine, out_dir)` reads one snapshot of the index (`index.queries`: the publication rules), writes
every file aside as it is produced (`index.export_writer`: streamed, gzip on a second thread), and puts the whole
set in place atomically (`index.atomic`). Same index, same bytes, but for
`generated_at`. docs/export.md documents every file and field; `index/schemas/` holds a JSON Schema per JSON file,
copied to `<out>/schemas/` with each export.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from index.atomic import AtomicFileSet
from index.db import IndexDatabaseError
from index.export_codegouvfr import write_codegouvfr_files
from index.export_fork import ForkedFiles
from index.export_format import (
    CsvWriter,
    EncodedJSON,
    blank_to_none,
    csv_table,
    iso,
    json_document_chunks,
    json_pretty,
    json_sorted_bytes,
)
from index.export_status import CHILD_FROM_REPOSITORIES, StatusJob, write_status
from index.export_writer import ExportedFile, ExportWriter
from index.queries import ExportedAccount, ExportedRepository, ReadModel, read_model

SCHEMA_VERSION = "1.0"
SCHEMAS = Path(__file__).parent / "schemas"
PUBLICCODE_KEYS = ("valid", "error", "name", "description", "license", "maintenance_type", "funded_by")


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
        return (f"{self.repositories} repositories, {self.accounts} accounts, {len(self.files)} files, "
                f"{self.total_size / 1e6:.1f} MB in {self.seconds:.1f} s")


# repositories.json -----------------------------------------------------------------------------------------------
def _publiccode(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The stored publiccode.yml summary, its values as text (rows hold no floats: json_sorted_bytes)."""
    if stored is None:
        return None
    return {  # keys in sorted order, as everywhere in a row (repository_json)
        "description": _text(stored.get("description")),
        "error": _text(stored.get("error")),
        "funded_by": sorted(str(item) for item in (stored.get("funded_by") or [])),
        "license": _text(stored.get("license")),
        "maintenance_type": _text(stored.get("maintenance_type")),
        "name": _text(stored.get("name")),
        "valid": bool(stored.get("valid")),
    }


def _text(value: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def repository_json(repo: ExportedRepository) -> dict[str, Any]:
    """One repository as published. Keys are written in sorted order at every level, so that the row can be
    encoded without sorting (json_sorted_bytes): a test walks a full row to keep it so."""
    account = repo.account
    return {
        "activity": {
            "commits_365d": repo.commits_365d,
            "contributors_365d": repo.contributors_365d,
            "latest_release_at": repo.latest_release_at,
            "releases_count": repo.releases_count,
        },
        "archived": repo.archived,
        "created_at": repo.created_at,
        "default_branch": repo.default_branch,
        "description": blank_to_none(repo.description),
        "empty": repo.empty,
        "files": {
            "changelog": repo.has_changelog,
            "contributing": repo.has_contributing,
            "license": repo.has_license,
            "publiccode": repo.has_publiccode,
            "readme": repo.has_readme,
        },
        "first_seen": repo.first_seen,
        "forge": account.forge.host,
        "forge_id": repo.forge_repo_id,
        "forge_kind": account.forge.kind,
        "fork": repo.fork,
        "forks": repo.forks,
        "full_name": repo.full_name,
        "homepage": blank_to_none(repo.homepage),
        "html_url": repo.html_url,
        "language": blank_to_none(repo.language),
        "last_commit_at": repo.last_commit_at,
        "last_seen": repo.last_seen,
        "license": repo.license_spdx,
        "ministry": account.ministry,
        "name": repo.name,
        "open_issues": repo.open_issues,
        "owner": {"kind": account.kind, "login": account.login, "url": account.url},
        "owner_path": repo.owner_path,
        "parent_url": repo.parent_url,
        "previous_full_names": list(repo.previous_full_names or []),
        "pso_id": account.pso_id,
        "publiccode": _publiccode(repo.publiccode),
        "pushed_at": repo.pushed_at,
        "score": repo.score,
        "signals_at": repo.signals_at,
        "stars": repo.stars,
        "template": repo.template,
        "topics": sorted(set(repo.topics or [])),
        "trend_30d": repo.trend,
        "updated_at": repo.updated_at,
        "watchers": repo.watchers,
    }


REPOSITORY_CSV_COLUMNS = (
    "forge", "forge_kind", "forge_id", "full_name", "name", "owner_login", "owner_kind", "owner_url", "owner_path",
    "html_url", "description", "homepage", "default_branch", "language", "topics", "stars", "forks", "watchers",
    "open_issues", "created_at", "updated_at", "pushed_at", "last_commit_at", "archived", "fork", "parent_url",
    "template", "empty", "license", "activity_commits_365d", "activity_contributors_365d",
    "activity_releases_count", "activity_latest_release_at", "files_readme", "files_license",
    "files_contributing", "files_changelog", "files_publiccode", *(f"publiccode_{k}" for k in PUBLICCODE_KEYS),
    "score", "first_seen", "last_seen", "signals_at", "previous_full_names", "ministry", "pso_id",
    "trend_30d_since", "trend_30d_stars", "trend_30d_forks", "trend_30d_commits_365d",
)


# the read model's timestamps: text in the published form, safe in a CSV cell as they are
REPOSITORY_CSV_TIMESTAMPS = ("created_at", "updated_at", "pushed_at", "last_commit_at", "activity_latest_release_at",
                             "first_seen", "last_seen", "signals_at")
assert set(REPOSITORY_CSV_TIMESTAMPS) <= set(REPOSITORY_CSV_COLUMNS)


# organisations.json ----------------------------------------------------------------------------------------------
def account_json(account: ExportedAccount, repos: list[ExportedRepository]) -> dict[str, Any]:
    return {
        "forge": account.forge.host,
        "forge_kind": account.forge.kind,
        "login": account.login,
        "kind": account.kind,
        "name": blank_to_none(account.name),
        "organisation": blank_to_none(account.config_name),
        "description": blank_to_none(account.description),
        "html_url": account.url,
        "avatar_url": account.avatar_url,
        "website": blank_to_none(account.website),
        "email": blank_to_none(account.email),
        "location": blank_to_none(account.location),
        "verified": account.verified,
        "created_at": account.created_at,
        "followers": account.followers,
        "repositories_count": len(repos),
        "forge_repositories_count": account.forge_repositories_count,
        "stars": sum(r.stars for r in repos),
        "pso_id": account.pso_id,
        "ministry": account.ministry,
        "floss_policy": account.floss_policy,
        "ospo_url": account.ospo_url,
        "crawl": {
            "status": account.last_status,
            "error": account.last_error,
            "last_attempt_at": account.last_attempt_at,
            "last_success_at": account.last_success_at,
            "first_seen": account.first_seen,
            "last_seen": account.last_seen,
        },
    }


ORGANISATION_CSV_COLUMNS = (
    "forge", "forge_kind", "login", "kind", "name", "organisation", "description", "html_url", "avatar_url",
    "website", "email", "location", "verified", "created_at", "followers", "repositories_count",
    "forge_repositories_count", "stars", "pso_id", "ministry", "floss_policy", "ospo_url", "crawl_status",
    "crawl_error", "crawl_last_attempt_at", "crawl_last_success_at", "crawl_first_seen", "crawl_last_seen",
)


def account_sort_key(account: ExportedAccount) -> tuple[str, str, str]:
    return (account.forge.host, account.login.lower(), account.login)


# ministries.json and stats.json ----------------------------------------------------------------------------------
def ministries_json(
    accounts: list[ExportedAccount], repos_by_account: Mapping[int, list[ExportedRepository]],
    ministry_ids: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One entry per ministry, and one (name null) for the accounts without one; by name, null last."""
    grouped: dict[str | None, list[ExportedAccount]] = defaultdict(list)
    for account in accounts:
        grouped[account.ministry].append(account)
    entries = []
    for name in sorted(grouped, key=lambda n: (n is None, n or "")):
        members = sorted(grouped[name], key=account_sort_key)
        repos = [r for a in members for r in repos_by_account.get(a.id, [])]
        entries.append({
            "name": name,
            "pso_id": ministry_ids.get(name) if name is not None else None,
            "accounts": [f"{a.forge.host}/{a.login}" for a in members],
            "accounts_count": len(members),
            "repositories_count": len(repos),
            "stars": sum(r.stars for r in repos),
        })
    return entries


def _counts(values: list[str | None]) -> dict[str, int]:
    return dict(sorted(Counter("none" if v is None else v for v in values).items()))


def stats_json(
    model: ReadModel, repos: list[ExportedRepository], repos_by_account: Mapping[int, list[ExportedRepository]]
) -> dict[str, Any]:
    by_forge: dict[str, dict[str, int]] = {
        f.host: {"accounts": 0, "repositories": 0, "stars": 0} for f in model.forges
    }
    by_ministry: dict[str, dict[str, int]] = {}
    for account in model.accounts:
        own = repos_by_account.get(account.id, [])
        for bucket in (
            by_forge[account.forge.host],
            by_ministry.setdefault(account.ministry or "none", {"accounts": 0, "repositories": 0, "stars": 0}),
        ):
            bucket["accounts"] += 1
            bucket["repositories"] += len(own)
            bucket["stars"] += sum(r.stars for r in own)
    histogram: list[dict[str, int]] = []
    if repos:
        buckets = Counter((r.score // 100) * 100 for r in repos)
        histogram = [
            {"from": low, "to": low + 99, "repositories": buckets.get(low, 0)}
            for low in range(min(buckets), max(buckets) + 100, 100)
        ]
    licensed = sum(1 for r in repos if r.license_spdx is not None)
    return {
        "totals": {
            "repositories": len(repos),
            "accounts": len(model.accounts),
            "accounts_with_repositories": sum(1 for a in model.accounts if repos_by_account.get(a.id)),
            "forges": len(model.forges),
            "stars": sum(r.stars for r in repos),
            "forks": sum(r.forks for r in repos),
        },
        "by_forge": dict(sorted(by_forge.items())),
        "by_licence": _counts([r.license_spdx for r in repos]),
        "by_language": _counts([blank_to_none(r.language) for r in repos]),
        "by_ministry": dict(sorted(by_ministry.items())),
        "score_histogram": histogram,
        "licence_coverage": round(licensed / len(repos), 4) if repos else 0.0,
        "history": model.history,
    }


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
    ministry_ids: Mapping[str, str] | None = None,
) -> None:
    """organisations, ministries, stats and the schemas."""
    account_rows = [account_json(a, order.by_account.get(a.id, [])) for a in order.accounts]
    writer.write("organisations.json", json_document_chunks({**head, "organisations": account_rows}),
                 len(account_rows), twin=True)
    writer.write("organisations.csv", csv_table(ORGANISATION_CSV_COLUMNS, account_rows), len(account_rows))
    del account_rows
    ministries = ministries_json(order.accounts, order.by_account, ministry_ids or {})
    writer.write("ministries.json", json_pretty({**head, "ministries": ministries}), len(ministries), twin=True)
    writer.write("stats.json", json_pretty({**head, **stats_json(model, order.repos, order.by_account)}), twin=True)
    for schema in sorted(SCHEMAS.glob("*.schema.json")):
        writer.write(f"schemas/{schema.name}", schema.read_bytes())


def write_files(
    writer: ExportWriter, model: ReadModel, generated_at: str, ministry_ids: Mapping[str, str] | None = None,
    *, fork: bool = False,
) -> ForkedFiles | None:
    """Every exported file, written as it is produced. With `fork`, a forked copy of this process writes
    repositories.json and its CSV (in one pass: each row built once) while this one writes the code.gouv.fr and
    summary files (index.export_fork); the returned job is to be collected into the same set, or abandoned.
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
        write_summary_files(writer, model, order, head, ministry_ids)
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
    With `status`, the referencing status report (status/: JSON and static HTML, see index.status) is written in
    the same atomic set, so the report always describes the exported files beside it; it is built in a second
    process when `status_process` says so (None: from 20,000 repositories on, see index.export_status).
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
            except SQLAlchemyError as exc:
                raise IndexDatabaseError(f"cannot read the index: {str(exc).splitlines()[0]}") from exc
            counts = (len(model.repositories), len(model.accounts))
            split = counts[0] >= CHILD_FROM_REPOSITORIES if fork is None else fork
            with AtomicFileSet() as file_set, ExportWriter(file_set, out_dir, gzip=gzip) as writer:
                forked = write_files(writer, model, generated_at, ministry_ids, fork=split)
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
