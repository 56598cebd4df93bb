"""The official directory (DILA's "annuaire", the ROAE file): which ministry a `pso_id` belongs to.

code.gouv.fr's rule (../shared/docs/annuaire.md): invert the "Service Fils" links so that each body has one parent,
then walk up from the account's `pso_id` until a top node of `config/ministries.yml` (the ministry) or a body with
no parent (no ministry). "Autre hiérarchie" links are not followed. Ids compare case-insensitively.

Here: the walk (`Directory.resolve`), the shipped excerpt (a CSV of real chains, for use before any directory was
loaded), and the storage: `replace_directory` swaps the whole stored directory in the caller's transaction, so a
bad file never leaves half a directory; `load_directory` reads it back.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from index.models import Account, DirectoryService, Forge

UNKNOWN_PSO_ID = "00000000-0000-0000-0000-000000000000"
SERVICES = cast(Table, DirectoryService.__table__)
BATCH = 1000


@dataclass(frozen=True, slots=True)
class Service:
    """One body: its id (lowercase), name, acronym, and its parent by "Service Fils" (None for a root)."""

    id: str
    name: str | None
    acronym: str | None = None
    parent_id: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a pso_id leads: its ministry (a top node) if any, and the body's own name if the directory has it."""

    pso_id: str
    ministry_id: str | None
    ministry: str | None
    organisation: str | None
    chain: tuple[str, ...]  # the ids walked, the body first


@dataclass(frozen=True)
class Directory:
    """A set of bodies linked child → parent, and where it came from (for messages)."""

    services: Mapping[str, Service]
    source: str
    loaded_at: dt.datetime | None = None

    def __len__(self) -> int:
        return len(self.services)

    def __contains__(self, pso_id: object) -> bool:
        return isinstance(pso_id, str) and pso_id.strip().lower() in self.services

    def name(self, pso_id: str | None) -> str | None:
        service = self.services.get((pso_id or "").strip().lower())
        return service.name if service else None

    def resolve(self, pso_id: str | None, tops: Mapping[str, str]) -> Resolution | None:
        """Walk up from `pso_id` to a top node of `tops` (pso_id → ministry name). None for no or unknown id.

        A top node resolves to itself even when the directory does not hold it; a loop (which a stored directory
        never has, but an excerpt could) ends the walk without a ministry.
        """
        if not pso_id or pso_id.strip().lower() == UNKNOWN_PSO_ID:
            return None
        start = pso_id.strip().lower()
        top_names = {key.lower(): name for key, name in tops.items()}
        chain: list[str] = []
        current: str | None = start
        while current is not None and current not in chain:
            chain.append(current)
            if current in top_names:
                return Resolution(start, current, top_names[current], self.name(start), tuple(chain))
            service = self.services.get(current)
            current = service.parent_id if service else None
        return Resolution(start, None, None, self.name(start), tuple(chain))


def empty_directory(source: str = "(none)") -> Directory:
    return Directory({}, source)


# the shipped excerpt ------------------------------------------------------------------------------------------------
EXCERPT_COLUMNS = ("pso_id", "name", "ministry_id", "ministry", "chain", "accounts_in_list")


class ExcerptError(ValueError):
    """The excerpt CSV is not what the code expects; the message names the file and line."""


def read_excerpt(path: Path) -> Directory:
    """The excerpt CSV (pso_id, name, ministry_id, ministry, chain "child > parent > … > ministry") as a directory
    of the links its chains walked: enough to answer for the ids it lists, and for any id on their chains."""
    services: dict[str, Service] = {}
    names: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != EXCERPT_COLUMNS:
            raise ExcerptError(f"{path}: columns {reader.fieldnames}; expected {', '.join(EXCERPT_COLUMNS)}")
        for row in reader:
            chain = [part.strip().lower() for part in row["chain"].split(">") if part.strip()]
            pso_id = row["pso_id"].strip().lower()
            if not chain or chain[0] != pso_id:
                raise ExcerptError(f"{path}:{reader.line_num}: chain does not start with its pso_id {pso_id}")
            names[pso_id] = row["name"].strip()
            if row["ministry_id"].strip():
                names.setdefault(row["ministry_id"].strip().lower(), row["ministry"].strip())
            for child, parent in zip(chain, [*chain[1:], None], strict=True):
                if parents.get(child) not in (None, parent):
                    raise ExcerptError(f"{path}:{reader.line_num}: {child} has two parents")
                if parent is not None or child not in parents:
                    parents[child] = parent
    for pso_id, parent in parents.items():
        services[pso_id] = Service(pso_id, names.get(pso_id) or None, None, parent)
    return Directory(services, f"excerpt {path.name}")


# storage -------------------------------------------------------------------------------------------------------------
def replace_directory(session: Session, services: Iterable[Service], source: str, loaded_at: dt.datetime) -> int:
    """Replace the stored directory by `services`, in the caller's transaction (all or nothing)."""
    session.execute(delete(DirectoryService))
    rows = [
        {"id": s.id.lower(), "name": s.name or "", "acronym": s.acronym or None,
         "parent_id": s.parent_id.lower() if s.parent_id else None, "url": s.url or None,
         "source": source, "loaded_at": loaded_at}
        for s in services
    ]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(SERVICES), rows[start:start + BATCH])
    return len(rows)


def load_directory(session: Session) -> Directory | None:
    """The stored directory, or None when none was ever loaded (or the table does not exist yet)."""
    try:
        rows = session.execute(select(DirectoryService.id, DirectoryService.name, DirectoryService.acronym,
                                      DirectoryService.parent_id, DirectoryService.url, DirectoryService.source,
                                      DirectoryService.loaded_at)).all()
    except SQLAlchemyError:
        return None
    if not rows:
        return None
    services = {r.id: Service(r.id, r.name or None, r.acronym, r.parent_id, r.url) for r in rows}
    return Directory(services, rows[0].source, max(r.loaded_at for r in rows))


def stored_services(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DirectoryService)) or 0)


def refresh_account_ministries(
    session: Session, entries: Mapping[tuple[str, str], tuple[str | None, str | None]]
) -> int:
    """Set (ministry, organisation) of the accounts keyed (host, login) that the index holds; how many changed."""
    forge_ids = {host: fid for fid, host in session.execute(select(Forge.id, Forge.host))}
    changed = 0
    by_key = {(forge_ids[host], login.strip().strip("/").lower()): value
              for (host, login), value in entries.items() if host in forge_ids}
    for account in session.scalars(select(Account)):
        value = by_key.get((account.forge_id, account.login_key))
        if value is not None and (account.ministry, account.organisation) != value:
            account.ministry, account.organisation = value
            changed += 1
    return changed
