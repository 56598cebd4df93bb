"""GitLab's GraphQL API (`POST /api/graphql`) as the listing: one page of up to 100 projects carries what REST
needs four requests per project for (description, counts, dates, topics, languages, root files, releases).

Docs: https://docs.gitlab.com/api/graphql/ ; limits: https://docs.gitlab.com/api/graphql/#limits (complexity 250
authenticated / 200 anonymous, 100 items per page, a 30 s timeout). What an instance supports differs by version
(`Project.languages` arrived around 15.5, `Project.isForked` in 16.9): `probe` asks once per instance
(`__type(name: "Project") { fields { name } }`) and the query asks only for what is there. When a query is refused
for its complexity or times out, the page is halved and asked again; `/api/graphql` answering 404 (disabled, or a
very old GitLab) means REST only.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from crawler.forges.base import ForgeError
from crawler.forges.http import ForgeHttp, HttpStatusError
from index.records import HttpValidator

PAGE_SIZE = 100
PROBE = '{ __type(name: "Project") { fields { name } } }'
CAPABILITIES_KEY = "gitlab:graphql-capabilities"  # stored with the forge's HTTP validators, as a memo
CAPABILITIES_TTL = dt.timedelta(days=7)  # an instance may be upgraded: ask again weekly
TIMED_OUT = "timed out"


@dataclass(frozen=True)
class Capabilities:
    """What one GitLab instance's GraphQL schema offers this crawler (None: no GraphQL at all)."""

    languages: bool
    is_forked: bool


_PROBED: dict[str, Capabilities | None] = {}
_PROBED_LOCK = threading.Lock()


def graphql_url(api_url: str) -> str:
    """`https://HOST/api/v4` → `https://HOST/api/graphql`."""
    base = api_url.rstrip("/")
    return (base[: -len("/v4")] if base.endswith("/v4") else base) + "/graphql"


def probe(http: ForgeHttp) -> Capabilities | None:
    """Ask the instance once per process what its Project type has; None when it has no GraphQL endpoint."""
    url = graphql_url(http.api_url)
    with _PROBED_LOCK:
        if url in _PROBED:
            return _PROBED[url]
    response = http.request("POST", url, json_body={"query": PROBE})
    http.cost.graphql_points += 1  # GitLab counts a query as one request, whatever it asks
    found: Capabilities | None = None
    if response.status_code == 200:
        body = response.json() if response.content else None
        fields = ((body or {}).get("data") or {}).get("__type") or {}
        names = {f.get("name") for f in fields.get("fields") or () if isinstance(f, dict)}
        if "repository" in names:
            found = Capabilities(languages="languages" in names, is_forked="isForked" in names)
    elif response.status_code not in (404, 405):
        raise HttpStatusError(response.status_code, f"GraphQL probe: HTTP {response.status_code}")
    with _PROBED_LOCK:
        _PROBED[url] = found
    return found


def capabilities(http: ForgeHttp, validators: Mapping[str, HttpValidator], now: dt.datetime,
                 *, fresh: bool = False) -> tuple[Capabilities | None, HttpValidator]:
    """What the instance supports, from the index's memo when it is less than a week old (a re-crawl then sends
    no probe at all), else asked (`probe`); the memo to store comes back with it. `fresh` asks whatever the memo
    says (a query the instance refused)."""
    stored = validators.get(CAPABILITIES_KEY)
    if stored is not None and stored.memo and not fresh:
        try:
            memo = json.loads(stored.memo)
            probed = dt.date.fromisoformat(memo["probed"])
            if now.date() - probed < CAPABILITIES_TTL:
                found = Capabilities(bool(memo["languages"]), bool(memo["is_forked"])) if memo["graphql"] else None
                return found, stored
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable memo is asked again
    if fresh:
        forget_probes(http)
    found = probe(http)
    memo = {"graphql": found is not None, "languages": bool(found and found.languages),
            "is_forked": bool(found and found.is_forked), "probed": now.date().isoformat()}
    return found, HttpValidator(CAPABILITIES_KEY, memo=json.dumps(memo, sort_keys=True))


def forget_probes(http: ForgeHttp | None = None) -> None:
    """Forget what one instance (default: every one) said: it refused a query, or a test changed its version."""
    with _PROBED_LOCK:
        if http is None:
            _PROBED.clear()
        else:
            _PROBED.pop(graphql_url(http.api_url), None)


def project_fields(caps: Capabilities) -> str:
    return " ".join([
        "id name path fullPath description webUrl visibility archived starCount forksCount openIssuesCount",
        "createdAt lastActivityAt topics",
        "isForked" if caps.is_forked else "",
        "languages { name share }" if caps.languages else "",
        "releases(first: 1, sort: RELEASED_AT_DESC) { count nodes { releasedAt createdAt } }",
        "repository { rootRef empty tree { lastCommit { authoredDate }",
        "blobs(first: 100) { pageInfo { hasNextPage } nodes { name sha } }",
        "trees(first: 100) { pageInfo { hasNextPage } nodes { name } } } }",
    ])


def listing_query(scope: str, caps: Capabilities) -> str:
    """The query for one page: `scope` is "group", "namespace" (a user's) or "instance"."""
    page = "pageInfo { hasNextPage endCursor } nodes { " + project_fields(caps) + " }"
    if scope == "instance":
        return ("query($first: Int, $after: String) { projects(first: $first, after: $after, sort: \"id_asc\") { "
                + page + " } }")
    args = "includeSubgroups: true, " if scope == "group" else ""
    return (f"query($path: ID!, $first: Int, $after: String) {{ {scope}(fullPath: $path) {{ "
            f"projects({args}first: $first, after: $after) {{ {page} }} }} }}")


class GraphQLRefused(ForgeError):
    """The instance answered a listing query with errors that a smaller page does not cure."""


def _timed_out(response: Any) -> bool:
    return response.status_code in (502, 503, 504) and TIMED_OUT in response.text[:500].lower()


def pages(http: ForgeHttp, scope: str, path: str | None, caps: Capabilities,
          page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
    """The project nodes of a group, a user namespace or the whole instance, a page at a time.

    Raises LookupError when the group or namespace does not exist (GitLab answers null, not an error)."""
    url = graphql_url(http.api_url)
    query = listing_query(scope, caps)
    size, after = max(1, min(PAGE_SIZE, page_size)), None
    while True:
        variables: dict[str, Any] = {"first": size, "after": after}
        if path is not None:
            variables["path"] = path
        response = http.request("POST", url, json_body={"query": query, "variables": variables}, final=_timed_out)
        http.cost.graphql_points += 1
        if _timed_out(response) and size > 1:
            size = max(1, size // 2)  # a slow instance: ask for fewer projects at a time
            continue
        if response.status_code != 200:
            raise HttpStatusError(response.status_code, f"GraphQL listing: HTTP {response.status_code}")
        body = response.json()
        errors = [str(e.get("message", e)) for e in body.get("errors") or () if isinstance(e, dict)]
        if errors and any("complexity" in e.lower() for e in errors) and size > 1:
            size = max(1, size // 2)
            continue
        data = body.get("data") or {}
        holder = data.get("projects") if scope == "instance" else (data.get(scope) or {}).get("projects")
        if errors or not isinstance(holder, dict):
            if not errors and scope != "instance" and data.get(scope) is None:
                raise LookupError(path)
            raise GraphQLRefused("GraphQL listing refused: " + "; ".join(errors or ["no projects in the answer"])[:300])
        yield [n for n in holder.get("nodes") or () if isinstance(n, dict)]
        info = holder.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return
        after = info["endCursor"]
