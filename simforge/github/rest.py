"""Simulated GitHub: REST v3 and GraphQL in the GHES layout (`/<host>/api/v3`, `POST /<host>/api/graphql`).

Faithful where the crawler's correctness depends on it (forge-api-notes §5): Link pagination with absolute
host:port URLs and no rel="next" on the last page, `x-ratelimit-*` on every answer, per-token budgets (5,000/h REST,
5,000 points GraphQL, 60/h anonymous; `github_rest_limit`, `github_graphql_limit`, `github_anon_limit` options),
403 primary-limit bodies, weak ETags and free authenticated 304s, 301 for renamed repositories and accounts,
409/204 for empty repositories, private/internal repositories only for token holders.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlencode

from simforge.exchange import SimRequest, SimResponse
from simforge.github import app
from simforge.github import render as r
from simforge.github.common import auth_refused, budget, error, rate_headers, user_id
from simforge.github.graphql import handle_graphql
from simforge.licences import github_license_object
from simforge.world import SimAccount, SimHost, SimRepo

REST_PREFIX = "/api/v3"
GRAPHQL_PATH = "/api/graphql"


def not_found() -> SimResponse:
    return error(404, "Not Found", "https://docs.github.com/rest")


def moved(req: SimRequest, location_path: str) -> SimResponse:
    url = f"{req.base_url}{REST_PREFIX}{location_path}"
    body = {"message": "Moved Permanently", "url": url, "documentation_url": "https://docs.github.com/v3/#http-redirects"}
    return SimResponse(301, body, {"Location": url})


# --------------------------------------------------------------------------------------------------------------
# entry point


def handle(req: SimRequest) -> SimResponse:
    with req.state.lock:
        req.state.counters["requests"] += 1
    if req.path.split("?")[0].rstrip("/") == GRAPHQL_PATH and req.method == "POST":
        response = handle_graphql(req)
    elif req.path.startswith(REST_PREFIX + "/") or req.path == REST_PREFIX:
        response = _handle_rest(req)
    else:
        response = not_found()
    with req.state.lock:
        req.state.counters[f"status_{response.status}"] += 1
    return response


def _handle_rest(req: SimRequest) -> SimResponse:
    path = req.path[len(REST_PREFIX):] or "/"
    answer = app.handle(req, path.split("?")[0])  # GitHub Apps: JWT-authenticated, outside the token budgets
    if answer is not None:
        return answer
    if auth_refused(req):
        return error(401, "Bad credentials")
    if req.method not in ("GET", "HEAD"):
        return error(404, "Not Found")
    if path.rstrip("/") == "/rate_limit":
        return _rate_limit(req)
    with req.state.lock:
        entry = budget(req, "core")
        if entry["used"] >= entry["limit"]:
            who = f"user ID {user_id(req.token)}" if req.token else "127.0.0.1"
            response = error(403, f"API rate limit exceeded for {who}.",
                             "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
            response.headers.update(rate_headers(entry, "core"))
            return response
    sim = req.world.host(req.host)
    response = _route(req, sim, path)
    with req.state.lock:
        entry = budget(req, "core")
        if response.status == 200 and response.body is not None:
            payload = response.encode()
            etag = 'W/"' + hashlib.sha256(payload).hexdigest() + '"'
            response.headers["ETag"] = etag
            response.headers.setdefault("Last-Modified", format_datetime(_EPOCH_LM, usegmt=True))
            response.headers["Cache-Control"] = "private, max-age=60, s-maxage=60"
            response.headers["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding"
            sent = [t.strip() for t in req.headers.get("if-none-match", "").split(",") if t.strip()]
            if any(t.removeprefix("W/") == etag.removeprefix("W/") for t in sent):
                req.state.counters["not_modified"] += 1
                if req.token is None:  # a 304 is free only when authenticated
                    entry["used"] += 1
                    req.state.counters["rest_points"] += 1
                headers = {k: v for k, v in response.headers.items() if k.lower() != "link"}
                headers["ETag"] = etag.removeprefix("W/")
                headers.update(rate_headers(entry, "core"))
                return SimResponse(304, None, headers)
        entry["used"] += 1
        req.state.counters["rest_points"] += 1
        response.headers.update(rate_headers(entry, "core"))
    return response


_EPOCH_LM = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _rate_limit(req: SimRequest) -> SimResponse:
    with req.state.lock:
        core, gql = budget(req, "core"), budget(req, "graphql")
        resources = {}
        for name, entry in (("core", core), ("graphql", gql)):
            resources[name] = {"limit": entry["limit"], "used": entry["used"],
                               "remaining": max(0, entry["limit"] - entry["used"]), "reset": entry["reset"]}
        for name, limit in (("search", 30), ("integration_manifest", 5000), ("code_search", 10)):
            resources[name] = {"limit": limit, "used": 0, "remaining": limit, "reset": core["reset"]}
        return SimResponse(200, {"resources": resources, "rate": resources["core"]}, rate_headers(core, "core"))


# --------------------------------------------------------------------------------------------------------------
# routing

_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), name) for p, name in (
        (r"^/orgs/(?P<login>[^/]+)/?$", "org"),
        (r"^/orgs/(?P<login>[^/]+)/repos/?$", "org_repos"),
        (r"^/organizations/(?P<id>\d+)/?$", "org_by_id"),
        (r"^/organizations/(?P<id>\d+)/repos/?$", "org_repos_by_id"),
        (r"^/users/(?P<login>[^/]+)/?$", "user"),
        (r"^/users/(?P<login>[^/]+)/repos/?$", "user_repos"),
        (r"^/user/(?P<id>\d+)/?$", "user_by_id"),
        (r"^/user/(?P<id>\d+)/repos/?$", "user_repos_by_id"),
        (r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)(?P<rest>/.*)?$", "repo"),
        (r"^/repositories/(?P<id>\d+)(?P<rest>/.*)?$", "repo_by_id"),
    )
]


def _route(req: SimRequest, sim: SimHost, path: str) -> SimResponse:
    for pattern, name in _ROUTES:
        m = pattern.match(path)
        if m:
            return _DISPATCH[name](req, sim, m.groupdict())
    return not_found()


def _visible(req: SimRequest, repo: SimRepo) -> bool:
    return repo.visibility == "public" or req.token is not None


def _account_route(req: SimRequest, sim: SimHost, g: dict[str, str], *, org_only: bool, repos: bool) -> SimResponse:
    account, renamed = r.find_account(req.world, sim, g["login"])
    if account is None or (org_only and account.kind != "org"):
        return not_found()
    if renamed:
        kind = "organizations" if org_only else "user"
        return moved(req, f"/{kind}/{account.id}" + ("/repos" if repos else ""))
    return _account_answer(req, sim, account, org_only, repos)


def _by_id_route(req: SimRequest, sim: SimHost, g: dict[str, str], *, org_only: bool, repos: bool) -> SimResponse:
    account = r.account_by_id(req.world, sim, int(g["id"]))
    if account is None or (org_only and account.kind != "org"):
        return not_found()
    return _account_answer(req, sim, account, org_only, repos)


def _account_answer(req: SimRequest, sim: SimHost, account: SimAccount, as_org: bool, repos: bool) -> SimResponse:
    api = req.base_url + REST_PREFIX
    owned = r.repos_in(req.world, sim, account.path)
    if not repos:
        public = sum(1 for repo in owned if repo.visibility == "public")
        return SimResponse(200, r.account_json(sim, account, api, public, as_org or account.kind == "org"))
    kind = req.arg("type", "all" if as_org else "owner") or "all"
    items = [repo for repo in owned if _visible(req, repo)]
    if kind == "public":
        items = [repo for repo in items if repo.visibility == "public"]
    elif kind == "private":
        items = [repo for repo in items if repo.visibility != "public"]
    elif kind == "forks":
        items = [repo for repo in items if repo.fork]
    elif kind == "sources":
        items = [repo for repo in items if not repo.fork]
    elif kind == "member":
        items = []
    sort = req.arg("sort", "created" if as_org else "full_name") or "full_name"
    default_dir = "asc" if sort == "full_name" else "desc"
    reverse = (req.arg("direction", default_dir) or default_dir) == "desc"
    keys = {
        "created": lambda x: (x.created_at, x.id), "updated": lambda x: (x.updated_at, x.id),
        "pushed": lambda x: (x.pushed_at or x.created_at, x.id), "full_name": lambda x: (x.full_name.lower(), x.id),
    }
    items = sorted(items, key=keys.get(sort, keys["full_name"]), reverse=reverse)
    # GitHub's Link URLs name the account by id ("/organizations/123/repos"), not by the login requested
    link_path = f"{REST_PREFIX}/{'organizations' if as_org else 'user'}/{account.id}/repos"
    response = paginate(req, items, lambda repo: r.repo_json(sim, repo, api, req.world), link_path)
    if items:
        newest = max(repo.updated_at for repo in items)
        response.headers["Last-Modified"] = format_datetime(newest, usegmt=True)
    return response


def paginate(req: SimRequest, items: list[Any], render: Any, link_path: str | None = None) -> SimResponse:
    """One page of `items` with GitHub's Link header (absolute URLs, per_page echoed, no next on the last page)."""
    try:
        per_page = max(1, min(100, int(req.arg("per_page", "30") or 30)))
        page = max(1, int(req.arg("page", "1") or 1))
    except ValueError:
        return error(400, "Invalid pagination parameter")
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    response = SimResponse(200, [render(item) for item in chunk])
    if last > 1:
        params = {k: v[-1] for k, v in sorted(req.query.items()) if k not in ("page", "per_page")}

        def url(n: int) -> str:
            return f"{req.base_url}{quote(link_path or req.path)}?{urlencode({**params, 'per_page': per_page, 'page': n})}"

        links = []
        if page > 1:
            links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        response.headers["Link"] = ", ".join(links)
    return response


def _repo_route(req: SimRequest, sim: SimHost, g: dict[str, str]) -> SimResponse:
    full_name = f"{g['owner']}/{g['repo']}"
    repo, renamed = r.find_repo(req.world, sim, full_name)
    if repo is None:
        account, acc_renamed = r.find_account(req.world, sim, g["owner"])
        if account is not None and acc_renamed:
            repo, _ = r.find_repo(req.world, sim, f"{account.path}/{g['repo']}")
            renamed = repo is not None
    if repo is None or not _visible(req, repo):
        return not_found()
    if renamed:
        return moved(req, f"/repositories/{repo.id}{g.get('rest') or ''}")
    return _repo_answer(req, sim, repo, g.get("rest") or "")


def _repo_by_id_route(req: SimRequest, sim: SimHost, g: dict[str, str]) -> SimResponse:
    repo = sim.repos.get(int(g["id"]))
    if repo is None or not _visible(req, repo):
        return not_found()
    return _repo_answer(req, sim, repo, g.get("rest") or "")


def _repo_answer(req: SimRequest, sim: SimHost, repo: SimRepo, rest: str) -> SimResponse:
    api = req.base_url + REST_PREFIX
    rest = rest.rstrip("/")
    if rest == "":
        response = SimResponse(200, r.repo_json(sim, repo, api, req.world, full=True))
        response.headers["Last-Modified"] = format_datetime(repo.updated_at, usegmt=True)
        return response
    if rest == "/commits":
        if repo.empty:
            return error(409, "Git Repository is empty.", "https://docs.github.com/rest/commits/commits#list-commits")
        commits = repo.commits
        since, until = req.arg("since"), req.arg("until")
        if since:
            lo = _parse(since)
            commits = [c for c in commits if c.authored_at >= lo]
        if until:
            hi = _parse(until)
            commits = [c for c in commits if c.authored_at <= hi]
        return paginate(req, commits, lambda c: r.commit_json(sim, repo, c, api))
    if rest == "/contributors":
        if repo.empty:
            return SimResponse(204, None)
        return paginate(req, r.contributors(sim, repo, api), lambda item: item)
    if rest == "/releases":
        return paginate(req, list(range(len(repo.releases))), lambda i: r.release_json(sim, repo, i, api))
    if rest == "/releases/latest":
        return SimResponse(200, r.release_json(sim, repo, 0, api)) if repo.releases else not_found()
    if rest == "/topics":
        return SimResponse(200, {"names": list(repo.topics)})
    if rest == "/languages":
        return SimResponse(200, {repo.language: 10_000} if repo.language else {})
    if rest == "/readme":
        name = r.readme_name(repo)
        return SimResponse(200, r.content_json(sim, repo, name, api)) if name else not_found()
    if rest == "/license":
        name = r.license_file(repo)
        if repo.license_key is None or name is None:
            return not_found()
        body = r.content_json(sim, repo, name, api)
        body["license"] = github_license_object(repo.license_key, api)
        return SimResponse(200, body)
    if rest == "/contents" or rest.startswith("/contents/"):
        path = rest[len("/contents/"):] if rest.startswith("/contents/") else ""
        if repo.empty:
            return error(404, "This repository is empty.")
        if path == "":
            return SimResponse(200, [r.dir_entry(sim, repo, name, api) for name in sorted(repo.files)])
        if path not in repo.files:
            return not_found()
        return SimResponse(200, r.content_json(sim, repo, path, api))
    return not_found()


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


_DISPATCH = {
    "org": lambda req, sim, g: _account_route(req, sim, g, org_only=True, repos=False),
    "org_repos": lambda req, sim, g: _account_route(req, sim, g, org_only=True, repos=True),
    "org_by_id": lambda req, sim, g: _by_id_route(req, sim, g, org_only=True, repos=False),
    "org_repos_by_id": lambda req, sim, g: _by_id_route(req, sim, g, org_only=True, repos=True),
    "user": lambda req, sim, g: _account_route(req, sim, g, org_only=False, repos=False),
    "user_repos": lambda req, sim, g: _account_route(req, sim, g, org_only=False, repos=True),
    "user_by_id": lambda req, sim, g: _by_id_route(req, sim, g, org_only=False, repos=False),
    "user_repos_by_id": lambda req, sim, g: _by_id_route(req, sim, g, org_only=False, repos=True),
    "repo": _repo_route,
    "repo_by_id": _repo_by_id_route,
}

