"""`codeindex annuaire update`: load DILA's official directory (the ROAE zip of JSON) into the index.

The file (format: ../shared/docs/annuaire.md) is read whole and checked before anything is stored: not a zip, a
truncated zip, no JSON inside, not UTF-8 or not JSON, no `service` list, duplicate ids, a cycle of "Service Fils"
links, or many links to missing ids raise `AnnuaireError` and the stored directory stays as it was. A few bad
links (to a missing id, a second parent, a body its own parent) are reported and skipped. The new directory then
replaces the old one in one transaction, together with the ministry and organisation name of every configured
account already in the index. Ids compare case-insensitively (the file's are lowercase; a YAML list may not be).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.directory import Directory, Service

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crawler.config import Config

DEFAULT_URL = (
    "https://echanges.dila.gouv.fr/OPENDATA/RefOrgaAdminEtat/FluxAnneeCourante/dila_refOrga_admin_Etat_fr_latest.zip"
)
CHILD_LINK = "Service Fils"
DOWNLOAD_TIMEOUT_S = 120.0
MAX_BYTES = 200_000_000  # the real zip is ~3 MB; anything this big is not it
# a few dangling links are the directory's normal untidiness; many mean a partial or foreign file
MAX_MISSING_LINKS, MAX_MISSING_SHARE = 5, 0.01
# a new directory with fewer than half the bodies of the stored one is refused without --force
MIN_KEPT_SHARE = 0.5


class AnnuaireError(Exception):
    """The file cannot be used; nothing was stored. The message is one paragraph for a person."""


@dataclass
class ParsedDirectory:
    services: list[Service]
    member: str  # the JSON file's name inside the zip
    links: int = 0  # "Service Fils" links kept
    problems: list[str] = field(default_factory=list)  # partial problems, skipped


@dataclass(frozen=True)
class UpdateReport:
    source: str
    member: str
    services: int
    links: int
    roots: int
    previous: int  # bodies stored before
    accounts_updated: int
    problems: tuple[str, ...]
    seconds: float

    def summary(self) -> str:
        lines = [
            f"directory loaded from {self.source} ({self.member}): {self.services} bodies (before: {self.previous}), "
            f"{self.links} parent links, {self.roots} roots; {self.accounts_updated} accounts of the index updated "
            f"in {self.seconds:.1f} s",
        ]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s) skipped:")
            lines += [f"  {p}" for p in self.problems[:50]]
            if len(self.problems) > 50:
                lines.append(f"  … and {len(self.problems) - 50} more")
        return "\n".join(lines)


def read_source(source: str, *, transport: Any = None) -> bytes:
    """The bytes of a local file, or of an http(s) URL (httpx, redirects followed, at most MAX_BYTES)."""
    if source.startswith(("http://", "https://")):
        import httpx

        try:
            with httpx.Client(timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True, transport=transport,
                              headers={"User-Agent": "codeindex-annuaire"}) as client, \
                    client.stream("GET", source) as response:
                if response.status_code != 200:
                    raise AnnuaireError(f"{source}: HTTP {response.status_code}, expected 200")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise AnnuaireError(f"{source}: more than {MAX_BYTES // 1_000_000} MB, not the directory")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise AnnuaireError(f"{source}: download failed ({type(exc).__name__}: {exc})") from None
    path = Path(source)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise AnnuaireError(f"{path}: more than {MAX_BYTES // 1_000_000} MB, not the directory")
        return path.read_bytes()
    except FileNotFoundError:
        raise AnnuaireError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AnnuaireError(f"{path}: a folder, expected the directory's zip file") from None
    except OSError as exc:
        raise AnnuaireError(f"{path}: unreadable ({exc.strerror})") from None


def _json_member(data: bytes, source: str) -> tuple[str, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        hint = " (a JSON file? give the zip DILA publishes)" if data.lstrip()[:1] in (b"{", b"[") else ""
        raise AnnuaireError(f"{source}: not a zip archive, or a truncated one{hint}") from None
    with archive:
        members = [m for m in archive.namelist() if m.lower().endswith(".json")]
        if len(members) != 1:
            raise AnnuaireError(f"{source}: expected one JSON file in the zip, found {len(members)}"
                                f" ({', '.join(archive.namelist()[:5]) or 'empty archive'})")
        try:
            raw = archive.read(members[0])
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise AnnuaireError(f"{source}: {members[0]} is damaged in the zip (truncated download?): {exc}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise AnnuaireError(f"{source}: {members[0]} starts with a UTF-16 byte-order mark; expected UTF-8 JSON")
    try:
        return members[0], raw.decode("utf-8-sig")  # DILA's file may start with a UTF-8 byte-order mark
    except UnicodeDecodeError as exc:
        raise AnnuaireError(f"{source}: {members[0]} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def parse_directory(data: bytes, source: str) -> ParsedDirectory:
    """Check and read the ROAE zip; raise AnnuaireError for a file that must not replace the stored one."""
    member, text = _json_member(data, source)
    where = f"{source}: {member}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnuaireError(f"{where}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    entries = document.get("service") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise AnnuaireError(f'{where}: expected {{"service": [...]}} with at least one service (the ROAE format)')
    parsed = ParsedDirectory([], member)
    raw: dict[str, dict[str, Any]] = {}
    for position, entry in enumerate(entries):
        pso_id = _text(entry.get("id")) if isinstance(entry, dict) else None
        if pso_id is None:
            parsed.problems.append(f"service #{position + 1}: no id, skipped")
            continue
        key = pso_id.lower()
        if key in raw:
            raise AnnuaireError(f"{where}: id {pso_id} appears twice (services #{raw[key]['#']} and #{position + 1});"
                                " ids must be unique (compared ignoring case)")
        raw[key] = {**entry, "#": position + 1}
    if not raw:
        raise AnnuaireError(f"{where}: no service has an id")
    parents, missing = _parents(raw, parsed)
    total = parsed.links + missing
    if missing > max(MAX_MISSING_LINKS, MAX_MISSING_SHARE * total):
        raise AnnuaireError(f"{where}: {missing} of {total} 'Service Fils' links point to ids missing from the "
                            "file: a partial or foreign file")
    _refuse_cycles(parents, where)
    for key, entry in raw.items():
        parsed.services.append(Service(
            id=key, name=_text(entry.get("nom")), acronym=_text(entry.get("sigle")), parent_id=parents.get(key),
            url=_text(entry.get("url_service_public")),
        ))
    return parsed


def _parents(raw: dict[str, dict[str, Any]], parsed: ParsedDirectory) -> tuple[dict[str, str], int]:
    """child → parent from the "Service Fils" links (the first parent wins); the number of links to missing ids."""
    parents: dict[str, str] = {}
    missing = 0
    for parent, entry in raw.items():
        links = entry.get("hierarchie") or []
        if not isinstance(links, list):
            parsed.problems.append(f"{parent}: hierarchie is not a list, skipped")
            continue
        for link in links:
            if not isinstance(link, dict) or link.get("type_hierarchie") != CHILD_LINK:
                continue  # "Autre hiérarchie" and other kinds are many-to-many: not followed
            child = (_text(link.get("service")) or "").lower()
            if child not in raw:
                missing += 1
                parsed.problems.append(f"{parent} → {child or '(empty)'}: child missing from the file, link skipped")
            elif child == parent:
                parsed.problems.append(f"{parent}: listed as its own child, link skipped")
            elif child in parents and parents[child] != parent:
                parsed.problems.append(f"{child}: second parent {parent} ignored (kept {parents[child]})")
            elif child not in parents:
                parents[child] = parent
                parsed.links += 1
    return parents, missing


def _refuse_cycles(parents: dict[str, str], where: str) -> None:
    done: set[str] = set()
    for start in parents:
        path: list[str] = []
        current: str | None = start
        while current is not None and current not in done:
            if current in path:
                loop = path[path.index(current):] + [current]
                raise AnnuaireError(f"{where}: a cycle of 'Service Fils' links: {' → '.join(reversed(loop))}")
            path.append(current)
            current = parents.get(current)
        done.update(path)


def update_directory(engine: Engine, source: str, *, config: Config | None = None, force: bool = False,
                     transport: Any = None, now: dt.datetime | None = None) -> UpdateReport:
    """Read, check and store the directory from `source`; re-resolve the ministries of the configured accounts."""
    import time

    from crawler.config import apply_directory
    from index.db import transaction
    from index.directory import refresh_account_ministries, replace_directory, stored_services

    started = time.monotonic()
    parsed = parse_directory(read_source(source, transport=transport), source)
    loaded_at = now or dt.datetime.now(dt.UTC)
    with transaction(engine) as session:
        previous = stored_services(session)
        if not force and previous and len(parsed.services) < MIN_KEPT_SHARE * previous:
            raise AnnuaireError(f"{source}: {len(parsed.services)} bodies, fewer than half of the {previous} stored:"
                                " a partial file? (--force to load it anyway)")
        replace_directory(session, parsed.services, source, loaded_at)
        updated = 0
        if config is not None:
            directory = Directory({s.id: s for s in parsed.services}, source, loaded_at)
            resolved = apply_directory(config, directory)
            entries: dict[tuple[str, str], tuple[str | None, str | None]] = {}
            for forge, owner in resolved.accounts():
                unit = owner or forge
                entries[(forge.host, owner.login if owner else forge.host)] = (unit.ministry, unit.organisation)
            updated = refresh_account_ministries(session, entries)
    return UpdateReport(
        source=source, member=parsed.member, services=len(parsed.services), links=parsed.links,
        roots=sum(1 for s in parsed.services if s.parent_id is None), previous=previous, accounts_updated=updated,
        problems=tuple(parsed.problems), seconds=time.monotonic() - started,
    )
