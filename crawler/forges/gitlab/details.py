"""A GitLab project's details (licence, language, activity, root files, releases, publiccode.yml), each fetched
only when it may have changed, and none ever blanked by a failure.

REST is used only where GraphQL has nothing (forge-api-notes §2; GitLab's GraphQL has no licence and no commit
listing): `GET /projects/:id?license=true` (licence, fork parent, `updated_at`) for a new project or when the
root licence files' blob ids changed; `GET /projects/:id/repository/commits?since=` for projects active in the
last 365 days, again only when the project was pushed or when the oldest commit counted leaves the window;
`/repository/files/publiccode.yml/raw` when that file's blob id changed. Without GraphQL (`rest_detail`) every
detail costs its own request, as before, for projects that changed.

A detail whose request still fails after the HTTP policy's retries is *stale*: the record says so, the index
keeps the stored value (unknown, None, on a first crawl), and the next crawl asks for it first. A rate limit
that cannot be waited out is not a detail failure: it ends the account (`RateLimitExhausted`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from crawler.forges.base import KnownRepo
from crawler.forges.common import EMPTY_SIGNALS, PUBLICCODE, parse_time, tree_flags
from crawler.forges.gitlab.graphql import Capabilities
from crawler.forges.gitlab.mapping import licence_of, main_language, project_to_record, root_names
from crawler.forges.http import ForgeHttp, HttpStatusError, TransientError
from crawler.forges.publiccode import parse_publiccode
from index.records import DETAILS, RepositoryRecord, RepositorySignals

ACTIVITY_WINDOW = dt.timedelta(days=365)
LICENCE_FILES = ("license", "licence", "copying", "unlicense")  # the root files licensee reads a licence from
ALL = frozenset(DETAILS)
SIGNAL_FIELDS = frozenset(f.name for f in dataclasses.fields(RepositorySignals))
# what a detail request may still raise after the retries: the detail goes stale, the crawl goes on
DETAIL_FAILURES = (TransientError, HttpStatusError)


class Gone(Exception):
    """The project answers 403/404 since the listing (deleted, made private): its details stay as stored."""


def get_json(http: ForgeHttp, path: str, **params: Any) -> Any:
    response = http.request("GET", path, params=params or None)
    if response.status_code in (403, 404):
        raise Gone(path)
    if response.status_code != 200:
        raise HttpStatusError(response.status_code, f"GET {path}: HTTP {response.status_code}")
    return response.json() if response.content else None


def items(http: ForgeHttp, path: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item of a REST list, following `Link: rel="next"` (same origin only)."""
    params.setdefault("per_page", 100)
    response = http.request("GET", path, params=params)
    while True:
        if response.status_code in (403, 404):
            raise Gone(path)
        if response.status_code != 200:
            raise HttpStatusError(response.status_code, f"GET {path}: HTTP {response.status_code}")
        for item in response.json() or ():
            if isinstance(item, dict):
                yield item
        link = response.links.get("next", {}).get("url")
        if not link:
            return
        response = http.request("GET", http.follow(link))


def _activity(http: ForgeHttp, pid: int, branch: str | None, since: dt.datetime,
              *, stop_at_window: bool) -> tuple[int, int, dt.datetime | None, dt.datetime | None]:
    """(commits in the window, distinct authors, newest commit, oldest commit in the window) of the default branch.

    `stop_at_window`: read newest first without `since` until the first older commit (one request gives the last
    commit date too, for idle projects); else ask GitLab for the window only (`since=`)."""
    params: dict[str, Any] = {"ref_name": branch} if branch else {}
    if not stop_at_window:
        params["since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    count, emails, newest, oldest = 0, set(), None, None
    for commit in items(http, f"/projects/{pid}/repository/commits", **params):
        when = parse_time(commit.get("committed_date")) or parse_time(commit.get("created_at"))
        if when is None:
            continue
        newest = newest or when
        if when < since:
            break
        count += 1
        oldest = when
        if commit.get("author_email"):
            emails.add(str(commit["author_email"]).lower())
    return count, len(emails), newest, oldest


def _publiccode(http: ForgeHttp, pid: int, name: str, branch: str | None) -> Any:
    response = http.request("GET", f"/projects/{pid}/repository/files/{quote(name, safe='')}/raw",
                            params={"ref": branch or "HEAD"}, expect_json=False)
    if response.status_code == 404:
        return parse_publiccode(None)
    if response.status_code != 200:
        raise HttpStatusError(response.status_code, f"publiccode.yml: HTTP {response.status_code}")
    return parse_publiccode(response.content)


def _signals(values: dict[str, Any], failed: set[str]) -> RepositorySignals:
    """Signals with every field of a failed detail unknown (None): never a guess."""
    for detail in failed:
        for column in DETAILS[detail]:
            if column in SIGNAL_FIELDS:
                values[column] = None
    return RepositorySignals(**values)


# GraphQL listing + REST where needed ----------------------------------------------------------------------------
def graphql_detail(http: ForgeHttp, record: RepositoryRecord, node: Mapping[str, Any], known: KnownRepo | None,
                   caps: Capabilities, now: dt.datetime) -> RepositoryRecord:
    """Complete a record from the GraphQL listing; REST only for what changed (see the module docstring)."""
    pid, empty, branch = record.forge_id, record.empty, record.default_branch
    was = known.marks if known is not None else {}
    redo = known.stale if known is not None else ALL
    stale: set[str] = set()
    kept: set[str] = set()
    marks: dict[str, str] = {}
    names, complete = root_names(node)
    if not complete and not empty:
        try:
            names = [(str(e.get("name")), str(e.get("id") or "")) for e in items(http, f"/projects/{pid}/repository/tree")]
        except DETAIL_FAILURES:
            stale.add("files")
        except Gone:
            pass
    flags = tree_flags([n for n, _ in names])
    licence_mark = ",".join(sorted(f"{n}:{sha}" for n, sha in names if n.lower().startswith(LICENCE_FILES)))

    # licence, and with it the fork parent and updated_at that GraphQL does not give
    licence: str | None = None
    fork, parent, updated = record.fork, None, record.updated_at
    if known is not None:
        fork, parent = (record.fork, known.parent_url if record.fork else None) if caps.is_forked else (
            known.fork, known.parent_url)
        # GraphQL has no updatedAt: REST's, as stored (a push moves lastActivityAt, not GitLab's updated_at)
        updated = known.updated_at or record.updated_at
    need_licence = not empty and "files" not in stale and (
        known is None or "licence" in redo or was.get("licence") != licence_mark)
    # the fork parent comes with the licence request: asked for a project new to the index, or newly a fork (a
    # fork whose parent is hidden keeps None, and is not asked again at every crawl)
    if caps.is_forked:
        need_fork = record.fork and (known is None or not known.fork)
    else:  # no isForked on this instance: only the licence request tells, once
        need_fork = known is None
    if need_licence or need_fork:
        try:
            full = get_json(http, f"/projects/{pid}", license="true")
        except DETAIL_FAILURES:
            stale.add("licence")
        except Gone:
            kept.add("licence")
        else:
            if isinstance(full, Mapping):
                licence = None if empty else licence_of(full)  # an empty repository has no licence file
                origin = full.get("forked_from_project")
                fork = isinstance(origin, Mapping)
                parent = origin.get("web_url") if isinstance(origin, Mapping) else None
                updated = parse_time(full.get("updated_at")) or updated
                if need_licence:
                    marks["licence"] = licence_mark
        if not need_licence and not empty:
            kept.add("licence")
    elif not empty:
        kept.add("licence")

    language = record.language
    if not caps.languages and not empty:
        if known is not None and known.pushed_at == record.pushed_at and "language" not in redo:
            kept.add("language")
        else:
            try:
                language = main_language(get_json(http, f"/projects/{pid}/languages") or {})
            except DETAIL_FAILURES:
                stale.add("language")
            except Gone:
                kept.add("language")

    tree = ((node.get("repository") or {}).get("tree")) or {}
    last_commit = parse_time((tree.get("lastCommit") or {}).get("authoredDate"))
    since = now - ACTIVITY_WINDOW
    commits, authors, last = 0, 0, None if empty else last_commit
    if not empty and record.pushed_at is not None and record.pushed_at >= since:
        until = was.get("activity")
        if (known is not None and known.pushed_at == record.pushed_at and "activity" not in redo
                and until is not None and (until == "" or (parse_time(until) or now) > now)):
            kept.add("activity")
        else:
            try:
                commits, authors, newest, oldest = _activity(http, pid, branch, since, stop_at_window=False)
                last = newest or last_commit
                marks["activity"] = (oldest + ACTIVITY_WINDOW).isoformat() if oldest else ""
            except DETAIL_FAILURES:
                stale.add("activity")
            except Gone:
                kept.add("activity")

    releases = node.get("releases") or {}
    latest = next(iter(releases.get("nodes") or ()), None) or {}
    publiccode = None
    found = next((n for n in names if n[0].lower() in PUBLICCODE), None)
    if found is not None and not empty:
        marks["publiccode"] = found[1]
        if known is not None and was.get("publiccode") == found[1] and "publiccode" not in redo:
            kept.add("publiccode")
        else:
            try:
                publiccode = _publiccode(http, pid, found[0], branch)
            except DETAIL_FAILURES:
                stale.add("publiccode")
                marks.pop("publiccode")
    signals = _signals({
        "commits_365d": commits, "contributors_365d": authors, "last_commit_at": last,
        "releases_count": int(releases.get("count") or 0),
        "latest_release_at": parse_time(latest.get("releasedAt")) or parse_time(latest.get("createdAt")),
        "publiccode": publiccode, **flags}, stale)
    return dataclasses.replace(
        record, license_spdx=None if "licence" in stale else licence,
        language=None if "language" in stale else language, fork=fork, parent_url=parent, updated_at=updated,
        signals=signals, kept=frozenset(kept - stale), stale=frozenset(stale), marks={**was, **marks})


# REST only (no GraphQL on the instance) ------------------------------------------------------------------------
def rest_fresh(record: RepositoryRecord, known: KnownRepo | None, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Unchanged since the last crawl (same last activity, signals younger than `ttl`, nothing stale)."""
    return (known is not None and not known.stale and known.pushed_at == record.pushed_at
            and known.signals_at is not None and now - known.signals_at < ttl)


def rest_detail(http: ForgeHttp, record: RepositoryRecord, now: dt.datetime) -> RepositoryRecord:
    """Licence, language and signals of one project: 5 requests (+1 when a publiccode.yml shows)."""
    pid = record.forge_id
    stale: set[str] = set()
    try:
        full = get_json(http, f"/projects/{pid}", license="true")
    except Gone:  # gone or hidden since the listing: keep what the index has
        return dataclasses.replace(record, kept=ALL)
    except DETAIL_FAILURES:
        full = None
        stale.add("licence")
    base = project_to_record(full) if isinstance(full, Mapping) else record
    if base.empty:
        return dataclasses.replace(base, license_spdx=None, language=None, signals=EMPTY_SIGNALS)
    values: dict[str, Any] = {}
    language = None
    try:
        language = main_language(get_json(http, f"/projects/{pid}/languages") or {})
    except (*DETAIL_FAILURES, Gone):
        stale.add("language")
    try:
        count, authors, newest, _ = _activity(http, pid, base.default_branch, now - ACTIVITY_WINDOW,
                                              stop_at_window=True)
        values.update(commits_365d=count, contributors_365d=authors, last_commit_at=newest)
    except (*DETAIL_FAILURES, Gone):
        stale.add("activity")
    names: list[str] = []
    try:
        names = [str(e.get("name", "")) for e in items(http, f"/projects/{pid}/repository/tree")]
        values.update(tree_flags(names))
    except (*DETAIL_FAILURES, Gone):
        stale.update({"files", "publiccode"})
    try:
        releases = list(items(http, f"/projects/{pid}/releases"))
        first = releases[0] if releases else {}
        values.update(releases_count=len(releases),
                      latest_release_at=parse_time(first.get("released_at")) or parse_time(first.get("created_at")))
    except (*DETAIL_FAILURES, Gone):
        stale.add("releases")
    name = next((n for n in names if n.lower() in PUBLICCODE), None)
    if name is not None:
        try:
            values["publiccode"] = _publiccode(http, pid, name, base.default_branch)
        except DETAIL_FAILURES:
            stale.add("publiccode")
    return dataclasses.replace(
        base, license_spdx=None if "licence" in stale else base.license_spdx,
        language=None if "language" in stale else language, signals=_signals(values, stale),
        stale=frozenset(stale))
