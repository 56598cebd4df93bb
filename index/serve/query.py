"""The API's reads: repositories filtered, searched, sorted and paginated by keyset, with facet counts; one
repository by URL; accounts and ministries with their status.

The publication rules are the export's (`index.queries.published_filters`, public and not gone), evaluated as of
the request's UTC day, so a filter lists exactly the repositories the export holds for it. Every value reaches SQL
as a bound parameter; the full-text match is index.search's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)

from index.models import Account, Forge, Repository
from index.queries import PUBLISHED_TIME, published_filters
from index.search import FTS_TABLE, SEARCH_DOCUMENT, fts5_query, tsquery, words
from index.serve.params import Filters, Listing, encode_cursor
from index.status.report import account_file, ministry_slugs

FACET_SIZE = 30
MINISTRY = func.coalesce(func.nullif(Account.ministry, ""), Forge.ministry)
ACTIVITY = func.coalesce(Repository.pushed_at, Repository.updated_at)


def _activity_text(dialect: str) -> ColumnElement[Any]:
    return func.coalesce(PUBLISHED_TIME[dialect](ACTIVITY), "")


def _published(day: dt.date) -> tuple[Any, ...]:
    return (Repository.visibility == "public", Repository.gone_at.is_(None), *published_filters(day))


def _joined(statement: Any) -> Any:
    return statement.join(Account, Account.id == Repository.account_id).join(Forge, Forge.id == Account.forge_id)


def conditions(f: Filters, day: dt.date, dialect: str, now: dt.datetime) -> list[Any]:
    where: list[Any] = list(_published(day))
    terms = words(f.q)
    if terms:
        if dialect == "sqlite":
            where.append(Repository.id.in_(
                text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts").bindparams(fts=fts5_query(terms))
                .columns(literal_column("rowid"))))
        else:
            where.append(text(f"{SEARCH_DOCUMENT} @@ to_tsquery('simple', :tsq)").bindparams(tsq=tsquery(terms)))
    elif f.q.strip():
        where.append(false_())  # a query with no word in it finds nothing
    if f.ministry is not None:
        where.append(MINISTRY.is_(None) if f.ministry.lower() == "none" else MINISTRY == f.ministry)
    if f.account is not None:
        host, login = f.account
        where += [Forge.host == host, Account.login_key == login.lower()]
    if f.forge is not None:
        where.append(Forge.host == f.forge)
    if f.license is not None:
        where.append(or_(Repository.license_spdx.is_(None), Repository.license_spdx == "") if f.license == "none"
                     else func.lower(Repository.license_spdx) == f.license.lower())
    if f.language is not None:
        where.append(func.lower(Repository.language) == f.language.lower())
    for name, column in (("archived", Repository.archived), ("fork", Repository.fork)):
        value = getattr(f, name)
        if value is not None:
            where.append(column.is_(value))
    if f.publiccode is not None:
        where.append(Repository.has_publiccode.is_(True) if f.publiccode
                     else or_(Repository.has_publiccode.is_(None), Repository.has_publiccode.is_(False)))
    if f.active_days is not None:
        where.append(ACTIVITY >= now - dt.timedelta(days=f.active_days))
    return where


def false_() -> Any:
    return ~true()


def _order(sort: str, dialect: str) -> tuple[Any, bool]:
    """The sort column and whether it runs descending (ties by id in the same direction)."""
    if sort == "stars":
        return Repository.stars, True
    if sort == "score":
        return Repository.score, True
    if sort == "activity":
        return _activity_text(dialect), True
    return Repository.name, False


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


def repositories(connection: Connection, listing: Listing, now: dt.datetime) -> dict[str, Any]:
    dialect = connection.dialect.name
    where = conditions(listing.filters, now.date(), dialect, now)
    column, descending = _order(listing.sort, dialect)
    page_where = list(where)
    if listing.cursor is not None:
        value, row_id = listing.cursor
        if descending:
            page_where.append(or_(column < value, and_(column == value, Repository.id < row_id)))
        else:
            page_where.append(or_(column > value, and_(column == value, Repository.id > row_id)))
    order = (column.desc(), Repository.id.desc()) if descending else (column.asc(), Repository.id.asc())
    rows = connection.execute(
        _joined(select(*ITEM_COLUMNS, column.label("sort_value"), _activity_text(dialect).label("activity")))
        .where(*page_where).order_by(*order).limit(listing.limit + 1)
    ).all()
    more = len(rows) > listing.limit
    rows = rows[:listing.limit]
    result: dict[str, Any] = {
        "items": [_item(r, r.activity) for r in rows],
        "next_cursor": encode_cursor(listing.sort, rows[-1].sort_value, rows[-1].id) if more and rows else None,
        "sort": listing.sort, "limit": listing.limit, "filters": listing.filters.query_string(),
    }
    if listing.facets or listing.cursor is None:
        result.update(facet_counts(connection, where))
    return result


def facet_counts(connection: Connection, where: list[Any]) -> dict[str, Any]:
    totals: Any = connection.execute(_joined(select(
        func.count(), func.sum(case((Repository.archived.is_(True), 1), else_=0)),
        func.sum(case((Repository.fork.is_(True), 1), else_=0)),
        func.sum(case((Repository.has_publiccode.is_(True), 1), else_=0)),
    ).select_from(Repository)).where(*where)).one()
    total = int(totals[0])

    def grouped(expression: Any) -> list[dict[str, Any]]:
        rows = connection.execute(_joined(select(expression.label("v"), func.count().label("n"))
                                          .select_from(Repository)).where(*where)
                                  .group_by(expression).order_by(func.count().desc(), expression)
                                  .limit(FACET_SIZE)).all()
        return [{"value": v, "count": n} for v, n in rows]

    licence = func.nullif(Repository.license_spdx, "")
    return {"total": total, "facets": {
        "ministry": grouped(MINISTRY), "forge": grouped(Forge.host), "license": grouped(licence),
        "language": grouped(func.nullif(Repository.language, "")),
        "archived": _flag(total, totals[1]), "fork": _flag(total, totals[2]), "publiccode": _flag(total, totals[3]),
    }}


def _flag(total: int, yes: int | None) -> list[dict[str, Any]]:
    return [{"value": True, "count": int(yes or 0)}, {"value": False, "count": total - int(yes or 0)}]


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
