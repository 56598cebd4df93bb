"""code.gouv.fr's current file formats (since Sept 2024), so that its frontend reads our export as is.

Plain JSON arrays, as the originals (no schema_version wrapper); strings never null (the originals write ""),
counts always integers (0 when unknown: its Organizations page sorts on `s` and throws on mixed types),
licences as lower-case forge keys ("mit", "agpl-3.0", "other") rather than SPDX ids. Besides the four listings,
the files its frontend also requests: codegouvfr-forges.csv (host,kind lines), stats_preprod.json (its Stats
page) and awesome.json. The field-by-field mapping is in docs/export.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from index.export.format import JsonArrayWriter, blank_to_none, json_array, json_pretty, json_sorted_bytes
from index.export.writer import ExportWriter
from index.licences import FORGE_LICENCE_KEYS
from index.queries import ExportedAccount, ExportedRepository

SHORT_DESCRIPTION = 120
ELLIPSIS = "…"  # code.gouv.fr appends it to a description it cuts
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


def _n(value: int | None) -> int:
    """code.gouv.fr writes 0 for an unknown count (`(or followers 0)`): one JSON type per key."""
    return 0 if value is None else int(value)


def shorten(text: str | None) -> str:
    """The short files' description: at most 120 characters (code points), then "…" when it was longer."""
    text = text or ""
    return text[:SHORT_DESCRIPTION] + ELLIPSIS if len(text) > SHORT_DESCRIPTION else text


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
        "d": shorten(entry["description"]),
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
        # a whole forge has no name of its own: its host, as its login
        "name": _s(account.name or account.config_name or (account.forge.host if account.kind == "instance" else None)),
        "ospo_url": _s(account.ospo_url),
        "forge": account.forge.host,
        "organization": _s(account.organisation_name),
        "repositories_count": repositories_count,
        "followers": _n(account.followers),
    }


def owner_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """owners.json: short keys for the frontend's list of organisations."""
    return {
        "au": entry["icon_url"],
        "d": shorten(entry["description"]),
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


def forges_csv(accounts: Iterable[ExportedAccount]) -> bytes:
    """codegouvfr-forges.csv: one `host,kind` line per forge with a published account (its forge filter). Under a
    `host,kind` header: code.gouv.fr's frontend drops the first line it reads (`(next (csv/parse ...))`)."""
    forges = {a.forge.host: a.forge.kind for a in accounts}
    return "".join(f"{host},{kind}\n" for host, kind in [("host", "kind"), *sorted(forges.items())]).encode("utf-8")


def _top(counts: Mapping[Any, int], n: int | None = None) -> list[tuple[Any, int]]:
    """Largest first, ties in key order (deterministic where code.gouv.fr's map order is not)."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked if n is None else ranked[:n]


def stats_preprod(repo_entries: Sequence[Mapping[str, Any]], organisations: Sequence[Mapping[str, Any]],
                  stars_by_owner: Mapping[str, int]) -> dict[str, Any]:
    """stats_preprod.json, its Stats page, with code.gouv.fr's shapes and thresholds: top 10 licences (without
    "other") and languages as [[name, count]], top 10 organisations by stars and by repositories (more than 1)
    as [[[name, url], n]], organisations with more than one repository and more than 200 stars / 20 followers,
    and the short listing's scores in buckets of 100 (["0-100", n], by bucket)."""
    languages = Counter(e["language"] for e in repo_entries if e["language"])
    licences = Counter(e["license"] for e in repo_entries if e["license"] and e["license"].lower() != "other")
    buckets = Counter((e["awesome-score"] // 100) * 100 for e in repo_entries if e["awesome-score"] >= 0)
    by_stars = {(o["name"], o["id"]): stars_by_owner.get(o["id"], 0) for o in organisations}
    by_repos = {(o["name"], o["id"]): o["repositories_count"] for o in organisations}

    def owners_over(key: str, minimum: int, values: Mapping[str, int]) -> list[dict[str, Any]]:
        return [{"owner": o["name"], key: values[o["id"]], "repositories_count": o["repositories_count"]}
                for o in organisations if values[o["id"]] > minimum and o["repositories_count"] > 1]

    return {
        "repos_cnt": str(len(repo_entries)),
        "orgas_cnt": str(len(organisations)),
        "top_orgs_by_stars": [[list(k), v] for k, v in _top({k: v for k, v in by_stars.items() if v > 1}, 10)],
        "top_orgs_by_repos": [[list(k), v] for k, v in _top({k: v for k, v in by_repos.items() if v > 1}, 10)],
        "top_orgs_repos_stars": owners_over("total_stars", 200, {o["id"]: stars_by_owner.get(o["id"], 0)
                                                                 for o in organisations}),
        "top_orgs_repos_followers": owners_over("followers", 20, {o["id"]: o["followers"] for o in organisations}),
        "top_repos_by_score_range": [[f"{low}-{low + 100}", n] for low, n in sorted(buckets.items())],
        "top_licenses": [[k, v] for k, v in _top(licences, 10)],
        "top_languages": [[k, v] for k, v in _top(languages, 10)],
    }


def write_codegouvfr_files(
    writer: ExportWriter, folder: str, repos: list[ExportedRepository], accounts: list[ExportedAccount],
    repos_by_account: Mapping[int, list[ExportedRepository]],
) -> None:
    """The files into `folder`, from repositories and accounts already in export order; both repository
    files are written in one pass, an entry at a time (only the few keys the stats need are kept)."""
    stats_rows: list[dict[str, Any]] = []
    with writer.open(f"{folder}/codegouvfr-repositories.json", twin=True) as full_out, \
            writer.open(f"{folder}/repos_preprod.json", twin=True) as short_out:
        full, short = JsonArrayWriter(full_out), JsonArrayWriter(short_out)
        for repo in repos:
            entry = repository_entry(repo)
            stats_rows.append({k: entry[k] for k in ("awesome-score", "language", "license")})
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
    stars = {a.url: sum(r.stars for r in repos_by_account.get(a.id, [])) for a in accounts
             if a.kind in ORGANISATION_KINDS}
    writer.write(f"{folder}/codegouvfr-organizations.json", json_array(organisations), len(organisations), twin=True)
    writer.write(f"{folder}/owners.json", json_array([owner_entry(e) for e in organisations]), len(organisations),
                 twin=True)
    writer.write(f"{folder}/stats_preprod.json", json_pretty(stats_preprod(stats_rows, organisations, stars)),
                 twin=True)
    writer.write(f"{folder}/awesome.json", json_array([]), 0, twin=True)  # no awesome-codegouvfr list here
    hosts = forges_csv(accounts)
    writer.write(f"{folder}/codegouvfr-forges.csv", hosts, hosts.count(b"\n") - 1)
