"""What the index remembers that a crawler can use to spend less: stored validators and known repositories."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from index.models import Account, Forge, HttpValidatorRow, Repository
from index.queries import json_read
from index.records import HttpValidator


@dataclass(frozen=True)
class KnownRepoRow:
    forge_id: int
    full_name: str
    pushed_at: dt.datetime | None
    updated_at: dt.datetime | None
    signals_at: dt.datetime | None
    license_spdx: str | None
    language: str | None
    watchers: int | None
    parent_url: str | None
    fork: bool
    stale_details: str | None
    detail_marks: dict[str, str] | None


def load_validators(session: Session, host: str) -> dict[str, HttpValidator]:
    rows = session.execute(
        select(HttpValidatorRow).join(Forge, Forge.id == HttpValidatorRow.forge_id).where(Forge.host == host)
    ).scalars()
    return {r.key: HttpValidator(r.key, r.etag, r.last_modified, r.memo) for r in rows}


def load_known_repos(connection: Connection | Session, host: str, login: str) -> list[KnownRepoRow]:
    """Repositories the index holds for an account (gone ones excluded); a Core connection skips the ORM's
    statement handling, which cost more than the query.

    The account is looked up first, so that SQLite reads the repositories by account: joined, its planner
    (without statistics) walked every repository of the forge for each account, quadratic in a crawl."""
    account_ids = (select(Account.id).join(Forge, Forge.id == Account.forge_id)
                   .where(Forge.host == host, Account.login_key == login.strip("/").lower()))
    rows = connection.execute(
        select(Repository.forge_repo_id, Repository.full_name, Repository.pushed_at, Repository.updated_at,
               Repository.signals_at, Repository.license_spdx, Repository.language, Repository.watchers,
               Repository.parent_url, Repository.fork, Repository.stale_details,
               json_read(Repository.detail_marks))
        .where(Repository.account_id.in_(account_ids), Repository.gone_at.is_(None))
    ).all()
    return [KnownRepoRow(*cast(tuple[Any, ...], row)) for row in rows]


def repository_counts(session: Session) -> dict[tuple[str, str], int]:
    """Repositories the index holds per (forge host, account login in lower case): lets the runner start the
    biggest accounts first, so that the longest unit does not start last."""
    from sqlalchemy import func

    rows = session.execute(
        select(Forge.host, Account.login_key, func.count(Repository.id))
        .join(Account, Account.forge_id == Forge.id)
        .join(Repository, Repository.account_id == Account.id)
        .where(Repository.gone_at.is_(None))
        .group_by(Forge.host, Account.login_key)
    ).all()
    return {(host, login): count for host, login, count in rows}
