"""Referencing status: for every account the index knows, is it listed, what is missing, and why.

A ministry that does not find its code in the listing answers the question itself here, from what the index
holds (no configuration needed): `load_status` classifies each account with one `Reason`, counts its repositories
(exported, excluded and why, merely flagged), its licence and publiccode.yml coverage, and the changes of its
latest crawl. `check_path` explains one forge path (an account or a repository). The crawler side
(`crawler.referencing`) adds what only the configuration knows: accounts not configured at all, with the YAML to
propose.

Export policy: the account-level rule is the export's own predicate (`index.queries.published_filters`, evaluated in
SQL), so "listed" here means exactly "in organisations.json". The repository-level rule (public and not gone,
on a listed account) is restated once, in `exclusion`; forks, archived and empty repositories are exported and
only flagged. Personal (user) accounts are exported like organisations, with kind "user" (the code.gouv.fr
compatibility files leave them out of their organisations list).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, and_, func, select
from sqlalchemy.orm import Session

from index.export.format import iso
from index.history import HistoryDay, ministry_history
from index.models import Account, AccountOutcome, Forge, Repository
from index.queries import decoder, driver_rows, known_pso, published, published_filters, snapshot

SCHEMA_VERSION = "1.0"
NOT_SPDX = frozenset({"other", "noassertion", "none", "unknown"})
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Reason(StrEnum):
    """Why an account is, or is not, in the listing (one per account; docs/status.md explains each)."""

    OK = "ok"
    NO_PUBLIC_REPOSITORIES = "no_public_repositories"
    USER_ACCOUNT = "user_account"
    NEVER_CRAWLED = "never_crawled"
    NOT_FOUND = "not_found"
    UNREACHABLE = "unreachable"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"
    IGNORED = "ignored"
    REMOVED = "removed_from_configuration"
    FORGE_REMOVED = "forge_removed"
    NOT_CONFIGURED = "not_configured"  # only the crawler side, which reads the configuration, can say it
    UNPUBLISHED = "unpublished"  # the export leaves it out for a rule this module does not know


LABELS: dict[Reason, str] = {
    Reason.OK: "listed",
    Reason.NO_PUBLIC_REPOSITORIES: "listed, no public repository",
    Reason.USER_ACCOUNT: "personal account",
    Reason.NEVER_CRAWLED: "never crawled yet",
    Reason.NOT_FOUND: "account not found on the forge",
    Reason.UNREACHABLE: "host unreachable",
    Reason.AUTH: "token refused",
    Reason.RATE_LIMITED: "rate limit exhausted",
    Reason.UNSUPPORTED: "forge kind not supported",
    Reason.FAILED: "crawl failed",
    Reason.INTERRUPTED: "crawl interrupted",
    Reason.SKIPPED: "skipped by the last crawl",
    Reason.IGNORED: "ignored",
    Reason.REMOVED: "no longer in the configuration",
    Reason.FORGE_REMOVED: "forge no longer in the configuration",
    Reason.NOT_CONFIGURED: "not in the configuration",
    Reason.UNPUBLISHED: "left out by the export policy",
}
_FAILURES = {
    "not_found": (Reason.NOT_FOUND, "the forge answers 404 for this account: renamed, deleted, or a typo"),
    "unreachable": (Reason.UNREACHABLE, "the forge could not be reached (DNS, connection, TLS or timeout)"),
    "auth": (Reason.AUTH, "the forge refused the crawler's token (401/403)"),
    "rate_limited": (Reason.RATE_LIMITED, "the forge's rate limit ran out before the listing was complete"),
    "unsupported": (Reason.UNSUPPORTED, "this crawler cannot read this kind of forge yet"),
    "failed": (Reason.FAILED, "the crawl failed after retries"),
    "interrupted": (Reason.INTERRUPTED, "the crawl was stopped before it finished this account"),
    "skipped": (Reason.SKIPPED, "the last crawl skipped this account (filtered out)"),
}
EXCLUSIONS = ("account_not_listed", "gone", "private", "internal")  # the export leaves these out
FLAGS = ("fork", "archived", "empty")  # exported, only flagged


def normalise(text: str) -> str:
    """Case- and accent-insensitive form: "Ministère de l'Éducation" matches "education"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("’", "'")


def slug(name: str | None) -> str:
    if not name:
        return "no-ministry"
    return re.sub(r"[^a-z0-9]+", "-", normalise(name)).strip("-")[:80] or "ministry"


def safe_name(text: str) -> str:
    """A file name for any host or login: lower-case, [a-z0-9._-] kept, the rest as ~XX; never hidden or '..'."""
    out = []
    for i, char in enumerate(text.lower()):
        if char.isascii() and (char.isalnum() or char in "_-" or (char == "." and i > 0)):
            out.append(char)
        else:
            out.append("".join(f"~{b:02x}" for b in char.encode("utf-8")))
    return "".join(out) or "~"


def account_file(host: str, login: str) -> str:
    return f"accounts/{safe_name(host)}/{safe_name(login)}.json"


# reading ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatusData:
    """Every account's status entry (detailed), as of `day`, from one snapshot."""

    generated_at: str
    day: dt.date
    accounts: list[dict[str, Any]]
    history: Mapping[str | None, list[HistoryDay]] = field(default_factory=dict)  # per ministry (index.history)


def load_status(engine: Engine, *, now: dt.datetime) -> StatusData:
    if now.tzinfo is None:
        raise ValueError("load_status needs a timezone-aware `now`")
    day = now.astimezone(dt.UTC).date()
    with snapshot(engine) as connection:
        accounts = _read_accounts(connection, day)
        history = ministry_history(connection, day)
    generated_at = iso(now)
    assert generated_at is not None
    return StatusData(generated_at, day, accounts, history)


class StatusRepository(NamedTuple):
    """What the report needs of a repository (`account_entry` takes any object with these attributes)."""

    account_id: int
    full_name: str
    html_url: str
    visibility: str
    description: str | None
    fork: bool
    archived: bool
    empty: bool
    license_spdx: str | None
    has_publiccode: bool | None
    publiccode: dict[str, Any] | None
    gone_at: str | None  # as published ("YYYY-MM-DDTHH:MM:SSZ")
    previous_full_names: list[str]


def _read_repositories(connection: Connection) -> dict[int, list[StatusRepository]]:
    """Every repository of the index (gone, private and internal ones included), by account: read as the
    driver hands the rows (index.queries.driver_rows, decoded as the read model decodes them)."""
    names = StatusRepository._fields
    dialect = connection.dialect.name
    decode = decoder(names)
    repos: dict[int, list[StatusRepository]] = {}
    for row in driver_rows(connection, select(*(published(getattr(Repository, n), dialect) for n in names))):
        repo = StatusRepository(*decode(row, 0))
        own = repos.get(repo.account_id)
        if own is None:
            repos[repo.account_id] = [repo]
        else:
            own.append(repo)
    return repos


def _read_accounts(connection: Connection, day: dt.date) -> list[dict[str, Any]]:
    listed = and_(*published_filters(day)).label("listed")
    repos = _read_repositories(connection)
    latest = select(func.max(AccountOutcome.id)).group_by(AccountOutcome.account_id).scalar_subquery()
    with Session(bind=connection) as session:  # ORM rows on the snapshot's connection; it never commits
        outcomes = {o.account_id: o for o in session.scalars(
            select(AccountOutcome).where(AccountOutcome.id.in_(latest)))}
        entries = [
            account_entry(row.Account, row.Forge, bool(row.listed), repos.get(row.Account.id, []),
                          outcomes.get(row.Account.id), day)
            for row in session.execute(select(Account, Forge, listed).join(Forge, Forge.id == Account.forge_id))
        ]
    return sorted(entries, key=lambda e: (e["forge"], e["login"].lower(), e["login"]))


# one account ------------------------------------------------------------------------------------------------------
def exclusion(repo: Any, account_listed: bool) -> str | None:
    """The export's repository rule (index.queries): public, not gone, on a listed account."""
    if not account_listed:
        return "account_not_listed"
    if repo.gone_at is not None:
        return "gone"
    if repo.visibility != "public":
        return repo.visibility if repo.visibility in ("private", "internal") else "private"
    return None


def has_spdx(licence: str | None) -> bool:
    return bool(licence) and licence.strip().lower() not in NOT_SPDX  # type: ignore[union-attr]


def publiccode_state(has_publiccode: bool | None, parsed: Mapping[str, Any] | None) -> tuple[str, str | None]:
    if parsed is not None:
        if parsed.get("valid"):
            return "valid", None
        problems = [p for p in parsed.get("problems") or () if isinstance(p, (list, tuple)) and len(p) == 2]
        if problems:  # the first problems, as a maintainer fixes them: "key: message; key: message (and N more)"
            shown = "; ".join(f"{key}: {message}" if key else str(message) for key, message in problems[:3])
            return "invalid", shown + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        return "invalid", str(parsed.get("error") or "publiccode.yml could not be read")
    if has_publiccode:
        return "invalid", "publiccode.yml present but not parsed"
    return ("absent", None) if has_publiccode is False else ("unknown", None)


def _ignored(account: Account, forge: Forge, day: dt.date) -> tuple[dt.date, str] | None:
    dates = [(d, where) for d, where in ((account.ignored_since, "account"), (forge.ignored_since, "forge"))
             if d is not None and d <= day]
    return min(dates) if dates else None


def _earliest(*dates: dt.date | None) -> str | None:
    known = [d for d in dates if d is not None]
    return min(known).isoformat() if known else None


def classify(account: Account, forge: Forge, listed: bool, exported: int, day: dt.date) -> tuple[Reason, str]:
    """The one reason that best explains the account's place in the listing, and a sentence saying it."""
    when = iso(account.last_success_at)
    kept = f"; still listed with what the crawl of {when} found" if listed and when else ""
    if not forge.configured:
        return Reason.FORGE_REMOVED, f"the forge {forge.host} is no longer in the configuration"
    if not account.configured:
        return Reason.REMOVED, "the account is no longer in the configuration (its history is kept, not exported)"
    ignored = _ignored(account, forge, day)
    if ignored:
        since, where = ignored
        whose = "the account's" if where == "account" else f"the forge {forge.host}'s"
        return Reason.IGNORED, f"ignored since {since.isoformat()} ({whose} ignored_since): neither crawled nor exported"
    if account.last_attempt_at is None:
        return Reason.NEVER_CRAWLED, "configured, but no crawl has reached it yet: it will be listed after the next crawl"
    status = account.last_status or "ok"
    if status in _FAILURES:
        reason, text = _FAILURES[status]
        error = f" ({account.last_error})" if account.last_error else ""
        never = "" if when else "; never crawled successfully, so nothing of it is listed"
        return reason, f"{text}{error}{kept}{never}"
    if not listed:
        if account.kind == "user":
            return Reason.USER_ACCOUNT, "a personal account: the export policy leaves personal accounts out"
        return Reason.UNPUBLISHED, "the export policy leaves this account out"
    if account.kind == "user":
        return Reason.USER_ACCOUNT, (
            "a personal account, not an organisation: still exported (kind \"user\"), but left out of the "
            "code.gouv.fr-compatible organisations files; an organisation account is preferable"
        )
    if exported == 0:
        return Reason.NO_PUBLIC_REPOSITORIES, "listed, but the forge shows no public repository for it"
    return Reason.OK, f"listed: {exported} public repositories exported"


def account_url(account: Account, forge: Forge) -> str:
    if account.html_url:
        return account.html_url
    return f"https://{forge.host}" if account.kind == "instance" else f"https://{forge.host}/{account.login}"


def _changes(outcome: AccountOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    changes = outcome.changes or {}
    return {
        "run_id": outcome.run_id, "at": iso(outcome.finished_at), "status": outcome.status,
        "new": list(changes.get("new") or []), "gone": list(changes.get("gone") or []),
        "renamed": list(changes.get("renamed") or []),
    }


_flag_values = operator.attrgetter(*FLAGS)


def _time(value: dt.datetime | str | None) -> str | None:
    """A timestamp as published, from a datetime (an ORM row) or text already published (StatusRepository)."""
    return value if value is None or type(value) is str else iso(value)  # type: ignore[arg-type]


def _repository_order(repo: Any) -> tuple[str, str]:
    return (repo.full_name.lower(), repo.full_name)


def account_entry(
    account: Account, forge: Forge, listed: bool, repos: Iterable[Any], outcome: AccountOutcome | None,
    day: dt.date,
) -> dict[str, Any]:
    """One account's status, detailed (`repository_list` included; `summary_entry` drops the lists)."""
    excluded = dict.fromkeys(EXCLUSIONS, 0)
    flagged = dict.fromkeys(FLAGS, 0)
    publiccode = {"valid": 0, "invalid": 0, "absent": 0, "unknown": 0}
    no_licence: list[str] = []
    no_description: list[str] = []
    invalid: list[dict[str, str]] = []
    rows: list[dict[str, Any]] = []
    seen = 0
    for repo in sorted(repos, key=_repository_order):
        seen += 1
        why = exclusion(repo, listed)
        if why in ("private", "internal"):  # counted, never named: the report is public
            excluded[why] += 1
            continue
        full_name, description = repo.full_name, repo.description
        flags = [name for name, on in zip(FLAGS, _flag_values(repo), strict=True) if on]
        state, error = publiccode_state(repo.has_publiccode, repo.publiccode)
        described = bool(description and description.strip())
        rows.append({
            "full_name": full_name, "html_url": repo.html_url, "exported": why is None, "excluded": why,
            "flags": flags, "licence": repo.license_spdx, "publiccode": state, "publiccode_error": error,
            "description": description if described else None, "gone_at": _time(repo.gone_at),
            "previous_full_names": list(repo.previous_full_names or []),
        })
        if why is not None:
            excluded[why] += 1
            continue
        for name in flags:
            flagged[name] += 1
        publiccode[state] += 1
        if state == "invalid":
            invalid.append({"full_name": full_name, "error": error or ""})
        if not has_spdx(repo.license_spdx):
            no_licence.append(full_name)
        if not described:
            no_description.append(full_name)
    exported = seen - sum(excluded.values())
    reason, explanation = classify(account, forge, listed, exported, day)
    return {
        "forge": forge.host, "forge_kind": forge.kind, "login": account.login, "kind": account.kind,
        "url": account_url(account, forge), "name": account.name or account.config_name,
        "ministry": account.ministry or forge.ministry or None,
        "pso_id": known_pso(account.pso_id) or known_pso(forge.pso_id),
        "listed": listed, "reason": reason.value, "label": LABELS[reason], "explanation": explanation,
        "configured": bool(account.configured and forge.configured),
        "ignored_since": _earliest(account.ignored_since, forge.ignored_since),
        "crawl": {
            "last_status": account.last_status, "last_error": account.last_error,
            "last_attempt_at": iso(account.last_attempt_at), "last_success_at": iso(account.last_success_at),
        },
        "repositories": {"seen": seen, "exported": exported, "excluded": excluded, "flagged": flagged},
        "licence": {
            "with_spdx": exported - len(no_licence), "without_spdx": len(no_licence),
            "share": round((exported - len(no_licence)) / exported, 4) if exported else None,
            "without": no_licence,
        },
        "publiccode": {**publiccode, "invalid_list": invalid},
        "description": {"missing": len(no_description), "without": no_description},
        "changes": _changes(outcome),
        "status_file": account_file(forge.host, account.login),
        "repository_list": rows,
    }


def summary_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An account entry without its long lists, for overviews."""
    short = {k: v for k, v in entry.items() if k != "repository_list"}
    short["licence"] = {k: v for k, v in entry["licence"].items() if k != "without"}
    short["publiccode"] = {k: v for k, v in entry["publiccode"].items() if k != "invalid_list"}
    short["description"] = {"missing": entry["description"]["missing"]}
    if entry["changes"] is not None:
        short["changes"] = {k: v for k, v in entry["changes"].items() if k not in ("new", "gone", "renamed")} | {
            "counts": {k: len(entry["changes"][k]) for k in ("new", "gone", "renamed")}}
    return short


# selection and documents ------------------------------------------------------------------------------------------
def select_accounts(
    accounts: Iterable[dict[str, Any]], *, host: str | None = None, login: str | None = None,
    pso_id: str | None = None, ministry: str | None = None,
) -> list[dict[str, Any]]:
    """Accounts matching every given criterion; `ministry` matches ignoring case and accents, substring ok."""
    wanted = normalise(ministry) if ministry else None
    out = []
    for entry in accounts:
        if host and entry["forge"] != host.lower():
            continue
        if login and entry["login"].lower() != login.strip("/").lower():
            continue
        if pso_id and entry["pso_id"] != pso_id.lower():
            continue
        if wanted and (not entry["ministry"] or wanted not in normalise(entry["ministry"])):
            continue
        out.append(dict(entry))
    return out


def is_pso_id(text: str) -> bool:
    return bool(UUID.match(text.strip().lower()))


def _totals(accounts: list[dict[str, Any]]) -> dict[str, Any]:
    exported = sum(a["repositories"]["exported"] for a in accounts)
    licensed = sum(a["licence"]["with_spdx"] for a in accounts)
    return {
        "accounts": len(accounts),
        "listed": sum(1 for a in accounts if a["listed"]),
        "by_reason": dict(sorted(Counter(a["reason"] for a in accounts).items())),
        "repositories": {
            "seen": sum(a["repositories"]["seen"] for a in accounts),
            "exported": exported,
            "excluded": {k: sum(a["repositories"]["excluded"][k] for a in accounts) for k in EXCLUSIONS},
            "flagged": {k: sum(a["repositories"]["flagged"][k] for a in accounts) for k in FLAGS},
        },
        "licence_share": round(licensed / exported, 4) if exported else None,
        "publiccode": {k: sum(a["publiccode"][k] for a in accounts) for k in ("valid", "invalid", "absent", "unknown")},
        "without_description": sum(a["description"]["missing"] for a in accounts),
    }


def ministry_slugs(names: Iterable[str | None]) -> dict[str | None, str]:
    """Each ministry's file name (status pages, stats/ministries/), unique, in the order the report lists them."""
    used: set[str] = set()
    slugs: dict[str | None, str] = {}
    for name in sorted(set(names), key=lambda n: (n is None, normalise(n or ""))):
        base = slug(name)
        chosen, n = base, 2
        while chosen in used:
            chosen, n = f"{base}-{n}", n + 1
        used.add(chosen)
        slugs[name] = chosen
    return slugs


def ministries(accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per ministry (and one, name null, for accounts without); slugs unique."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for entry in accounts:
        groups.setdefault(entry["ministry"], []).append(entry)
    out = []
    for name, chosen in ministry_slugs(groups).items():
        out.append({"name": name, "slug": chosen, "file": f"ministries/{chosen}.json",
                    "page": f"ministries/{chosen}.html", **_totals(groups[name])})
    return out


def document(
    data: StatusData, accounts: list[dict[str, Any]], *, scope: str = "all", value: str | None = None,
    detail: bool = True, unindexed: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A status document (status.schema.json): summary, ministries and accounts of a selection."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": data.generated_at,
        "day": data.day.isoformat(),
        "scope": {"kind": scope, "value": value},
        "summary": _totals(accounts),
        "ministries": ministries(accounts),
        "accounts": [dict(a) if detail else summary_entry(a) for a in accounts],
        "unindexed": list(unindexed or []),
    }
