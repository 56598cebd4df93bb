"""Simulated GitLab REST API v4, faithful enough that python-gitlab cannot tell it from gitlab.com.

Formats follow GitLab's docs (https://docs.gitlab.com/api/projects/, /api/groups/, /api/rest/#pagination) and the
recordings in shared/forgedata/gitlab-*; see forge-api-notes §2, §3.2 and §5. What matters to a crawler:

* routing on the raw path, so `/groups/a%2Fb` and `/repository/files/dir%2Ff.yml/raw` keep their `%2F`;
* offset pagination with `Link` (absolute loopback URLs), `x-page`, `x-per-page`, `x-next-page`, `x-prev-page`,
  `x-total`, `x-total-pages`; totals and rel="last" dropped above 10,000 records (option `gitlab_totals_limit`)
  and always for commits; never rel="next" on the last page; keyset pagination on `GET /projects`;
* anonymous callers see public projects and groups only; any token (or one of option `gitlab_tokens`) sees all;
* Rack::Attack-style throttle when option `gitlab_limit_per_min` is set: `RateLimit-*` headers, then 429 with an
  integer `Retry-After` and the text body `Retry later`. Option `gitlab_clock` (a `time.time`-like callable) lets
  tests move time instead of sleeping.

Options are SimForge.options (`req.options`). Listings never scan the world: `gitlab_render.Index` groups project
ids by namespace and is rebuilt only when the world's revision or the host's repository or account count changes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import email.utils
import hashlib
import math
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlencode

from simforge.exchange import SimRequest, SimResponse
from simforge.gitlab.graphql import handle_graphql
from simforge.gitlab.render import (
    API,
    Index,
    basic_project,
    group_json,
    host_index,
    languages,
    namespace_json,
    option,
    paginate,
    per_page_arg,
    project_json,
    ts,
    user_json,
    web_url,
)
from simforge.world import SimAccount, SimRepo

CACHE_MIN = 2_000


# options, auth, throttle ---------------------------------------------------------------------------------------
def _now(req: SimRequest) -> float:
    clock: Callable[[], float] | None = option(req, "gitlab_clock")
    return clock() if clock else time.time()


def _authorised(req: SimRequest) -> bool | None:
    """True: a valid token; False: no token; None: a token the instance refuses."""
    token = req.token
    if not token:
        return False
    allowed = option(req, "gitlab_tokens")
    return True if allowed is None or token in allowed else None


def _throttle(req: SimRequest) -> tuple[dict[str, str], SimResponse | None]:
    limit = option(req, "gitlab_limit_per_min")
    if not limit:
        return {}, None
    now = _now(req)
    window = math.floor(now / 60) * 60
    reset = window + 60
    with req.state.lock:
        budget = req.state.budgets.setdefault("gitlab", {"window": window, "observed": 0})
        if budget["window"] != window:
            budget.update(window=window, observed=0)
        budget["observed"] += 1
        observed = budget["observed"]
    name = "throttle_authenticated_api" if req.token else "throttle_unauthenticated_api"
    headers = {
        "RateLimit-Limit": str(limit), "RateLimit-Name": name, "RateLimit-Observed": str(observed),
        "RateLimit-Remaining": str(max(0, limit - observed)), "RateLimit-Reset": str(int(reset)),
    }
    if observed <= limit:
        return headers, None
    headers["RateLimit-ResetTime"] = email.utils.formatdate(reset, usegmt=True)
    headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
    headers["Content-Type"] = "text/plain"
    return headers, SimResponse(429, "Retry later\n", headers)


# listings ------------------------------------------------------------------------------------------------------
_SORT_KEYS: dict[str, Callable[[SimRepo], Any]] = {
    "id": lambda r: r.id, "name": lambda r: r.name.lower(), "path": lambda r: r.name.lower(),
    "created_at": lambda r: (r.created_at, r.id), "updated_at": lambda r: (r.updated_at, r.id),
    "last_activity_at": lambda r: (r.pushed_at or r.updated_at, r.id), "star_count": lambda r: (r.stars, r.id),
}


def _visible(req: SimRequest, repo: SimRepo, authorised: bool) -> bool:
    return authorised or repo.visibility == "public"


def _filter_sort(req: SimRequest, repos: list[SimRepo], authorised: bool, default_order: str) -> list[SimRepo]:
    archived = req.arg("archived")
    visibility = req.arg("visibility")
    out = [r for r in repos if _visible(req, r, authorised)]
    if archived is not None:
        wanted = archived.lower() in ("1", "true")
        out = [r for r in out if r.archived == wanted]
    if visibility:
        out = [r for r in out if r.visibility == visibility]
    order = req.arg("order_by") or default_order
    key = _SORT_KEYS.get(order, _SORT_KEYS[default_order])
    out.sort(key=key, reverse=(req.arg("sort") or "desc").lower() == "desc")
    return out


def _cached_listing(req: SimRequest, key: tuple[Any, ...], build: Callable[[], list[SimRepo]]) -> list[SimRepo]:
    """Large listings are built once per query and reused by every page of it; small ones are rebuilt each time,
    so tests that mutate a repository between two crawls see the change without any invalidation."""
    cache: dict[tuple[Any, ...], list[SimRepo]] = req.state.extra.setdefault("gitlab_listing_cache", {})
    listing = cache.get(key)
    if listing is None:
        listing = build()
        if len(listing) >= CACHE_MIN:
            if len(cache) > 64:
                cache.clear()
            cache[key] = listing
    return listing


def _listing_key(req: SimRequest, *parts: Any) -> tuple[Any, ...]:
    params = tuple(sorted((k, v[-1]) for k, v in req.query.items() if k not in ("page", "id_after")))
    return (*parts, params, bool(_authorised(req)), host_index(req).key)


def _render_list(req: SimRequest, index: Index) -> Callable[[SimRepo], dict[str, Any]]:
    if req.flag("simple"):
        return lambda r: basic_project(req, index, r)
    return lambda r: project_json(req, index, r)


def _resolve_ns(req: SimRequest, index: Index, raw: str) -> str | None:
    ident = unquote(raw)
    if ident.isdigit():
        return index.ns_by_id.get(int(ident))
    low = ident.lower()
    return low if low in index.ns_path else None


def _account_visible(req: SimRequest, account: SimAccount | None, authorised: bool) -> bool:
    return account is None or authorised or account.visibility == "public"


def _is_group(req: SimRequest, index: Index, ns: str) -> bool:
    account = req.world.host(req.host).account(index.ns_path[ns])
    return account is None or account.kind != "user"


def _group_projects(req: SimRequest, index: Index, ns: str, authorised: bool) -> SimResponse:
    host = req.world.host(req.host)

    def build() -> list[SimRepo]:
        spaces = index.subtree(ns) if req.flag("include_subgroups") else [ns]
        ids: list[int] = []
        for space in spaces:
            ids.extend(index.by_ns.get(space, ()))
        if req.flag("with_shared", True):
            for space in spaces:
                account = host.account(index.ns_path[space])
                if account is not None:
                    ids.extend(account.shared_project_ids)
        own = set(spaces)
        shared = len(ids) - sum(len(index.by_ns.get(space, ())) for space in spaces)
        seen: set[int] = set()
        repos = []
        for position, pid in enumerate(ids):
            repo = host.repos.get(pid)
            renamed = repo is not None and position < len(ids) - shared and repo.namespace.lower() not in own
            if repo is not None and pid not in seen and not renamed:
                seen.add(pid)
                repos.append(repo)
        return _filter_sort(req, repos, authorised, "created_at")

    listing = _cached_listing(req, _listing_key(req, "group", ns), build)
    return paginate(req, listing, _render_list(req, index))


def _all_projects(req: SimRequest, index: Index, authorised: bool) -> SimResponse:
    host = req.world.host(req.host)
    if (req.arg("pagination") or "").lower() == "keyset":
        if (req.arg("order_by") or "") != "id":
            return SimResponse(405, {"error": "Keyset pagination is not yet available for this type of request"})
        per_page = per_page_arg(req)
        descending = (req.arg("sort") or "desc").lower() == "desc"
        listing = _cached_listing(req, _listing_key(req, "projects-keyset"),
                                  lambda: _filter_sort(req, list(host.repos.values()), authorised, "id"))
        ids = [r.id for r in listing]
        after, before = req.arg("id_after"), req.arg("id_before")
        start = 0
        if after is not None and not descending:
            start = _bisect_gt(ids, int(after))
        elif before is not None and descending:
            start = _bisect_lt_desc(ids, int(before))
        chunk = listing[start: start + per_page]
        headers = {}
        if start + per_page < len(listing) and chunk:
            cursor = "id_before" if descending else "id_after"
            query = {k: v[-1] for k, v in req.query.items() if k not in ("id_after", "id_before")}
            query[cursor] = str(chunk[-1].id)
            headers["Link"] = f'<{req.base_url}{req.path}?{urlencode(query)}>; rel="next"'
        render = _render_list(req, index)
        return SimResponse(200, [render(r) for r in chunk], headers)
    listing = _cached_listing(req, _listing_key(req, "projects"),
                              lambda: _filter_sort(req, list(host.repos.values()), authorised, "created_at"))
    return paginate(req, listing, _render_list(req, index))


def _bisect_gt(ids: list[int], value: int) -> int:
    return bisect.bisect_right(ids, value)


def _bisect_lt_desc(ids: list[int], value: int) -> int:
    lo, hi = 0, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if ids[mid] >= value:
            lo = mid + 1
        else:
            hi = mid
    return lo


# project sub-resources -----------------------------------------------------------------------------------------
_NOT_FOUND = {"message": "404 Project Not Found"}


def _find_project(req: SimRequest, index: Index, raw: str, authorised: bool) -> SimRepo | int | None:
    """The project for an id or url-encoded path; an int is a moved project's id (answer 301)."""
    host = req.world.host(req.host)
    ident = unquote(raw)
    if ident.isdigit():
        repo = host.repos.get(int(ident))
    else:
        pid = index.by_path.get(ident.lower())
        if pid is None and ident.lower() in index.moved:
            return index.moved[ident.lower()]
        repo = host.repos.get(pid) if pid is not None else None
    if repo is None or not _visible(req, repo, authorised):
        return None
    return repo


def _commits(req: SimRequest, repo: SimRepo) -> SimResponse:
    if repo.empty:
        return SimResponse(404, {"message": "404 Tree Not Found"})
    since, until = _parse_time(req.arg("since")), _parse_time(req.arg("until"))
    commits = [c for c in repo.commits
               if (since is None or c.authored_at >= since) and (until is None or c.authored_at <= until)]

    def render(c: Any) -> dict[str, Any]:
        stamp = ts(c.authored_at)
        return {"id": c.sha, "short_id": c.sha[:8], "created_at": stamp, "parent_ids": [],
                "title": c.message.splitlines()[0] if c.message else "", "message": c.message,
                "author_name": c.author_name, "author_email": c.author_email, "authored_date": stamp,
                "committer_name": c.author_name, "committer_email": c.author_email, "committed_date": stamp,
                "trailers": {}, "extended_trailers": {},
                "web_url": web_url(req, f"{repo.full_name}/-/commit/{c.sha}")}

    return paginate(req, commits, render, totals=False)


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    text = value.strip().replace(" ", "+").replace("Z", "+00:00")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _tree(req: SimRequest, repo: SimRepo) -> SimResponse:
    if repo.empty:
        return SimResponse(404, {"message": "404 Tree Not Found"})
    if (req.arg("path") or "") not in ("", "/"):
        return paginate(req, [], lambda x: x)
    names = sorted(repo.files)

    def render(name: str) -> dict[str, Any]:
        sha = hashlib.sha1(repo.files[name].encode(), usedforsecurity=False).hexdigest()
        return {"id": sha, "name": name, "type": "blob", "path": name, "mode": "100644"}

    return paginate(req, names, render)


def _raw_file(req: SimRequest, repo: SimRepo, raw_path: str) -> SimResponse:
    name = unquote(raw_path)
    if repo.empty or name not in repo.files:
        return SimResponse(404, {"message": "404 File Not Found"})
    return SimResponse(200, repo.files[name].encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _releases(req: SimRequest, repo: SimRepo) -> SimResponse:
    def render(rel: Any) -> dict[str, Any]:
        return {"tag_name": rel.tag, "name": rel.name or rel.tag, "description": "",
                "created_at": ts(rel.published_at), "released_at": ts(rel.published_at),
                "upcoming_release": False, "commit": {"id": hashlib.sha1(rel.tag.encode(), usedforsecurity=False).hexdigest()},
                "milestones": [], "assets": {"count": 0, "sources": [], "links": []},
                "_links": {"self": web_url(req, f"{repo.full_name}/-/releases/{quote(rel.tag)}")}}

    return paginate(req, list(repo.releases), render)


def _project_routes(req: SimRequest, index: Index, raw_id: str, rest: str, authorised: bool) -> SimResponse:
    found = _find_project(req, index, raw_id, authorised)
    if isinstance(found, int):
        return SimResponse(301, {"message": "301 Moved Permanently"},
                           {"Location": f"{req.base_url}{API}/projects/{found}{rest}"})
    if found is None:
        return SimResponse(404, _NOT_FOUND)
    repo = found
    if rest == "":
        body = project_json(req, index, repo, license=req.flag("license"), statistics=req.flag("statistics"))
        return SimResponse(200, body, {"ETag": f'W/"{repo.version()[:32]}"'})
    if rest == "/languages":
        return SimResponse(200, languages(repo))
    if rest == "/repository/commits":
        return _commits(req, repo)
    if rest == "/repository/tree":
        return _tree(req, repo)
    if rest == "/releases":
        return _releases(req, repo)
    match = re.fullmatch(r"/repository/files/([^/]+)/raw", rest)
    if match:
        return _raw_file(req, repo, match.group(1))
    return SimResponse(404, {"error": "404 Not Found"})


# users, namespaces, groups -------------------------------------------------------------------------------------
def _users(req: SimRequest) -> SimResponse:
    host = req.world.host(req.host)
    username = req.arg("username")
    if username is None:
        return SimResponse(403, {"message": "403 Forbidden"})
    account = host.account(username)
    found = [account] if account is not None and account.kind == "user" else []
    return paginate(req, found, lambda a: user_json(req, a))


def _user_projects(req: SimRequest, index: Index, raw: str, authorised: bool) -> SimResponse:
    host = req.world.host(req.host)
    ident = unquote(raw)
    account = next((a for a in host.accounts.values() if a.kind == "user" and a.id == int(ident)), None) \
        if ident.isdigit() else host.account(ident)
    if account is None or account.kind != "user":
        return SimResponse(404, {"message": "404 User Not Found"})
    ns = account.path.lower()
    listing = _cached_listing(req, _listing_key(req, "user", ns), lambda: _filter_sort(
        req, [host.repos[i] for i in index.by_ns.get(ns, ()) if i in host.repos], authorised, "created_at"))
    return paginate(req, listing, _render_list(req, index))


def _namespaces(req: SimRequest, index: Index, raw: str, authorised: bool) -> SimResponse:
    ns = _resolve_ns(req, index, raw)
    account = req.world.host(req.host).account(index.ns_path[ns]) if ns else None
    if ns is None or not _account_visible(req, account, authorised):
        return SimResponse(404, {"message": "404 Namespace Not Found"})
    body = namespace_json(req, index, ns)
    body["members_count_with_descendants"] = None
    return SimResponse(200, body)


def _group_routes(req: SimRequest, index: Index, raw: str, rest: str, authorised: bool) -> SimResponse:
    ns = _resolve_ns(req, index, raw)
    host = req.world.host(req.host)
    if ns is None or not _is_group(req, index, ns):
        return SimResponse(404, {"message": "404 Group Not Found"})
    if not all(_account_visible(req, host.account(index.ns_path[a]), authorised) for a in _ancestors(ns)):
        return SimResponse(404, {"message": "404 Group Not Found"})
    if rest == "":
        return SimResponse(200, group_json(req, index, ns))
    if rest == "/projects":
        return _group_projects(req, index, ns, authorised)
    if rest in ("/subgroups", "/descendant_groups"):
        spaces = sorted(index.children.get(ns, ())) if rest == "/subgroups" else index.subtree(ns)[1:]
        spaces = [s for s in spaces if _account_visible(req, host.account(index.ns_path[s]), authorised)]
        spaces.sort(key=lambda s: index.ns_path[s].rsplit("/", 1)[-1].lower())
        return paginate(req, spaces, lambda s: group_json(req, index, s))
    return SimResponse(404, {"error": "404 Not Found"})


def _ancestors(ns: str) -> list[str]:
    parts = ns.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


# entry point ---------------------------------------------------------------------------------------------------
def handle(req: SimRequest) -> SimResponse:
    with req.state.lock:
        req.state.counters["requests"] += 1
        req.state.counters["rest_points"] += 1
    headers, limited = _throttle(req)
    response = limited or _route(req)
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("X-Gitlab-Meta", '{"correlation_id":"simforge","version":"1"}')
    with req.state.lock:
        req.state.counters[f"status_{response.status}"] += 1
    return response


def _route(req: SimRequest) -> SimResponse:
    if req.path.rstrip("/") == "/api/graphql":
        authorised = _authorised(req)
        if authorised is None:
            return SimResponse(401, {"message": "401 Unauthorized"})
        return handle_graphql(req, authorised)
    if req.method not in ("GET", "HEAD"):
        return SimResponse(405, {"error": "405 Method Not Allowed"})
    if not req.path.startswith(API + "/"):
        return SimResponse(404, {"error": "404 Not Found"})
    path = req.path[len(API):].rstrip("/")
    authorised = _authorised(req)
    if authorised is None:
        return SimResponse(401, {"message": "401 Unauthorized"})
    if path == "/version":
        if not authorised:
            return SimResponse(401, {"message": "401 Unauthorized"})
        return SimResponse(200, {"version": "18.6.1-ee", "revision": "8e7a1c5b2d3"})
    if path == "/metadata":
        if not authorised:
            return SimResponse(401, {"message": "401 Unauthorized"})
        return SimResponse(200, {"version": "18.6.1-ee", "revision": "8e7a1c5b2d3",
                                 "kas": {"enabled": False, "externalUrl": None, "externalK8sProxyUrl": None,
                                         "version": None}, "enterprise": True})
    index = host_index(req)
    if path == "/projects":
        return _all_projects(req, index, authorised)
    if path == "/users":
        return _users(req)
    match = re.fullmatch(r"/projects/([^/]+)(/.*)?", path)
    if match:
        return _project_routes(req, index, match.group(1), match.group(2) or "", authorised)
    match = re.fullmatch(r"/groups/([^/]+)(/.*)?", path)
    if match:
        return _group_routes(req, index, match.group(1), match.group(2) or "", authorised)
    match = re.fullmatch(r"/users/([^/]+)/projects", path)
    if match:
        return _user_projects(req, index, match.group(1), authorised)
    match = re.fullmatch(r"/namespaces/([^/]+)", path)
    if match:
        return _namespaces(req, index, match.group(1), authorised)
    return SimResponse(404, {"error": "404 Not Found"})
