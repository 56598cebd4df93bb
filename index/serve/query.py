"""The API's reads: a page of repositories (filtered, searched, sorted, paginated by keyset, with facet counts:
index.serve.listing decides which), one repository by URL, accounts and ministries with their status.

The publication rules are the export's (`index.queries.published_filters`, public and not gone), evaluated as of
the request's UTC day, so a filter lists exactly the repositories the export holds for it. Every value reaches SQL
as a bound parameter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, select

from index.models import Account, Forge, Repository
from index.queries import PUBLISHED_TIME, published_filters
from index.serve import listing as live
from index.serve.listing import ACTIVITY, MINISTRY, Snapshot
from index.serve.params import Filters, Listing, encode_cursor
from index.status.report import account_file, ministry_slugs


def _activity_text(dialect: str) -> ColumnElement[Any]:
    return func.coalesce(PUBLISHED_TIME[dialect](ACTIVITY), "")


def _published(day: dt.date) -> tuple[Any, ...]:
    return (Repository.visibility == "public", Repository.gone_at.is_(None), *published_filters(day))


def _joined(statement: Any) -> Any:
    return statement.join(Account, Account.id == Repository.account_id).join(Forge, Forge.id == Account.forge_id)


def account_url(host: str, login: str, kind: str | None, html_url: str | None) -> str:
    """As index.queries.ExportedAccount.url."""
    if html_url:
        return html_url
    return f"https://{host}" if kind == "instance" else f"https://{host}/{login}"


ITEM_COLUMNS = (Repository.id, Repository.full_name, Repository.name, Repository.html_url, Repository.description,
                Repository.language, Repository.topics, Repository.stars, Repository.forks, Repository.archived,
                Repository.fork, Repository.has_publiccode, Repository.license_spdx, Repository.score,
                Forge.host, Forge.kind, Account.login, Account.kind, Account.html_url, MINISTRY.label("ministry"),
                Account.organisation, Account.config_name)


def _item(row: Any, activity: str) -> dict[str, Any]:
    url = account_url(row.host, row.login, row.kind_1, row.html_url_1)
    return {
        "full_name": row.full_name, "name": row.name, "url": row.html_url,
        "description": (row.description or "").strip() or None, "language": row.language or None,
        "topics": list(row.topics or []), "stars": row.stars, "forks": row.forks, "archived": bool(row.archived),
        "fork": bool(row.fork), "publiccode": bool(row.has_publiccode), "license": row.license_spdx or None,
        "score": row.score, "last_activity": activity or None,
        "forge": {"host": row.host, "kind": row.kind},
        "account": {"login": row.login, "kind": row.kind_1, "url": url,
                    "status": "/data/status/" + account_file(row.host, row.login)},
        "ministry": row.ministry,
        "organisation": (row.organisation or "").strip() or (row.config_name or "").strip() or None,
    }


def repositories(connection: Connection, snapshot: Snapshot, listing: Listing, now: dt.datetime) -> dict[str, Any]:
    """A page of the listing; on a first page (or when asked), the total and facet counts of the whole filter.
    Which repositories, in which order, and the counts come from the in-memory Snapshot (index.serve.listing);
    the page's rows are read from the index by id."""
    chosen = live.page(snapshot, connection, listing, now)
    dialect = connection.dialect.name
    found = {row.id: row for row in connection.execute(
        _joined(select(*ITEM_COLUMNS, _activity_text(dialect).label("activity")))
        .where(Repository.id.in_(chosen.ids)))} if chosen.ids else {}
    return {
        "items": [_item(found[i], found[i].activity) for i in chosen.ids if i in found],
        "next_cursor": encode_cursor(listing.sort, *chosen.next_cursor) if chosen.next_cursor else None,
        "sort": listing.sort, "limit": listing.limit, "filters": listing.filters.query_string(),
        **chosen.counts,
    }


def repository(connection: Connection, url: str, now: dt.datetime) -> dict[str, Any] | None:
    dialect = connection.dialect.name
    row = connection.execute(
        _joined(select(*ITEM_COLUMNS, _activity_text(dialect).label("activity")))
        .where(*_published(now.date()), func.lower(Repository.html_url) == url.strip().rstrip("/").lower())
        .order_by(Repository.id).limit(1)
    ).first()
    return None if row is None else _item(row, row.activity)


def accounts(connection: Connection, f: Filters, now: dt.datetime) -> list[dict[str, Any]]:
    """Configured accounts (listed or not), with their published repositories and last crawl."""
    day = now.date()
    listed = and_(*published_filters(day))
    counts = (select(Repository.account_id, func.count().label("n")).where(
        Repository.visibility == "public", Repository.gone_at.is_(None)).group_by(Repository.account_id).subquery())
    where: list[Any] = [Account.configured.is_(True)]
    if f.ministry is not None:
        where.append(MINISTRY.is_(None) if f.ministry.lower() == "none" else MINISTRY == f.ministry)
    if f.forge is not None:
        where.append(Forge.host == f.forge)
    if f.account is not None:
        where += [Forge.host == f.account[0], Account.login_key == f.account[1].lower()]
    rows = connection.execute(
        select(Forge.host, Account.login, Account.kind, Account.html_url, MINISTRY.label("ministry"),
               Account.organisation, Account.config_name, Account.last_status, Account.last_success_at,
               case((listed, True), else_=False).label("listed"), func.coalesce(counts.c.n, 0).label("n"))
        .join(Forge, Forge.id == Account.forge_id).outerjoin(counts, counts.c.account_id == Account.id)
        .where(*where).order_by(Forge.host, Account.login_key)
    ).all()
    return [{
        "host": r.host, "login": r.login, "kind": r.kind, "url": account_url(r.host, r.login, r.kind, r.html_url),
        "ministry": r.ministry,
        "organisation": (r.organisation or "").strip() or (r.config_name or "").strip() or None,
        "listed": bool(r.listed), "repositories": int(r.n) if r.listed else 0,
        "crawl": {"status": r.last_status,
                  "last_success_at": r.last_success_at.strftime("%Y-%m-%dT%H:%M:%SZ") if r.last_success_at else None},
        "status": "/data/status/" + account_file(r.host, r.login),
    } for r in rows]


def ministries(connection: Connection, now: dt.datetime) -> list[dict[str, Any]]:
    listed = accounts(connection, Filters(), now)
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for account in listed:
        groups.setdefault(account["ministry"], []).append(account)
    slugs = ministry_slugs(groups)
    return [{
        "name": name, "accounts": len(group), "accounts_listed": sum(a["listed"] for a in group),
        "repositories": sum(a["repositories"] for a in group),
        "status": f"/data/status/ministries/{slugs[name]}.html",
    } for name, group in sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or ""))]
