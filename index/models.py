"""The index schema: SQLAlchemy 2.0 typed models, identical on SQLite and PostgreSQL.

Change a model only together with a new Alembic revision in `index/migrations/versions/`; the test suite checks
that the two agree. Constraint names come from the metadata's naming convention so they match on both databases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the index stores UTC-aware timestamps only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """On SQLite, parse the stored text in one step (datetime.fromisoformat, in C) rather than through
        SQLAlchemy's parser and then process_result_value: an export reads ~9 timestamps per repository."""
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or general is None:
            return general
        parse = dt.datetime.fromisoformat

        def process(value: Any) -> dt.datetime | None:
            if value is None:
                return None
            try:  # the stored text is naive UTC: parsed with "+00:00" it comes back aware, eight times faster
                return parse(value + "+00:00")  # than parse(value).replace(tzinfo=UTC), whose keywords are slow
            except (TypeError, ValueError):  # not the text SQLAlchemy writes (an offset already?): let it decide
                return general(value)

        return process


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Forge(Base):
    """A forge host from the configuration (github.com, gitlab.com, a self-hosted GitLab...)."""

    __tablename__ = "forges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # github | gitlab | gitea | gogs | sourcehut ...
    api_url: Mapped[str | None] = mapped_column(String(500))
    pso_id: Mapped[str | None] = mapped_column(String(64))
    ministry: Mapped[str | None] = mapped_column(String(255))
    ignored_since: Mapped[dt.date | None] = mapped_column(Date)
    whole_forge: Mapped[bool] = mapped_column(Boolean, default=False)  # listed without owners: crawled whole
    configured: Mapped[bool] = mapped_column(Boolean, default=True)  # still in the configuration


class Account(Base):
    """An account: configuration metadata (pso_id, ministry...) plus what the forge said about it last time."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("forge_id", "login_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forge_id: Mapped[int] = mapped_column(ForeignKey("forges.id", ondelete="CASCADE"))
    login: Mapped[str] = mapped_column(String(500))  # path as configured ("etalab", "dinum/sub")
    login_key: Mapped[str] = mapped_column(String(500))  # lower-cased: forges treat paths case-insensitively
    kind: Mapped[str | None] = mapped_column(String(32))  # AccountKind, once the forge told us
    # configuration side
    configured: Mapped[bool] = mapped_column(Boolean, default=True)
    config_name: Mapped[str | None] = mapped_column(String(500))
    pso_id: Mapped[str | None] = mapped_column(String(64))
    ministry: Mapped[str | None] = mapped_column(String(255))
    organisation: Mapped[str | None] = mapped_column(String(500))  # the body's name in the official directory
    ignored_since: Mapped[dt.date | None] = mapped_column(Date)
    floss_policy: Mapped[str | None] = mapped_column(String(1000))
    ospo_url: Mapped[str | None] = mapped_column(String(1000))
    # forge side
    forge_account_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    html_url: Mapped[str | None] = mapped_column(String(1000))
    avatar_url: Mapped[str | None] = mapped_column(String(1000))
    website: Mapped[str | None] = mapped_column(String(1000))
    email: Mapped[str | None] = mapped_column(String(500))
    location: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    followers: Mapped[int | None] = mapped_column(Integer)
    repositories_count: Mapped[int | None] = mapped_column(Integer)
    # crawl side
    first_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)


class Repository(Base):
    """A repository, keyed by forge plus the forge's numeric id so that a rename or transfer updates the row."""

    __tablename__ = "repositories"
    __table_args__ = (
        UniqueConstraint("forge_id", "forge_repo_id"),
        Index("ix_repositories_account_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forge_id: Mapped[int] = mapped_column(ForeignKey("forges.id", ondelete="CASCADE"))
    forge_repo_id: Mapped[int] = mapped_column(BigInteger)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(1000))
    previous_full_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(500))
    owner_path: Mapped[str] = mapped_column(String(1000))
    html_url: Mapped[str] = mapped_column(String(1000))
    visibility: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    homepage: Mapped[str | None] = mapped_column(String(1000))
    default_branch: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(100))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    stars: Mapped[int] = mapped_column(Integer, default=0)
    forks: Mapped[int] = mapped_column(Integer, default=0)
    watchers: Mapped[int | None] = mapped_column(Integer)
    open_issues: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    pushed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    fork: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_url: Mapped[str | None] = mapped_column(String(1000))
    template: Mapped[bool] = mapped_column(Boolean, default=False)
    empty: Mapped[bool] = mapped_column(Boolean, default=False)
    license_spdx: Mapped[str | None] = mapped_column(String(100))
    licence_source: Mapped[str | None] = mapped_column(String(20))  # "forge" | "publiccode"; None: no licence
    # signals (RepositorySignals), refreshed at most daily
    commits_365d: Mapped[int | None] = mapped_column(Integer)
    contributors_365d: Mapped[int | None] = mapped_column(Integer)
    last_commit_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    releases_count: Mapped[int | None] = mapped_column(Integer)
    latest_release_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    has_readme: Mapped[bool | None] = mapped_column(Boolean)
    has_license: Mapped[bool | None] = mapped_column(Boolean)
    has_contributing: Mapped[bool | None] = mapped_column(Boolean)
    has_changelog: Mapped[bool | None] = mapped_column(Boolean)
    has_publiccode: Mapped[bool | None] = mapped_column(Boolean)
    publiccode: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    signals_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # details a crawl could not refresh ("licence,activity"): their stored values are older than the crawl
    stale_details: Mapped[str | None] = mapped_column(String(200))
    # what the stored details were read from (licence file ids, publiccode.yml id, when the activity count
    # changes by itself): a crawl that finds the same marks skips those requests
    detail_marks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer, default=0)
    # lifecycle
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    gone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_run_id: Mapped[int | None] = mapped_column(Integer)


class RepositoryMetric(Base):
    """One row per repository per crawl day, for trends; the day's last crawl wins."""

    __tablename__ = "repository_metrics"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    stars: Mapped[int] = mapped_column(Integer)
    forks: Mapped[int] = mapped_column(Integer)
    watchers: Mapped[int | None] = mapped_column(Integer)
    open_issues: Mapped[int | None] = mapped_column(Integer)
    commits_365d: Mapped[int | None] = mapped_column(Integer)
    contributors_365d: Mapped[int | None] = mapped_column(Integer)
    license_spdx: Mapped[str | None] = mapped_column(String(100))  # "" for none; NULL: day recorded before 0004
    has_publiccode: Mapped[bool | None] = mapped_column(Boolean)


class CrawlRun(Base):
    """One crawl: when, how it ended, and totals (per-forge detail in `per_forge`)."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32))  # running | ok | partial | failed | interrupted
    trigger: Mapped[str] = mapped_column(String(32), default="cli")  # cli | schedule | demo
    process: Mapped[str | None] = mapped_column(String(300))  # "hostname:pid" of the crawler, to spot dead runs
    accounts_ok: Mapped[int] = mapped_column(Integer, default=0)
    accounts_failed: Mapped[int] = mapped_column(Integer, default=0)
    accounts_unsupported: Mapped[int] = mapped_column(Integer, default=0)
    accounts_skipped: Mapped[int] = mapped_column(Integer, default=0)
    repos_new: Mapped[int] = mapped_column(Integer, default=0)
    repos_updated: Mapped[int] = mapped_column(Integer, default=0)
    repos_gone: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    not_modified: Mapped[int] = mapped_column(Integer, default=0)
    rest_points: Mapped[int] = mapped_column(Integer, default=0)
    graphql_points: Mapped[int] = mapped_column(Integer, default=0)
    per_forge: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AccountOutcome(Base):
    """How the crawl of one account ended in one run: the unit the status page explains."""

    __tablename__ = "account_outcomes"
    __table_args__ = (
        Index("ix_account_outcomes_account_id", "account_id"),
        Index("ix_account_outcomes_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    repos_seen: Mapped[int] = mapped_column(Integer, default=0)
    repos_new: Mapped[int] = mapped_column(Integer, default=0)
    repos_updated: Mapped[int] = mapped_column(Integer, default=0)
    repos_gone: Mapped[int] = mapped_column(Integer, default=0)
    repos_renamed: Mapped[int] = mapped_column(Integer, default=0)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"new": [...], "gone": [...], "renamed": [...]}
    requests: Mapped[int] = mapped_column(Integer, default=0)
    not_modified: Mapped[int] = mapped_column(Integer, default=0)
    rest_points: Mapped[int] = mapped_column(Integer, default=0)
    graphql_points: Mapped[int] = mapped_column(Integer, default=0)


class DirectoryService(Base):
    """One body of DILA's official directory (the "annuaire", ROAE file); replaced whole by each load."""

    __tablename__ = "directory_services"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the pso_id, lower-cased
    name: Mapped[str] = mapped_column(Text)
    acronym: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[str | None] = mapped_column(String(64))  # by "Service Fils"; None for a root
    url: Mapped[str | None] = mapped_column(String(1000))  # its page on lannuaire.service-public.gouv.fr
    source: Mapped[str] = mapped_column(String(1000))  # the file or URL it was loaded from
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class HttpValidatorRow(Base):
    """ETag / Last-Modified of a past answer, sent back as If-None-Match / If-Modified-Since next time."""

    __tablename__ = "http_validators"
    __table_args__ = (UniqueConstraint("forge_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    forge_id: Mapped[int] = mapped_column(ForeignKey("forges.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(2000))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    memo: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class QueuedAccount(Base):
    """One account of a run crawled by the task queue (`codeindex crawl --enqueue`, `codeindex worker`): the run's
    plan, so that a distributed run knows what is left, and which worker holds what. Local runs have none."""

    __tablename__ = "queued_accounts"
    __table_args__ = (UniqueConstraint("run_id", "forge_host", "login"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    forge_host: Mapped[str] = mapped_column(String(255))
    login: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))  # waiting | running | done
    outcome: Mapped[str | None] = mapped_column(String(32))  # the account's OutcomeStatus once done
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # > 1: a worker died (or stopped) during it
    worker: Mapped[str | None] = mapped_column(String(300))  # "hostname:pid" of the last worker that took it
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RateBudget(Base):
    """A token's rate-limit budget for one resource as the forge last reported it, shared by every worker.
    The token is known by a short hash only, never stored."""

    __tablename__ = "rate_budgets"

    token_hash: Mapped[str] = mapped_column(String(16), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    forge_host: Mapped[str] = mapped_column(String(255))
    remaining: Mapped[int | None] = mapped_column(Integer)
    limit: Mapped[int | None] = mapped_column(Integer)
    reset_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
