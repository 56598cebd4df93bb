"""code.gouv.fr's current file formats (since Sept 2024), so that its frontend could read our export as is.

Plain JSON arrays, as the originals (no schema_version wrapper); strings never null (the originals write ""),
licences as lower-case forge keys ("mit", "agpl-3.0", "other") rather than SPDX ids. The field-by-field mapping
is in docs/export.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from index.export.format import JsonArrayWriter, blank_to_none, cut, json_array, json_sorted_bytes
from index.export.writer import ExportWriter
from index.licences import FORGE_LICENCE_KEYS
from index.queries import ExportedAccount, ExportedRepository

SHORT_DESCRIPTION = 120
ORGANISATION_KINDS = ("organization", "group", "instance")  # users are not organisations

# an SPDX id whose lower-case form, without -only / -or-later, is not a licensee key is published as "other"


def forge_licence_key(spdx: str | None) -> str:
    """SPDX id -> the lower-case key code.gouv.fr publishes; "" when there is no licence."""
    if spdx is None or not spdx.strip():
        return ""
    key = spdx.strip().lower()
    for suffix in ("-only", "-or-later", "+"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
            break
    return key if key in FORGE_LICENCE_KEYS else "other"


def _s(value: Any) -> Any:
    """code.gouv.fr writes "" where it has nothing."""
    return "" if value is None else value


def repository_entry(repo: ExportedRepository) -> dict[str, Any]:
    """Keys in sorted order (as in short_repository_entry): entries are encoded without sorting."""
    account = repo.account
    return {
        "archived": repo.archived,
        "awesome-score": repo.score,
        "contributing": bool(repo.has_contributing),
        "description": _s(blank_to_none(repo.description)),
        "fork": repo.fork,
        "forks_count": repo.forks,
        "full_name": repo.full_name,
        "id": repo.html_url,
        "language": _s(blank_to_none(repo.language)),
        "license": forge_licence_key(repo.license_spdx),
        "owner": account.url,
        "platform": account.forge.host,
        "publiccode": bool(repo.has_publiccode),
        "repo_name": repo.name,
        "template": repo.template,
        "updated_at": _s(repo.updated_at or repo.pushed_at),
    }


def short_repository_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """repos_preprod.json: the same data under one- or two-letter keys, description cut to 120 characters."""
    return {
        "a": entry["awesome-score"],
        "a?": entry["archived"],
        "c?": entry["contributing"],
        "d": cut(entry["description"], SHORT_DESCRIPTION),
        "f": entry["forks_count"],
        "f?": entry["fork"],
        "fn": entry["full_name"],
        "l": entry["language"],
        "li": entry["license"],
        "n": entry["repo_name"],
        "o": entry["owner"],
        "p": entry["platform"],
        "p?": entry["publiccode"],
        "t?": entry["template"],
        "u": entry["updated_at"],
    }


def organisation_entry(account: ExportedAccount, repositories_count: int) -> dict[str, Any]:
    return {
        "location": _s(account.location),
        "icon_url": _s(account.avatar_url),
        "created_at": _s(account.created_at),
        "description": _s(blank_to_none(account.description)),
        "email": _s(account.email),
        "floss_policy": _s(account.floss_policy),
        "website": _s(account.website),
        "id": account.url,
        "login": account.login,
        "ministry": _s(account.ministry),
        "name": _s(account.name or account.config_name),
        "ospo_url": _s(account.ospo_url),
        "forge": account.forge.host,
        "organization": _s(account.organisation_name),
        "repositories_count": repositories_count,
        "followers": _s(account.followers),
    }


def owner_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """owners.json: short keys for the frontend's list of organisations."""
    return {
        "au": entry["icon_url"],
        "d": cut(entry["description"], SHORT_DESCRIPTION),
        "f": entry["floss_policy"],
        "h": entry["website"],
        "id": entry["id"],
        "l": entry["login"],
        "m": entry["ministry"],
        "n": entry["name"],
        "os": entry["ospo_url"],
        "ps": entry["organization"],
        "r": entry["repositories_count"],
        "s": entry["followers"],
    }


def write_codegouvfr_files(
    writer: ExportWriter, folder: str, repos: list[ExportedRepository], accounts: list[ExportedAccount],
    repos_by_account: Mapping[int, list[ExportedRepository]],
) -> None:
    """The four files into `folder`, from repositories and accounts already in export order; both repository
    files are written in one pass, an entry at a time."""
    with writer.open(f"{folder}/codegouvfr-repositories.json", twin=True) as full_out, \
            writer.open(f"{folder}/repos_preprod.json", twin=True) as short_out:
        full, short = JsonArrayWriter(full_out), JsonArrayWriter(short_out)
        for repo in repos:
            entry = repository_entry(repo)
            full.append(json_sorted_bytes(entry))
            if entry["awesome-score"] >= 0:
                short.append(json_sorted_bytes(short_repository_entry(entry)))
        full.close()
        short.close()
        full_out.rows, short_out.rows = full.count, short.count
    organisations = [
        organisation_entry(a, len(repos_by_account.get(a.id, [])))
        for a in accounts
        if a.kind in ORGANISATION_KINDS and repos_by_account.get(a.id)
    ]
    writer.write(f"{folder}/codegouvfr-organizations.json", json_array(organisations), len(organisations), twin=True)
    writer.write(f"{folder}/owners.json", json_array([owner_entry(e) for e in organisations]), len(organisations),
                 twin=True)
