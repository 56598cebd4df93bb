"""Simulated Gitea / Forgejo / Gogs REST API v1: one front end, two dialects chosen by the host's kind.

What is simulated, and from which version (read from the servers' source, not guessed):

Gitea ≥ 1.23 / Forgejo (kind "gitea" or "forgejo"), `routers/api/v1`:
* `GET /version`; `/orgs/{org}` (404 for a user); `/users/{name}` (answers for organisations too);
* `/orgs/{org}/repos`, `/users/{name}/repos`, `/repos/search` with `page` (from 1) and `limit` (default 30, at most
  50 = `MAX_RESPONSE_ITEMS`); every page carries `X-Total-Count` and a `Link` header (next/last/first/prev) that
  keeps the whole query string; search wraps its items as `{"ok": true, "data": [...]}` and honours `uid`,
  `private` (default true: private repositories the token can read), `sort=id|alpha|created` and `order`;
* repository fields of `api.Repository`: `language`, `topics`, `licenses` (SPDX ids, detected since
  go-gitea/gitea#24872), `release_counter`, `archived`, `template`, `internal`, `mirror`/`original_url`, `parent`;
* `/repos/{o}/{r}/contents` (root entries), `/raw/{ref}/{path}`, `/commits?sha=&page=&limit=` newest first with
  `X-Total-Count`/`X-HasMore`/`Link` (409 "Git Repository is empty." on an empty repository), `/releases`
  (paginated, newest first), `/languages` (bytes per language).

Gogs 0.13 (kind "gogs"), `internal/route/api/v1`:
* `/orgs/{name}` answers for any account (no organisation check), `/users/{name}` too;
* `/orgs/{org}/repos` and `/users/{name}/repos` need a token (401 otherwise) and return every repository in one
  unpaginated array; `/repos/search` is anonymous, defaults to 10 per page (max 50), and filters on
  `path.Base(q)` with an unescaped SQL `LIKE '%kw%'` on name or description: an empty `q` becomes "." (only names
  or descriptions holding a dot, gogs/docs-api#34) while `q=_` matches every repository. Its `Link` header drops
  the query string (`?page=N` only) and there is no `X-Total-Count`;
* the repository object has no language, topics, licences, archived, template nor release counter;
* contents, raw files and commits need a token; `/commits` takes `pageSize` (default 30), cannot page and has no
  `since`; `/releases` is anonymous and unpaginated; there is no `/languages` and no `/version` (catch-all 404).

Visibility: anonymous callers see public repositories only; any token (or one of option `gitea_tokens`) sees
private and internal ones too (a real instance would check the token owner's access; Gogs search shows private
ones only with `uid`). A repository whose
`parent_full_name` is an absolute URL and which is not a fork is a pull mirror of that URL.
Counters: `requests`, `rest_points`, `status_<code>` per host.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from typing import Any
from urllib.parse import unquote, urlencode

from simforge.exchange import SimRequest, SimResponse
from simforge.licences import GNU_IDS, LICENCES, SPDX_ONLY
from simforge.world import SimAccount, SimHost, SimRepo

API = "/api/v1"
MAX_ITEMS = 50
GITEA_DEFAULT_PAGE = 30
GOGS_DEFAULT_PAGE = 10
GITEA_VERSION = "1.23.4"
FORGEJO_VERSION = "10.0.1+gitea-1.22.0"
PARIS = dt.timezone(dt.timedelta(hours=1))  # Gitea renders times in the server's zone


def _opt(req: SimRequest, name: str, default: Any = None) -> Any:
    options = getattr(req, "options", None) or {}
    return options.get(name, default)


def _gogs(req: SimRequest) -> bool:
    return req.world.host(req.host).kind == "gogs"


def _time(value: dt.datetime | None, gogs: bool) -> str | None:
    if value is None:
        return None
    if gogs:
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.astimezone(PARIS).isoformat(timespec="seconds")


def _error(status: int, message: str, gogs: bool) -> SimResponse:
    if gogs and status in (401, 404):
        return SimResponse(status, b"")  # Gogs answers both with an empty body
    return SimResponse(status, {"message": message, "url": "https://docs.gitea.com/api/"})


# rendering ------------------------------------------------------------------------------------------------------
def _web(req: SimRequest, path: str) -> str:
    return f"{req.base_url}/{path}"


def _account_json(req: SimRequest, account: SimAccount, *, as_org: bool) -> dict[str, Any]:
    gogs = _gogs(req)
    avatar = account.avatar_url or _web(req, f"avatars/{account.id}")
    if gogs:
        if as_org:
            return {"id": account.id, "username": account.path, "full_name": account.name or "", "avatar_url": avatar,
                    "description": account.description or "", "website": account.website or "",
                    "location": account.location or ""}
        return {"id": account.id, "username": account.path, "login": account.path, "full_name": account.name or "",
                "email": account.email or "", "avatar_url": avatar}
    if as_org:
        return {"id": account.id, "name": account.path, "full_name": account.name or "", "email": account.email or "",
                "avatar_url": avatar, "description": account.description or "", "website": account.website or "",
                "location": account.location or "", "visibility": "public", "repo_admin_change_team_access": False,
                "username": account.path}
    return {"id": account.id, "login": account.path, "login_name": "", "source_id": 0, "full_name": account.name or "",
            "email": account.email or "", "avatar_url": avatar, "html_url": _web(req, account.path), "language": "",
            "is_admin": False, "last_login": "0001-01-01T00:00:00Z", "created": _time(account.created_at, False),
            "restricted": False, "active": True, "prohibit_login": False, "location": account.location or "",
            "website": account.website or "", "description": account.description or "", "visibility": "public",
            "followers_count": account.followers, "following_count": 0, "starred_repos_count": 0,
            "username": account.path}


def _owner(req: SimRequest, sim: SimHost, repo: SimRepo) -> dict[str, Any]:
    account = sim.account(repo.namespace) or SimAccount(0, repo.namespace, "user")
    return _account_json(req, account, as_org=False)


def _is_mirror(repo: SimRepo) -> bool:
    return not repo.fork and bool(repo.parent_full_name) and "://" in str(repo.parent_full_name)


def _licenses(repo: SimRepo) -> list[str]:
    if repo.license_key is None or repo.empty:
        return []
    if repo.license_key in GNU_IDS:
        return [GNU_IDS[repo.license_key]]
    if repo.license_key in LICENCES:
        return [LICENCES[repo.license_key][0]]
    if repo.license_key in SPDX_ONLY:
        return [SPDX_ONLY[repo.license_key]]
    return ["LicenseRef-Custom"]  # a licence file the classifier could not match to a known text


def repo_json(req: SimRequest, repo: SimRepo, *, depth: int = 0) -> dict[str, Any]:
    """A repository as `api.Repository` of the host's dialect."""
    gogs = _gogs(req)
    sim = req.world.host(req.host)
    parent = None
    if repo.fork and repo.parent_full_name and depth == 0:
        upstream = sim.repo_by_path(repo.parent_full_name)
        parent = repo_json(req, upstream, depth=1) if upstream is not None else None
    html = _web(req, repo.full_name)
    empty = repo.empty
    branch = (repo.default_branch or "master") if gogs else (repo.default_branch or "main")
    data: dict[str, Any] = {
        "id": repo.id, "owner": _owner(req, sim, repo), "name": repo.name, "full_name": repo.full_name,
        "description": repo.description or "", "private": repo.visibility != "public", "fork": repo.fork,
        "parent": parent, "empty": empty, "mirror": _is_mirror(repo), "size": 0 if empty else 120,
        "html_url": html, "ssh_url": f"git@{req.host}:{repo.full_name}.git", "clone_url": f"{html}.git",
        "website": repo.homepage or "", "stars_count": repo.stars, "forks_count": repo.forks,
        "watchers_count": repo.watchers, "open_issues_count": repo.open_issues, "default_branch": branch,
        "created_at": _time(repo.created_at, gogs), "updated_at": _time(repo.updated_at, gogs),
    }
    if gogs:
        return data
    data.update({
        "template": repo.template, "language": "" if empty else (repo.language or ""),
        "languages_url": f"{req.base_url}{API}/repos/{repo.full_name}/languages",
        "url": f"{req.base_url}{API}/repos/{repo.full_name}", "link": "",
        "original_url": str(repo.parent_full_name) if _is_mirror(repo) else "",
        "open_pr_counter": 0, "release_counter": len(repo.releases), "archived": repo.archived,
        "archived_at": _time(repo.updated_at, False) if repo.archived else "1970-01-01T01:00:00+01:00",
        "permissions": {"admin": False, "push": False, "pull": True}, "has_issues": True, "has_wiki": True,
        "has_pull_requests": True, "has_releases": True, "internal": repo.visibility == "internal",
        "mirror_interval": "8h0m0s" if _is_mirror(repo) else "", "object_format_name": "sha1",
        "mirror_updated": "0001-01-01T00:00:00Z", "repo_transfer": None, "topics": list(repo.topics),
        "licenses": _licenses(repo),
    })
    if repo.visibility == "internal":
        data["private"] = False
    return data


# pagination -----------------------------------------------------------------------------------------------------
def _page_args(req: SimRequest, default: int) -> tuple[int, int]:
    try:
        page = max(1, int(req.arg("page") or 1))
    except ValueError:
        page = 1
    try:
        limit = int(req.arg("limit") or 0)
    except ValueError:
        limit = 0
    limit = default if limit <= 0 else min(limit, MAX_ITEMS)
    return page, limit


def _paginate(req: SimRequest, items: list[Any], *, gogs_default: int = GOGS_DEFAULT_PAGE,
              total_header: bool = True) -> tuple[list[Any], dict[str, str]]:
    """One page and its headers: Gitea keeps the query in Link and sends X-Total-Count; Gogs does neither."""
    gogs = _gogs(req)
    page, limit = _page_args(req, gogs_default if gogs else GITEA_DEFAULT_PAGE)
    total = len(items)
    pages = max(1, -(-total // limit))
    chunk = items[(page - 1) * limit: page * limit]
    base = f"{req.base_url}{req.path.split('?')[0]}"

    def link(n: int) -> str:
        if gogs:
            return f"{base}?page={n}"
        query = {k: v[-1] for k, v in req.query.items()}
        query.update(page=str(n), limit=str(limit))
        return f"{base}?{urlencode(query)}"

    links = []
    if page < pages:
        links.append(f'<{link(page + 1)}>; rel="next"')
        links.append(f'<{link(pages)}>; rel="last"')
    if page > 1:
        links.append(f'<{link(1)}>; rel="first"')
        links.append(f'<{link(min(page - 1, pages))}>; rel="prev"')
    headers = {"Link": ",".join(links)} if links else {}
    if not gogs and total_header:
        headers["X-Total-Count"] = str(total)
    return chunk, headers


# handlers -------------------------------------------------------------------------------------------------------
def _authorised(req: SimRequest) -> bool | None:
    """True: a valid token; False: anonymous; None: a token the instance refuses."""
    token = req.token or req.arg("token") or req.arg("access_token")
    if not token:
        return False
    allowed = _opt(req, "gitea_tokens")
    return True if allowed is None or token in allowed else None


def _visible(repo: SimRepo, authed: bool) -> bool:
    return repo.visibility == "public" or authed


def _owned(sim: SimHost, namespace: str, authed: bool) -> list[SimRepo]:
    return sorted((r for r in sim.repos_of(namespace) if _visible(r, authed)), key=lambda r: r.id)


def _gogs_keyword_match(repo: SimRepo, q: str) -> bool:
    """Gogs: `LIKE '%' + lower(path.Base(q)) + '%'` on the name or description, wildcards left unescaped."""
    keyword = posixpath.basename(q) or "."
    if q in ("", "/"):
        keyword = "." if q == "" else "/"
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in keyword.lower())
    rx = re.compile(f".*{pattern}.*", re.DOTALL)
    return bool(rx.fullmatch(repo.name.lower()) or rx.fullmatch((repo.description or "").lower()))


def _search(req: SimRequest, sim: SimHost, authed: bool) -> SimResponse:
    gogs = _gogs(req)
    q = req.arg("q", "") or ""
    uid = int(req.arg("uid") or 0)
    include_private = authed and (bool(uid) if gogs else req.flag("private", True))
    owner_path = next((a.path for a in sim.accounts.values() if a.id == uid), None) if uid else None
    repos = [r for r in sim.repos.values()
             if (r.visibility == "public" or include_private)
             and (owner_path is None or r.namespace.lower() == owner_path.lower()) and (not uid or owner_path)]
    if gogs:
        repos = sorted((r for r in repos if _gogs_keyword_match(r, q)), key=lambda r: r.id)
    else:
        if q:
            repos = [r for r in repos if q.lower() in r.name.lower()]
        order = req.arg("sort", "alpha")
        key = {"id": lambda r: r.id, "created": lambda r: (r.created_at, r.id)}.get(
            order or "alpha", lambda r: (r.name.lower(), r.id))
        repos = sorted(repos, key=key, reverse=req.arg("order", "asc") == "desc")
    chunk, headers = _paginate(req, repos)
    return SimResponse(200, {"ok": True, "data": [repo_json(req, r) for r in chunk]}, headers)


def _owner_repos(req: SimRequest, sim: SimHost, name: str, authed: bool, org_route: bool) -> SimResponse:
    gogs = _gogs(req)
    account = sim.account(name)
    if gogs and not authed:
        return _error(401, "", True)  # reqToken() on these routes
    if account is None or (org_route and not gogs and account.kind == "user"):
        return _error(404, "GetUserByName", gogs)
    repos = _owned(sim, account.path, authed)
    if gogs:
        return SimResponse(200, [repo_json(req, r) for r in repos])
    chunk, headers = _paginate(req, repos)
    return SimResponse(200, [repo_json(req, r) for r in chunk], headers)


def _commit_json(req: SimRequest, repo: SimRepo, commit: Any, gogs: bool) -> dict[str, Any]:
    api = f"{req.base_url}{API}/repos/{repo.full_name}"
    person = {"name": commit.author_name, "email": commit.author_email, "date": _time(commit.authored_at, gogs)}
    data: dict[str, Any] = {
        "url": f"{api}/git/commits/{commit.sha}", "sha": commit.sha,
        "html_url": _web(req, f"{repo.full_name}/commit/{commit.sha}"),
        "commit": {"url": f"{api}/git/commits/{commit.sha}", "author": person, "committer": person,
                   "message": commit.message, "tree": {"url": f"{api}/git/trees/{commit.sha}", "sha": commit.sha}},
        "author": None, "committer": None, "parents": [],
    }
    if not gogs:
        data["created"] = person["date"]
        data["commit"]["verification"] = None
        data.update(files=None, stats=None)
    return data


def _repo_routes(req: SimRequest, sim: SimHost, repo: SimRepo, rest: str, authed: bool) -> SimResponse:
    gogs = _gogs(req)
    needs_token = gogs and rest.split("/", 1)[0] in ("contents", "raw", "commits")
    if needs_token and not authed:
        return _error(401, "", True)
    if rest == "":
        return SimResponse(200, repo_json(req, repo))
    if rest == "releases":
        releases = [{"id": i + 1, "tag_name": r.tag, "target_commitish": repo.default_branch or "main",
                     "name": r.name or r.tag, "body": "", "draft": False, "prerelease": False,
                     "author": _owner(req, sim, repo), "created_at": _time(r.published_at, gogs)}
                    | ({} if gogs else {"published_at": _time(r.published_at, gogs),
                                        "url": f"{req.base_url}{API}/repos/{repo.full_name}/releases/{i + 1}",
                                        "html_url": _web(req, f"{repo.full_name}/releases/tag/{r.tag}"),
                                        "assets": []})
                    for i, r in enumerate(repo.releases)]
        if gogs:
            return SimResponse(200, releases)
        chunk, headers = _paginate(req, releases)
        return SimResponse(200, chunk, headers)
    if rest == "languages" and not gogs:
        return SimResponse(200, {repo.language: 4096} if repo.language and not repo.empty else {})
    if repo.empty and rest.startswith(("contents", "raw", "commits")):
        if gogs:
            return SimResponse(500, {"message": "Something went wrong, please check the server logs."})
        if rest.startswith("commits"):
            return SimResponse(409, {"message": "Git Repository is empty.", "url": "https://docs.gitea.com/api/"})
        return _error(404, "GetContentsOrList", gogs)
    if rest == "contents":
        entries = [{"name": name, "path": name, "sha": f"{abs(hash(name)) % 16**12:012x}", "type": "file",
                    "size": len(text), "url": f"{req.base_url}{API}/repos/{repo.full_name}/contents/{name}",
                    "html_url": _web(req, f"{repo.full_name}/src/branch/{repo.default_branch}/{name}"),
                    "download_url": _web(req, f"{repo.full_name}/raw/branch/{repo.default_branch}/{name}")}
                   for name, text in sorted(repo.files.items())]
        return SimResponse(200, entries)
    if rest.startswith("raw/"):
        path = rest[4:]
        branch = repo.default_branch or "main"
        if path.startswith(branch + "/"):
            path = path[len(branch) + 1:]
        elif gogs:
            return _error(404, "", True)  # Gogs needs the ref in the path
        text = repo.files.get(path)
        if text is None:
            return _error(404, "file not found", gogs)
        return SimResponse(200, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})
    if rest == "commits":
        if gogs:
            size = int(req.arg("pageSize") or 30)
            return SimResponse(200, [_commit_json(req, repo, c, True) for c in repo.commits[:size]])
        chunk, headers = _paginate(req, repo.commits)
        _, limit = _page_args(req, GITEA_DEFAULT_PAGE)
        page, _ = _page_args(req, GITEA_DEFAULT_PAGE)
        headers["X-HasMore"] = "true" if page * limit < len(repo.commits) else "false"
        return SimResponse(200, [_commit_json(req, repo, c, False) for c in chunk], headers)
    return _error(404, "Not Found", gogs)


def _route(req: SimRequest, authed: bool) -> SimResponse:
    gogs = _gogs(req)
    sim = req.world.host(req.host)
    path = unquote(req.path.split("?")[0])
    if not path.startswith(API + "/"):
        return _error(404, "Not Found", gogs)
    parts = [p for p in path[len(API):].split("/") if p]
    if req.method not in ("GET", "HEAD"):
        return _error(405, "method not allowed", gogs)
    if parts == ["version"]:
        if gogs:
            return _error(404, "", True)
        kind = req.world.host(req.host).kind
        return SimResponse(200, {"version": FORGEJO_VERSION if kind == "forgejo" else GITEA_VERSION})
    if parts == ["repos", "search"]:
        return _search(req, sim, authed)
    if len(parts) == 2 and parts[0] in ("orgs", "users"):
        account = sim.account(parts[1])
        if account is None or (parts[0] == "orgs" and not gogs and account.kind == "user"):
            return _error(404, "GetUserByName", gogs)
        return SimResponse(200, _account_json(req, account, as_org=parts[0] == "orgs"))
    if len(parts) == 3 and parts[0] in ("orgs", "users") and parts[2] == "repos":
        return _owner_repos(req, sim, parts[1], authed, parts[0] == "orgs")
    if len(parts) >= 3 and parts[0] == "repos":
        repo = sim.repo_by_path(f"{parts[1]}/{parts[2]}")
        if repo is None or not _visible(repo, authed):
            return _error(404, "GetRepositoryByName", gogs)
        return _repo_routes(req, sim, repo, "/".join(parts[3:]), authed)
    return _error(404, "Not Found", gogs)


def handle(req: SimRequest) -> SimResponse:
    """Serve one request in the host's dialect and count it."""
    gogs = _gogs(req)
    authed = _authorised(req)
    if authed is None:
        response = (_error(401, "", True) if gogs else
                    SimResponse(401, {"message": "user does not exist [uid: 0, name: ]", "url": ""}))
    else:
        response = _route(req, authed)
    with req.state.lock:
        req.state.counters["requests"] += 1
        req.state.counters["rest_points"] += 1
        req.state.counters[f"status_{response.status}"] += 1
    return response
