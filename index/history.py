"""Each ministry's progress over time, from the daily metrics: what `stats/ministries/<slug>.json` publishes and
what the ministry's status page draws.

Per crawl day of the last HISTORY_DAYS and per ministry (the accounts' ministry as the index holds it today; the
accounts without one form the `None` group), counted by the database:
- `repositories`: public repositories of the ministry's published accounts seen by that day's crawl;
- `approved_licence`: of those, under an OSI-approved or FSF-free licence (index.licences.APPROVED_SPDX), as
  recorded that day ("" when none; days recorded before revision 0004 have NULL: the repository's current
  licence stands in);
- `active_365d`: of those, with at least one commit in the 365 days before that crawl (`commits_365d` > 0);
- `publiccode`: of those, with a publiccode.yml (as recorded that day; when it was unknown that day, or the day
  was recorded before revision 0004, the repository's current value);
- `accounts_listed`: the ministry's accounts with at least one repository seen that day;
- `accounts_configured`: the ministry's accounts configured and published today (the index keeps no history of
  the configuration, so this is the same every day).
A day on which only part of the accounts were crawled counts only those: the series is of crawl days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from sqlalchemy import Connection, Engine, case, func, select

from index.licences import APPROVED_SPDX_FORMS
from index.models import Account, Forge, Repository, RepositoryMetric
from index.queries import HISTORY_DAYS, published_filters, snapshot


class HistoryDay(TypedDict):
    day: str
    repositories: int
    approved_licence: int
    active_365d: int
    publiccode: int
    accounts_listed: int
    accounts_configured: int


SERIES = ("repositories", "approved_licence", "active_365d", "publiccode", "accounts_listed")
LABELS = {
    "repositories": "repositories listed",
    "approved_licence": "with an OSI- or FSF-approved licence",
    "active_365d": "active in the last 365 days",
    "publiccode": "with a publiccode.yml",
    "accounts_listed": "accounts listed",
    "accounts_configured": "accounts configured",
}


def _ministry() -> Any:
    return func.coalesce(Account.ministry, Forge.ministry)


def ministry_history(connection: Connection, day: dt.date) -> dict[str | None, list[HistoryDay]]:
    """Per ministry name (None: accounts without a ministry), its days in order; every ministry with a published
    account has an entry, even with no crawl day yet."""
    metric = RepositoryMetric.__table__.c
    ministry = _ministry().label("ministry")
    licence = func.coalesce(metric.license_spdx, Repository.license_spdx)
    publiccode = func.coalesce(metric.has_publiccode, Repository.has_publiccode)
    rows = connection.execute(
        select(
            ministry, metric.day, func.count(),
            func.sum(case((licence.in_(sorted(APPROVED_SPDX_FORMS)), 1), else_=0)),
            func.sum(case((metric.commits_365d > 0, 1), else_=0)),
            func.sum(case((publiccode.is_(True), 1), else_=0)),
            func.count(func.distinct(Account.id)),
        )
        .join(Repository, Repository.id == metric.repository_id)
        .join(Account, Account.id == Repository.account_id)
        .join(Forge, Forge.id == Account.forge_id)
        .where(metric.day > day - dt.timedelta(days=HISTORY_DAYS), metric.day <= day,
               Repository.visibility == "public", *published_filters(day))
        .group_by(ministry, metric.day)
        .order_by(ministry, metric.day)
    ).all()
    configured: dict[str | None, int] = dict(connection.execute(
        select(ministry, func.count()).select_from(Account).join(Forge, Forge.id == Account.forge_id)
        .where(*published_filters(day)).group_by(ministry)
    ).all())
    history: dict[str | None, list[HistoryDay]] = {name or None: [] for name in configured}
    for name, when, repositories, approved, active, with_publiccode, accounts in rows:
        history.setdefault(name or None, []).append({
            "day": when.isoformat() if isinstance(when, dt.date) else str(when)[:10],
            "repositories": int(repositories), "approved_licence": int(approved or 0),
            "active_365d": int(active or 0), "publiccode": int(with_publiccode or 0),
            "accounts_listed": int(accounts), "accounts_configured": int(configured.get(name, 0)),
        })
    return history


def read_ministry_history(engine: Engine, day: dt.date) -> dict[str | None, list[HistoryDay]]:
    with snapshot(engine) as connection:
        return ministry_history(connection, day)


def history_document(name: str | None, days: list[HistoryDay], pso_id: str | None, file_slug: str) -> dict[str, Any]:
    """stats/ministries/<slug>.json, without its head (schema_version, generated_at)."""
    return {"ministry": name, "pso_id": pso_id, "slug": file_slug, "history_days": HISTORY_DAYS,
            "labels": dict(LABELS), "days": list(days)}
