"""Storing crawls: idempotent upserts, renames kept, gone only after a complete listing, failures change nothing."""

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from index.db import transaction
from index.models import Account, AccountOutcome, CrawlRun, HttpValidatorRow, Repository, RepositoryMetric
from index.records import CrawlCost, HttpValidator, OutcomeStatus, PubliccodeInfo
from index.upsert import finish_run, record_account_crawl, start_run, sync_configuration
from tests.index.factories import T0, crawl, repo, specs
from tests.support import repositories_by


def _setup(engine, **accounts):
    with transaction(engine) as session:
        sync_configuration(session, specs(**accounts))


def _repos(engine):
    return repositories_by(engine, "forge_repo_id")


def test_new_then_idempotent(engine):
    _setup(engine)
    run = start_run(engine)
    first = record_account_crawl(engine, run, crawl("etalab", [repo(1, "a"), repo(2, "b")]), now=T0)
    assert (first.new, first.updated, first.gone) == (2, 0, 0)
    again = record_account_crawl(engine, run, crawl("etalab", [repo(1, "a"), repo(2, "b")]), now=T0)
    assert (again.new, again.updated, again.gone) == (0, 0, 0)
    rows = _repos(engine)
    assert len(rows) == 2 and rows[1].first_seen == T0 and rows[1].score > 0
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(RepositoryMetric)) == 2


def test_rename_updates_in_place_and_keeps_old_path(engine):
    _setup(engine)
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("etalab", [repo(1, "old-name")]), now=T0)
    later = T0 + dt.timedelta(hours=6)
    stored = record_account_crawl(engine, run, crawl("etalab", [repo(1, "new-name")]), now=later)
    assert stored.renamed == 1 and stored.new == 0 and stored.gone == 0
    row = _repos(engine)[1]
    assert row.full_name == "etalab/new-name"
    assert row.previous_full_names == ["etalab/old-name"]
    assert row.first_seen == T0 and row.last_seen == later


def test_gone_only_after_complete_successful_listing(engine):
    _setup(engine)
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("etalab", [repo(1, "a"), repo(2, "b")]), now=T0)
    # a failed crawl that read only one repository removes nothing and blanks nothing
    failed = crawl("etalab", [repo(1, "a", description=None, signals=None)], status=OutcomeStatus.FAILED,
                   complete=False, error="502 from the forge")
    assert record_account_crawl(engine, run, failed).gone == 0
    rows = _repos(engine)
    assert rows[2].gone_at is None
    assert rows[1].commits_365d == 12  # signals kept: None means "not read this time"
    # a partial (incomplete) successful crawl removes nothing either
    assert record_account_crawl(engine, run, crawl("etalab", [repo(1, "a")], complete=False)).gone == 0
    # a complete listing that no longer returns b marks it gone, and only it
    stored = record_account_crawl(engine, run, crawl("etalab", [repo(1, "a")]), now=T0 + dt.timedelta(days=1))
    assert stored.gone == 1
    rows = _repos(engine)
    assert rows[2].gone_at is not None and rows[1].gone_at is None
    # it comes back: no longer gone
    record_account_crawl(engine, run, crawl("etalab", [repo(1, "a"), repo(2, "b")]))
    assert _repos(engine)[2].gone_at is None


def test_failure_recorded_on_account_and_run(engine):
    _setup(engine)
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("etalab", status=OutcomeStatus.NOT_FOUND, complete=False,
                                            error="404 Not Found", cost=CrawlCost(requests=1, rest_points=1)))
    finished = finish_run(engine, run)
    assert finished.status == "failed" and finished.accounts_failed == 1 and finished.requests == 1
    with transaction(engine) as session:
        account = session.scalars(select(Account)).one()
        assert account.last_status == "not_found" and account.last_error == "404 Not Found"
        assert account.last_success_at is None
        assert session.scalars(select(AccountOutcome)).one().status == "not_found"
        assert session.get(CrawlRun, run).per_forge["github.com"]["accounts_not_found"] == 1


def test_unchanged_ids_count_as_seen(engine):
    _setup(engine)
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("etalab", [repo(1, "a"), repo(2, "b")]), now=T0)
    result = record_account_crawl(engine, run, crawl("etalab", [], unchanged_ids=(1, 2)),
                                  now=T0 + dt.timedelta(days=1))
    assert result.gone == 0 and result.seen == 2
    assert _repos(engine)[1].last_seen == T0 + dt.timedelta(days=1)
    with transaction(engine) as session:  # the day's metrics too, though nothing was listed in full
        days = session.execute(select(RepositoryMetric.day, func.count()).group_by(RepositoryMetric.day)).all()
    assert sorted(days) == [(T0.date(), 2), ((T0 + dt.timedelta(days=1)).date(), 2)]


def test_relisted_unchanged_repository_is_touched_and_keeps_its_signals(engine):
    """A listing without details (GitLab re-crawls, GitHub changed pages) only touches rows that did not change."""
    _setup(engine)
    first = start_run(engine)
    record_account_crawl(engine, first, crawl("etalab", [repo(1, "a"), repo(2, "b")]), now=T0)
    before = _repos(engine)
    later, second = T0 + dt.timedelta(days=1), start_run(engine)
    listed = [dataclasses.replace(repo(1, "a"), signals=None), dataclasses.replace(repo(2, "b", stars=9), signals=None)]
    stored = record_account_crawl(engine, second, crawl("etalab", listed), now=later)
    assert (stored.new, stored.updated, stored.gone, stored.seen) == (0, 1, 0, 2)
    after = _repos(engine)
    for forge_id in (1, 2):
        assert after[forge_id].last_seen == later and after[forge_id].last_run_id == second
        assert after[forge_id].signals_at == before[forge_id].signals_at == T0
        assert after[forge_id].commits_365d == 12 and after[forge_id].score == before[forge_id].score
    assert after[1].stars == 3 and after[2].stars == 9
    with transaction(engine) as session:
        days = session.execute(select(RepositoryMetric.repository_id, RepositoryMetric.stars)
                               .where(RepositoryMetric.day == later.date())).all()
    assert sorted(stars for _, stars in days) == [3, 9]


def test_transfer_between_accounts_moves_the_row(engine):
    _setup(engine, **{"github.com": ["etalab", "dinum"]})
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("etalab", [repo(1, "a")]), now=T0)
    moved = repo(1, "a", owner="dinum")
    record_account_crawl(engine, run, crawl("dinum", [moved]), now=T0)
    assert record_account_crawl(engine, run, crawl("etalab", [])).gone == 0  # no longer etalab's to lose
    row = _repos(engine)[1]
    assert row.full_name == "dinum/a" and row.previous_full_names == ["etalab/a"] and row.gone_at is None


def test_validators_upserted(engine):
    _setup(engine)
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("etalab", validators=(HttpValidator("k", etag='W/"1"'),)))
    record_account_crawl(engine, run, crawl("etalab", validators=(HttpValidator("k", etag='W/"2"', memo="[1]"),)))
    with transaction(engine) as session:
        row = session.scalars(select(HttpValidatorRow)).one()
        assert (row.etag, row.memo) == ('W/"2"', "[1]")


def test_account_dropped_from_configuration_is_kept_but_flagged(engine):
    _setup(engine, **{"github.com": ["etalab", "dinum"]})
    _setup(engine, **{"github.com": ["etalab"]})
    with transaction(engine) as session:
        flags = {a.login: a.configured for a in session.scalars(select(Account))}
    assert flags == {"etalab": True, "dinum": False}


def test_naive_datetime_refused(engine):
    _setup(engine)
    run = start_run(engine)
    naive = dataclasses.replace(repo(1, "a"), pushed_at=dt.datetime(2026, 1, 1))  # noqa: DTZ001
    try:
        record_account_crawl(engine, run, crawl("etalab", [naive]))
    except Exception as exc:
        assert "naive" in str(exc)
    else:
        raise AssertionError("naive datetime accepted")
    assert _repos(engine) == {}  # the whole unit rolled back


def test_hostile_text_is_stored_safely(engine):
    _setup(engine)
    run = start_run(engine)
    nasty = "nul\x00byte <script>alert(1)</script> \u202e RTL ' OR 1=1; --"
    record_account_crawl(engine, run, crawl("etalab", [repo(1, "a", description=nasty, topics=("x\x00y",))]))
    row = _repos(engine)[1]
    assert row.description == nasty.replace("\x00", "") and row.topics == ["xy"]


def test_relisting_rewrites_a_score_computed_by_an_older_rule(engine):
    _setup(engine)
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("etalab", [repo(1, "a")]), now=T0)
    expected = _repos(engine)[1].score
    with transaction(engine) as session:
        session.execute(update(Repository).values(score=-4242))  # as a previous version of the rule had it
    listed = dataclasses.replace(repo(1, "a"), signals=None)
    stored = record_account_crawl(engine, run, crawl("etalab", [listed]), now=T0 + dt.timedelta(days=1))
    assert (stored.new, stored.updated) == (0, 0) and _repos(engine)[1].score == expected


def test_an_unidentified_licence_is_named_by_a_valid_publiccode(engine):
    """The forge says "Other"; a valid publiccode.yml naming one SPDX licence tells which (licence_source), and a
    later listing without signals keeps it; an invalid file or a forge-identified licence is left alone."""
    _setup(engine)
    etalab = PubliccodeInfo(valid=True, license="etalab-2.0", license_spdx="etalab-2.0")
    broken = PubliccodeInfo(valid=False, license="etalab-2.0", license_spdx="etalab-2.0")

    def with_publiccode(forge_id, name, info, licence="Other"):
        record = repo(forge_id, name, license_spdx=licence)
        return dataclasses.replace(record, signals=dataclasses.replace(record.signals, has_publiccode=True,
                                                                       publiccode=info))

    records = [with_publiccode(1, "a", etalab), with_publiccode(2, "b", broken), with_publiccode(3, "c", etalab, "MIT"),
               repo(4, "d", license_spdx=None)]
    record_account_crawl(engine, start_run(engine), crawl("etalab", records), now=T0)
    rows = _repos(engine)
    assert (rows[1].license_spdx, rows[1].licence_source) == ("etalab-2.0", "publiccode")
    assert (rows[2].license_spdx, rows[2].licence_source) == ("Other", "forge")
    assert (rows[3].license_spdx, rows[3].licence_source) == ("MIT", "forge")
    assert (rows[4].license_spdx, rows[4].licence_source) == (None, None)
    listed = [dataclasses.replace(r, signals=None) for r in records]
    stored = record_account_crawl(engine, start_run(engine), crawl("etalab", listed), now=T0 + dt.timedelta(days=1))
    assert stored.updated == 0
    # GitLab's adapter repeats the stored licence for a project whose details it did not re-read
    repeated = [dataclasses.replace(records[0], signals=None, license_spdx="etalab-2.0")]
    stored = record_account_crawl(engine, start_run(engine), crawl("etalab", repeated + listed[1:]),
                                  now=T0 + dt.timedelta(days=2))
    assert stored.updated == 0
    assert (_repos(engine)[1].license_spdx, _repos(engine)[1].licence_source) == ("etalab-2.0", "publiccode")


def test_a_finished_run_leaves_the_query_planner_statistics(engine):
    """SQLite has no statistics until ANALYZE; without them it once drove a search through every account's
    repositories (870 ms instead of 19 ms at 66,044 repositories)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its own statistics")
    _setup(engine)
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("etalab", [repo(1, "a"), repo(2, "b")]))
    finish_run(engine, run)
    with engine.connect() as connection:
        tables = set(connection.exec_driver_sql("SELECT tbl FROM sqlite_stat1").scalars())
    assert {"repositories", "accounts"} <= tables
