"""Writing crawl results into the index: idempotent, batched, and never destructive.

- `sync_configuration` mirrors the configured forges and accounts (pso_id, ministry...) into the index.
- `start_run` / `finish_run` bracket a crawl.
- `record_account_crawl` stores one account's crawl in one transaction: account metadata, repositories (upserted
  by forge + forge id, so a rename or transfer updates the row and keeps the old path), the day's metrics, HTTP
  validators and the outcome. Repositories are marked gone only when the crawl is complete and successful; a
  failed or partial crawl adds what it read and never removes or blanks anything.

Upserts use INSERT … ON CONFLICT DO UPDATE (SQLite and PostgreSQL), so running the same unit twice, or two units
at once on PostgreSQL, leaves the same index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Date, Engine, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from index.db import refresh_statistics, transaction
from index.licences import OTHER
from index.models import (
    Account,
    AccountOutcome,
    CrawlRun,
    Forge,
    HttpValidatorRow,
    Repository,
    RepositoryMetric,
)
from index.queries import json_read
from index.records import (
    DETAILS,
    AccountCrawl,
    ForgeSpec,
    HttpValidator,
    OutcomeStatus,
    RepositoryRecord,
    RepositorySignals,
    utcnow,
)
from index.score import score

BATCH = 500
# the tables, typed for Core statements (a mapped class's __table__ is typed as any FromClause)
REPOSITORIES = cast(Table, Repository.__table__)
CRAWL_RUNS = cast(Table, CrawlRun.__table__)
METRICS = cast(Table, RepositoryMetric.__table__)

# columns copied from RepositoryRecord as they are
_REPO_FIELDS = (
    "full_name", "name", "owner_path", "html_url", "description", "homepage", "default_branch", "language",
    "stars", "forks", "watchers", "open_issues", "created_at", "updated_at", "pushed_at", "archived", "fork",
    "parent_url", "template", "empty", "license_spdx",
)
_SIGNAL_FIELDS = (
    "commits_365d", "contributors_365d", "last_commit_at", "releases_count", "latest_release_at", "has_readme",
    "has_license", "has_contributing", "has_changelog", "has_publiccode",
)
# a change in any of these makes the repository "updated" in the crawl summary
_TRACKED = _REPO_FIELDS + ("visibility", "topics", "licence_source")
# what an upsert compares with and keeps: plain rows (not ORM objects), JSON read with the export's shortcut
_STORED_COLUMNS = (
    Repository.forge_repo_id, Repository.previous_full_names, Repository.first_seen, Repository.gone_at,
    Repository.score,
    *(getattr(Repository, name) for name in _TRACKED + _SIGNAL_FIELDS if name not in ("topics",)),
    Repository.stale_details, json_read(Repository.topics), json_read(Repository.publiccode),
    json_read(Repository.detail_marks),
)


def login_key(host_kind: str, login: str) -> str:
    """Forge paths are case-insensitive on GitHub and GitLab alike."""
    return login.strip().strip("/").lower()


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# configuration ---------------------------------------------------------------------------------------------------
def sync_configuration(session: Session, forges: Sequence[ForgeSpec]) -> None:
    """Mirror the configuration: upsert forges and accounts, and flag those no longer configured.

    Nothing is deleted: an account dropped from the configuration keeps its history but is no longer exported.
    """
    known_forges = {f.host: f for f in session.scalars(select(Forge))}
    for spec in forges:
        forge = known_forges.get(spec.host) or Forge(host=spec.host)
        forge.kind, forge.api_url, forge.pso_id = spec.kind, spec.api_url, spec.pso_id
        forge.ministry, forge.ignored_since, forge.whole_forge = spec.ministry, spec.ignored_since, spec.whole_forge
        forge.configured = True
        session.add(forge)
        known_forges[spec.host] = forge
    configured_hosts = {spec.host for spec in forges}
    for host, forge in known_forges.items():
        if host not in configured_hosts:
            forge.configured = False
    session.flush()

    configured_ids: set[int] = set()
    for spec in forges:
        forge = known_forges[spec.host]
        existing = {a.login_key: a for a in session.scalars(select(Account).where(Account.forge_id == forge.id))}
        for acc in spec.accounts:
            key = login_key(spec.kind, acc.login)
            account = existing.get(key) or Account(forge_id=forge.id, login_key=key)
            account.login = acc.login
            if acc.kind is not None:
                account.kind = acc.kind.value
            account.configured = True
            account.config_name, account.pso_id, account.ministry = acc.name, acc.pso_id, acc.ministry
            account.organisation = acc.organisation
            account.ignored_since, account.floss_policy, account.ospo_url = (
                acc.ignored_since, acc.floss_policy, acc.ospo_url
            )
            session.add(account)
            existing[key] = account
        session.flush()
        configured_ids.update(existing[login_key(spec.kind, a.login)].id for a in spec.accounts)
    session.execute(
        update(Account)
        .where(Account.id.not_in(configured_ids) if configured_ids else Account.id.is_not(None))
        .values(configured=False)
    )


# runs ------------------------------------------------------------------------------------------------------------
def _process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def start_run(engine: Engine, trigger: str = "cli") -> int:
    with transaction(engine) as session:
        run = CrawlRun(started_at=utcnow(), status="running", trigger=trigger, per_forge={}, process=_process_id())
        session.add(run)
        session.flush()
        return run.id


def finish_run(engine: Engine, run_id: int, status: str | None = None) -> CrawlRun:
    """Close a run. Without an explicit status: ok if every account was ok, partial if some failed."""
    with transaction(engine) as session:
        run = session.get_one(CrawlRun, run_id)
        if status is None:
            status = "ok" if run.accounts_failed == 0 else ("partial" if run.accounts_ok else "failed")
        run.status = status
        run.finished_at = utcnow()
    refresh_statistics(engine)  # the run changed the repositories: the query planner's view of them too
    return run


def recover_stale_runs(engine: Engine) -> int:
    """Mark as interrupted the runs left 'running' by a process of this machine that no longer exists
    (killed, machine rebooted). Their committed accounts stay; only the run's status was left wrong."""
    host = socket.gethostname()
    count = 0
    with transaction(engine) as session:
        for run in session.scalars(select(CrawlRun).where(CrawlRun.status == "running")):
            owner_host, _, pid = (run.process or "").rpartition(":")
            if owner_host != host or not pid.isdigit() or _alive(int(pid)):
                continue
            run.status = "interrupted"
            run.finished_at = utcnow()
            count += 1
    return count


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# one account -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredOutcome:
    status: str
    seen: int
    new: int
    updated: int
    gone: int
    renamed: int


def record_account_crawl(engine: Engine, run_id: int, crawl: AccountCrawl, now: dt.datetime | None = None) -> StoredOutcome:
    """Store one account's crawl in one transaction (commits whole or rolls back whole)."""
    with transaction(engine) as session:
        return record_in(session, run_id, crawl, now)


def record_in(session: Session, run_id: int, crawl: AccountCrawl, now: dt.datetime | None = None) -> StoredOutcome:
    """`record_account_crawl` inside the caller's transaction (the task queue commits its bookkeeping with it)."""
    return _record(session, run_id, crawl, now or crawl.finished_at or utcnow())


def _record(session: Session, run_id: int, crawl: AccountCrawl, now: dt.datetime) -> StoredOutcome:
    forges = Forge.__table__.c  # Core: no ORM entity to build for two values
    forge_id, forge_kind = session.execute(
        select(forges.id, forges.kind).where(forges.host == crawl.forge_host)).one()
    account = session.scalars(
        select(Account).where(Account.forge_id == forge_id, Account.login_key == login_key(forge_kind, crawl.login))
    ).one_or_none()
    if account is None:  # crawled without being configured (e.g. --owner on a whole forge): remember it
        account = Account(forge_id=forge_id, login=crawl.login, login_key=login_key(forge_kind, crawl.login),
                          configured=False)
        session.add(account)
        session.flush()

    ok = crawl.status == OutcomeStatus.OK
    account.last_attempt_at = now
    account.last_status = crawl.status.value
    account.last_error = crawl.error
    if crawl.account is not None:
        _apply_account(account, crawl, now)
    if ok:
        account.last_success_at = now
        account.last_seen = now
        account.first_seen = account.first_seen or now

    new, updated, renamed = _upsert_repositories(session, forge_id, account.id, run_id, crawl.repositories, now)
    seen_ids = {r.forge_id for r in crawl.repositories} | set(crawl.unchanged_ids)
    if crawl.unchanged_ids:
        _touch_unchanged(session, forge_id, account.id, run_id, crawl.unchanged_ids, now)
    _record_metrics(session, account.id, run_id, now.date())
    gone: list[str] = []
    if ok and crawl.complete:
        gone = _mark_gone(session, account.id, now)
    _store_validators(session, forge_id, crawl.validators, now)

    outcome = AccountOutcome(
        run_id=run_id, account_id=account.id, status=crawl.status.value, error=crawl.error,
        complete=crawl.complete, started_at=crawl.started_at, finished_at=crawl.finished_at or now,
        repos_seen=len(seen_ids), repos_new=len(new), repos_updated=len(updated), repos_gone=len(gone),
        repos_renamed=len(renamed),
        changes={"new": sorted(filter(None, new))[:200], "gone": sorted(filter(None, gone))[:200],
                 "renamed": sorted(filter(None, renamed))[:200]},
        requests=crawl.cost.requests, not_modified=crawl.cost.not_modified, rest_points=crawl.cost.rest_points,
        graphql_points=crawl.cost.graphql_points,
    )
    session.add(outcome)
    _add_to_run(session, run_id, crawl, len(new), len(updated), len(gone))
    return StoredOutcome(crawl.status.value, len(seen_ids), len(new), len(updated), len(gone), len(renamed))


def _apply_account(account: Account, crawl: AccountCrawl, now: dt.datetime) -> None:
    record = crawl.account
    assert record is not None
    account.kind = record.kind.value if record.kind else account.kind
    for name in ("name", "description", "html_url", "avatar_url", "website", "email", "location", "verified",
                 "created_at", "followers", "repositories_count"):
        value = _clean(getattr(record, name))
        if value is not None:
            setattr(account, name, value)
    if record.forge_id is not None:
        account.forge_account_id = record.forge_id


def _clean(value: Any) -> Any:
    """Forge text is hostile input: PostgreSQL refuses NUL in text, so it never reaches the database."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def _repo_values(record: RepositoryRecord) -> dict[str, Any]:
    values = {name: _clean(getattr(record, name)) for name in _REPO_FIELDS}
    values["visibility"] = record.visibility.value
    values["topics"] = sorted({_clean(t) for t in record.topics})
    return values


def _licence(record: RepositoryRecord, old: Any) -> dict[str, Any]:
    """`license_spdx` and where it comes from. When the forge found a licence it could not identify ("Other"), a
    valid publiccode.yml naming one SPDX licence tells which: the new one if the signals were read, else the one
    stored from an earlier reading."""
    licence = record.license_spdx
    kept = record.signals is None and old is not None and old.licence_source == "publiccode"
    # an adapter that skips a project's details repeats the stored licence: still the publiccode.yml's
    if kept and licence in (OTHER, old.license_spdx):
        return {"license_spdx": old.license_spdx, "licence_source": "publiccode"}
    if licence != OTHER:
        return {"license_spdx": licence, "licence_source": "forge" if licence else None}
    info = record.signals.publiccode if record.signals is not None else None
    if info is not None and info.valid and info.license_spdx:
        return {"license_spdx": _clean(info.license_spdx), "licence_source": "publiccode"}
    return {"license_spdx": OTHER, "licence_source": "forge"}


def _signal_values(signals: RepositorySignals) -> dict[str, Any]:
    values = {name: getattr(signals, name) for name in _SIGNAL_FIELDS}
    info = signals.publiccode
    values["publiccode"] = None
    if info is not None:
        values["publiccode"] = {k: _clean(v) for k, v in dataclasses.asdict(info).items()}
        values["publiccode"]["funded_by"] = [_clean(f) for f in info.funded_by]
    return values


def _hold(details: frozenset[str], old: Any, values: dict[str, Any], signals: dict[str, Any] | None) -> None:
    """Put back the stored value of every column of the details a crawl did not (or could not) read again."""
    for detail in details:
        for column in DETAILS.get(detail, ()):
            if column in values:
                values[column] = getattr(old, column)
            elif signals is not None and column in signals:
                signals[column] = getattr(old, column)


def _chunks(items: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _upsert_repositories(
    session: Session, forge_id: int, account_id: int, run_id: int,
    records: Sequence[RepositoryRecord], now: dt.datetime,
) -> tuple[list[str], list[str], list[str]]:
    new: list[str] = []
    updated: list[str] = []
    renamed: list[str] = []
    unchanged: list[int] = []  # listed again exactly as stored, no new signals: only touched, never rewritten
    confirmed: list[int] = []  # the same, with signals read again and found as stored: touched, signals_at too
    unique = list({r.forge_id: r for r in records}.values())  # a listing may repeat a repo across pages
    for batch in _chunks(unique):
        existing = {
            row.forge_repo_id: row
            for row in session.execute(
                select(*_STORED_COLUMNS).where(
                    Repository.forge_id == forge_id, Repository.forge_repo_id.in_([r.forge_id for r in batch])
                )
            )
        }
        with_signals: list[dict[str, Any]] = []
        without_signals: list[dict[str, Any]] = []
        for record in batch:
            old = existing.get(record.forge_id)
            values = _repo_values(record)
            values.update(_licence(record, old))
            previous = list(old.previous_full_names or []) if old else []
            # names of non-public repositories never reach the change lists, which the status report publishes
            public = record.visibility.value == "public"
            if old is not None and old.full_name != record.full_name:
                if old.full_name not in previous:
                    previous.append(old.full_name)
                renamed.append(f"{old.full_name} -> {record.full_name}" if public else "")
            signals = _signal_values(record.signals) if record.signals is not None else None
            if old is not None:
                _hold(record.kept | record.stale, old, values, signals)
            changed = old is not None and (
                any(getattr(old, name) != values[name] for name in _TRACKED) or old.gone_at is not None)
            merged = dict(values)
            if signals is not None:
                merged.update(signals)
                merged["signals_at"] = now
            elif old is not None:
                merged.update({name: getattr(old, name) for name in _SIGNAL_FIELDS})
            points = score(merged)
            stale = ",".join(sorted(record.stale)) or None
            marks = record.marks if record.marks is not None else (old.detail_marks if old else None)
            if old is None:
                new.append(record.full_name if public else "")
            elif changed:
                updated.append(record.full_name if public else "")
            elif (old.score == points and old.stale_details == stale and marks == old.detail_marks
                  and (signals is None or _same_signals(old, signals))):  # a new scoring rule still rewrites it
                (unchanged if signals is None else confirmed).append(record.forge_id)
                continue
            row = {
                **values,
                "forge_id": forge_id, "forge_repo_id": record.forge_id, "account_id": account_id,
                "previous_full_names": previous, "score": points,
                "first_seen": old.first_seen if old else now, "last_seen": now, "gone_at": None,
                "last_run_id": run_id, "stale_details": stale, "detail_marks": marks,
            }
            if signals is not None:
                row.update(signals)
                row["signals_at"] = now
                with_signals.append(row)
            else:
                without_signals.append(row)
        for rows in (with_signals, without_signals):
            if not rows:
                continue
            statement = _insert(session, Repository.__table__)
            keep = {"id", "forge_id", "forge_repo_id", "first_seen"}
            statement = statement.on_conflict_do_update(
                index_elements=["forge_id", "forge_repo_id"],
                set_={name: statement.excluded[name] for name in rows[0] if name not in keep},
            )
            session.execute(statement, rows)
    if unchanged:
        _touch_unchanged(session, forge_id, account_id, run_id, unchanged, now)
    if confirmed:
        _touch_unchanged(session, forge_id, account_id, run_id, confirmed, now, signals_read=True)
    return new, updated, renamed


def _same_signals(old: Any, signals: dict[str, Any]) -> bool:
    """The signals read again are the stored ones (a GitLab GraphQL listing carries them on every crawl): the row
    need not be rewritten. publiccode is compared as the JSON it is stored as."""
    if any(getattr(old, name) != signals[name] for name in _SIGNAL_FIELDS):
        return False
    return _as_json(old.publiccode) == _as_json(signals["publiccode"])


def _as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _touch_unchanged(
    session: Session, forge_id: int, account_id: int, run_id: int, ids: Sequence[int], now: dt.datetime,
    *, signals_read: bool = False,
) -> None:
    table = REPOSITORIES.c  # a Core UPDATE: nothing in the session to synchronise with
    values: dict[str, Any] = {"last_seen": now, "gone_at": None, "last_run_id": run_id, "account_id": account_id}
    if signals_read:
        values["signals_at"] = now
    for batch in _chunks(list(ids)):
        session.execute(
            update(REPOSITORIES).where(table.forge_id == forge_id, table.forge_repo_id.in_(batch)).values(**values)
        )


METRIC_COLUMNS = ("stars", "forks", "watchers", "open_issues", "commits_365d", "contributors_365d", "license_spdx",
                  "has_publiccode")


def _record_metrics(session: Session, account_id: int, run_id: int, day: dt.date) -> None:
    """The day's metrics of every repository this crawl saw (upserted or touched: `last_run_id` is this run's),
    copied by the database in one statement: an unchanged re-crawl at x10 sees 90,000 repositories."""
    statement = _metrics_statement(session.get_bind().dialect.name)
    session.execute(statement, {"account_id": account_id, "run_id": run_id, "day": day})


@functools.cache
def _metrics_statement(dialect: str) -> Any:
    """Built once per dialect (building it cost more than running it, per account)."""
    table = REPOSITORIES.c
    # the SELECT has a WHERE, as SQLite's parser needs before an upsert clause
    # a repository without a licence records "" (NULL is left to days recorded before the column existed)
    copied = [func.coalesce(table[c], "") if c == "license_spdx" else table[c] for c in METRIC_COLUMNS]
    seen = select(table.id, bindparam("day", type_=Date), *copied).where(
        table.account_id == bindparam("account_id"), table.last_run_id == bindparam("run_id"))
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(METRICS)
    statement = insert.from_select(["repository_id", "day", *METRIC_COLUMNS], seen)
    excluded = statement.excluded
    return statement.on_conflict_do_update(index_elements=["repository_id", "day"],
                                           set_={c: excluded[c] for c in METRIC_COLUMNS})


def _mark_gone(session: Session, account_id: int, now: dt.datetime) -> list[str]:
    """After a complete, successful listing: what the account held and the listing no longer returned is gone.
    What it returned was upserted or touched just before, last seen `now`: one UPDATE finds the rest (an
    unchanged x10 re-crawl had read back every repository of every account, to compare ids in Python)."""
    table = REPOSITORIES.c
    rows = session.execute(
        update(REPOSITORIES)
        .where(table.account_id == account_id, table.gone_at.is_(None), table.last_seen != now)
        .values(gone_at=now)
        .returning(table.full_name, table.visibility)
    ).all()
    return [row.full_name if row.visibility == "public" else "" for row in rows]


def _store_validators(session: Session, forge_id: int, validators: Sequence[HttpValidator], now: dt.datetime) -> None:
    rows = [
        {"forge_id": forge_id, "key": v.key, "etag": v.etag, "last_modified": v.last_modified, "memo": v.memo,
         "updated_at": now}
        for v in {v.key: v for v in validators}.values()
    ]
    for batch in _chunks(rows):
        statement = _insert(session, HttpValidatorRow.__table__)
        statement = statement.on_conflict_do_update(
            index_elements=["forge_id", "key"],
            set_={c: statement.excluded[c] for c in ("etag", "last_modified", "memo", "updated_at")},
        )
        session.execute(statement, list(batch))


def _add_to_run(session: Session, run_id: int, crawl: AccountCrawl, new: int, updated: int, gone: int) -> None:
    status = crawl.status
    run = CRAWL_RUNS.c
    increments: dict[str, Any] = {
        "repos_new": run.repos_new + new,
        "repos_updated": run.repos_updated + updated,
        "repos_gone": run.repos_gone + gone,
        "requests": run.requests + crawl.cost.requests,
        "not_modified": run.not_modified + crawl.cost.not_modified,
        "rest_points": run.rest_points + crawl.cost.rest_points,
        "graphql_points": run.graphql_points + crawl.cost.graphql_points,
    }
    if status == OutcomeStatus.OK:
        increments["accounts_ok"] = run.accounts_ok + 1
    elif status == OutcomeStatus.UNSUPPORTED:
        increments["accounts_unsupported"] = run.accounts_unsupported + 1
    elif status == OutcomeStatus.SKIPPED:
        increments["accounts_skipped"] = run.accounts_skipped + 1
    else:
        increments["accounts_failed"] = run.accounts_failed + 1
    # per-forge detail is a JSON document: read-modify-write inside this transaction, in Core statements (the
    # ORM's synchronised UPDATE and reload cost more than the rest of an unchanged account's storing)
    per_forge = dict(session.execute(select(run.per_forge).where(run.id == run_id)).scalar_one() or {})
    entry = dict(per_forge.get(crawl.forge_host) or {})
    for key, value in (
        ("accounts", 1), (f"accounts_{status.value}", 1), ("repos_new", new), ("repos_updated", updated),
        ("repos_gone", gone), ("requests", crawl.cost.requests), ("not_modified", crawl.cost.not_modified),
        ("rest_points", crawl.cost.rest_points), ("graphql_points", crawl.cost.graphql_points),
    ):
        entry[key] = entry.get(key, 0) + value
    per_forge[crawl.forge_host] = entry
    session.execute(update(CRAWL_RUNS).where(run.id == run_id).values(**increments, per_forge=per_forge))


def count_repositories(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Repository)) or 0
