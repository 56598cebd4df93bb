"""`check`: is this forge path (an account or a repository) in the listing, and if not, why.

The path is looked up on its forge as a repository's current path, then as a previous path (a rename), then as
an account, then as a repository under a configured account (the longest configured prefix, or the forge itself
when it is crawled whole). The exported record shown is the export's own (`index.export.build`), from its read model,
so it is byte-for-byte what repositories.json / organisations.json publish.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, and_, cast, func, select
from sqlalchemy.orm import Session

from index.export.format import iso
from index.export.rows import account_json, repository_json
from index.models import Account, AccountOutcome, Forge, Repository
from index.queries import published_filters, read_model, snapshot
from index.status.report import SCHEMA_VERSION, account_entry, exclusion, summary_entry

REPO_REASONS = {
    "gone": "the forge no longer lists it (deleted, made private or moved away) since {gone}",
    "private": "it is private on the forge: only public repositories are listed",
    "internal": "it is internal on the forge (visible to signed-in users only): only public repositories are listed",
}


def _stored(repo: Repository) -> dict[str, Any]:
    return {
        "full_name": repo.full_name, "html_url": repo.html_url, "visibility": repo.visibility,
        "gone_at": iso(repo.gone_at), "previous_full_names": list(repo.previous_full_names or []),
        "first_seen": iso(repo.first_seen), "last_seen": iso(repo.last_seen),
        "fork": repo.fork, "archived": repo.archived, "empty": repo.empty,
    }


def _find_repository(session: Session, forge: Forge, key: str) -> tuple[Repository | None, bool]:
    """(repository, found under a previous path). A live repository wins over a gone one with the same path."""
    current = list(session.scalars(
        select(Repository).where(Repository.forge_id == forge.id, func.lower(Repository.full_name) == key)
    ))
    if current:
        return sorted(current, key=lambda r: r.gone_at is not None)[0], False
    candidates = session.scalars(select(Repository).where(
        Repository.forge_id == forge.id, func.lower(cast(Repository.previous_full_names, String)).contains(key)
    ))
    renamed = [r for r in candidates if key in (p.lower() for p in r.previous_full_names or [])]
    if renamed:
        return sorted(renamed, key=lambda r: (r.gone_at is not None, -r.id))[0], True
    return None, False


def _find_account(session: Session, forge: Forge, key: str) -> tuple[Account | None, bool]:
    """(account, the path is the account itself). Otherwise the longest account path containing it."""
    accounts = list(session.scalars(select(Account).where(Account.forge_id == forge.id)))
    for account in accounts:
        if account.login_key == key:
            return account, True
    owners = [a for a in accounts if key.startswith(a.login_key + "/")]
    if owners:
        return max(owners, key=lambda a: len(a.login_key)), False
    whole = [a for a in accounts if a.kind == "instance" or a.login_key == forge.host]
    return (whole[0], False) if whole else (None, False)


def _account_status(session: Session, account: Account, forge: Forge, day: dt.date) -> dict[str, Any]:
    listed = bool(session.scalar(
        select(and_(*published_filters(day))).select_from(Account).join(Forge, Forge.id == Account.forge_id)
        .where(Account.id == account.id)
    ))
    repos = session.execute(select(
        Repository.account_id, Repository.full_name, Repository.html_url, Repository.visibility,
        Repository.description, Repository.fork, Repository.archived, Repository.empty, Repository.license_spdx,
        Repository.has_publiccode, Repository.publiccode, Repository.gone_at, Repository.previous_full_names,
    ).where(Repository.account_id == account.id)).all()
    outcome = session.scalar(
        select(AccountOutcome).where(AccountOutcome.account_id == account.id).order_by(AccountOutcome.id.desc())
        .limit(1)
    )
    return account_entry(account, forge, listed, repos, outcome, day)


def check_path(engine: Any, host: str, path: str, *, now: dt.datetime) -> dict[str, Any]:
    """A check document (check.schema.json) for `path` on `host`; `url` and `proposed_yaml` are left to the caller."""
    if now.tzinfo is None:
        raise ValueError("check_path needs a timezone-aware `now`")
    day = now.astimezone(dt.UTC).date()
    host, key = host.lower(), path.strip("/").lower()
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "generated_at": iso(now), "url": None, "forge": host, "path": path.strip("/"),
        "found": False, "exported": False, "target": None, "reason": "not_configured",
        "explanation": f"no configured account on {host} covers {path.strip('/')}",
        "account": None, "record": None, "stored": None, "proposed_yaml": None,
    }
    forge_repo_id: int | None = None
    account_id: int | None = None
    with snapshot(engine) as connection, Session(bind=connection) as session:
        forge = session.scalar(select(Forge).where(Forge.host == host))
        if forge is None:
            doc["explanation"] = f"the forge {host} is not in the configuration"
            return doc
        repo, renamed = _find_repository(session, forge, key)
        account: Account | None
        if repo is not None:
            account, is_account = session.get_one(Account, repo.account_id), False
        else:
            account, is_account = _find_account(session, forge, key)
        if account is None:
            return doc
        account_id = account.id
        status = _account_status(session, account, forge, day)
        doc["account"] = summary_entry(status)
        doc["target"] = "account" if is_account else "repository"
        if is_account:
            doc.update(found=True, exported=status["listed"], reason=status["reason"],
                       explanation=status["explanation"])
        elif repo is None:
            _explain_unseen(doc, status, path.strip("/"))
        else:
            doc["found"] = True
            doc["stored"] = _stored(repo)
            why = exclusion(repo, status["listed"])
            if why is None and not renamed:
                doc.update(exported=True, reason="exported", explanation="listed: exported in repositories.json")
            elif renamed:
                doc.update(reason="renamed", explanation=f"renamed: now at {repo.full_name} ({repo.html_url})" + (
                    "" if why is None else f"; and not exported: {why.replace('_', ' ')}"))
            elif why == "account_not_listed":
                doc.update(reason=status["reason"],
                           explanation=f"its account {account.login} is not listed: {status['explanation']}")
            elif why is not None:
                doc.update(reason=why, explanation=REPO_REASONS[why].format(gone=iso(repo.gone_at)))
            forge_repo_id = repo.forge_repo_id if why is None else None
    if account_id is not None and (forge_repo_id is not None or (doc["target"] == "account" and doc["exported"])):
        _attach_record(doc, engine, day, host, account_id, forge_repo_id)
    return doc


def _explain_unseen(doc: dict[str, Any], status: dict[str, Any], path: str) -> None:
    if not status["listed"] or status["crawl"]["last_success_at"] is None:
        doc.update(reason=status["reason"], explanation=f"its account {status['login']}: {status['explanation']}")
        return
    doc.update(reason="not_seen", explanation=(
        f"the account {status['login']} was crawled on {status['crawl']['last_success_at']} and {path} was not "
        "among its public repositories: private, created since that crawl, or a wrong URL"))


def _attach_record(doc: dict[str, Any], engine: Any, day: dt.date, host: str, account_id: int,
                   forge_repo_id: int | None) -> None:
    """The exported record, from the export's own read model and serialisers."""

    model = read_model(engine, day)
    if forge_repo_id is None:
        account = next((a for a in model.accounts if a.id == account_id), None)
        if account is not None:
            repos = [r for r in model.repositories if r.account.id == account_id]
            doc["record"] = account_json(account, repos)
        return
    repo = next((r for r in model.repositories
                 if r.account.forge.host == host and r.forge_repo_id == forge_repo_id), None)
    if repo is not None:
        doc["record"] = repository_json(repo)
