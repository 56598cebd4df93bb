"""Simulated GitLab v4: the per-host index, the JSON shapes of projects, groups and users, and offset pagination.

Shapes follow GitLab's docs and the recordings in shared/forgedata/gitlab-* (see `gitlab.py` for the routes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from simforge.exchange import SimRequest, SimResponse
from simforge.licences import LICENCES, gitlab_license_key
from simforge.world import SimAccount, SimHost, SimRepo

API = "/api/v4"
TOTALS_LIMIT = 10_000
INDEX_LOCK = threading.Lock()


def option(req: SimRequest, name: str, default: Any = None) -> Any:
    return req.options.get(name, default)


# the index -----------------------------------------------------------------------------------------------------
def synthetic_id(path: str) -> int:
    return 50_000_000 + int(hashlib.sha256(path.lower().encode()).hexdigest()[:7], 16)


class Index:
    """Namespaces and projects of one host, arranged so a listing costs O(its own size)."""

    def __init__(self, host: SimHost, key: tuple[int, ...]):
        self.key = key
        self.licence_keys = host.licence_keys  # "licensee" | "gitaly": how `license.key` is spelt (SimHost)
        self.by_ns: dict[str, list[int]] = {}
        self.children: dict[str, set[str]] = {}
        self.ns_path: dict[str, str] = {}  # lower → display path
        self.ns_id: dict[str, int] = {}
        self.ns_by_id: dict[int, str] = {}
        self.by_path: dict[str, int] = {}
        self.moved: dict[str, int] = {}
        for account in host.accounts.values():
            self._add_ns(account.path, account.id)
        for repo in host.repos.values():
            ns = repo.namespace.lower()
            self.by_ns.setdefault(ns, []).append(repo.id)
            if ns not in self.ns_path:
                self._add_ns(repo.namespace, None)
            self.by_path[repo.full_name.lower()] = repo.id
            for old in repo.previous_full_names:
                self.moved[old.lower()] = repo.id
        for ids in self.by_ns.values():
            ids.sort()
        self.project_ids = sorted(host.repos)

    def _add_ns(self, path: str, ns_id: int | None) -> None:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            low = sub.lower()
            if low not in self.ns_path:
                self.ns_path[low] = sub
                nid = ns_id if depth == len(parts) and ns_id is not None else synthetic_id(sub)
                self.ns_id[low] = nid
                self.ns_by_id[nid] = low
            elif depth == len(parts) and ns_id is not None and self.ns_id[low] != ns_id:
                self.ns_by_id.pop(self.ns_id[low], None)
                self.ns_id[low] = ns_id
                self.ns_by_id[ns_id] = low
            if depth > 1:
                self.children.setdefault("/".join(parts[: depth - 1]).lower(), set()).add(low)

    def subtree(self, ns: str) -> list[str]:
        out, stack = [], [ns]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(sorted(self.children.get(current, ())))
        return out


def host_index(req: SimRequest) -> Index:
    host = req.world.host(req.host)
    key = (len(host.repos), len(host.accounts), req.world.revision)
    index = req.state.extra.get("gitlab_index")
    if index is None or index.key != key:
        with INDEX_LOCK:
            index = req.state.extra.get("gitlab_index")
            if index is None or index.key != key:
                index = Index(host, key)
                req.state.extra["gitlab_index"] = index
                req.state.extra["gitlab_listing_cache"] = {}
    return index


# rendering -----------------------------------------------------------------------------------------------------
def ts(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def web_url(req: SimRequest, path: str) -> str:
    return f"https://{req.host}/{path}"


def namespace_json(req: SimRequest, index: Index, ns: str) -> dict[str, Any]:
    host = req.world.host(req.host)
    path = index.ns_path.get(ns, ns)
    account = host.account(path)
    kind = "user" if account is not None and account.kind == "user" else "group"
    parent = ns.rsplit("/", 1)[0] if "/" in ns else None
    return {
        "id": index.ns_id.get(ns, synthetic_id(ns)),
        "name": (account.name if account and account.name else path.rsplit("/", 1)[-1]),
        "path": path.rsplit("/", 1)[-1],
        "kind": kind,
        "full_path": path,
        "parent_id": index.ns_id.get(parent) if parent else None,
        "avatar_url": account.avatar_url if account else None,
        "web_url": web_url(req, path if kind == "user" else f"groups/{path}"),
    }


def basic_project(req: SimRequest, index: Index, repo: SimRepo) -> dict[str, Any]:
    """GitLab's BasicProjectDetails: the `simple=true` set, also used for `forked_from_project`."""
    web = web_url(req, repo.full_name)
    ns_name = namespace_json(req, index, repo.namespace.lower())["name"]
    readme = next((n for n in repo.files if n.lower().startswith("readme")), None)
    return {
        "id": repo.id, "description": repo.description, "name": repo.name,
        "name_with_namespace": f"{ns_name} / {repo.name}", "path": repo.name,
        "path_with_namespace": repo.full_name, "created_at": ts(repo.created_at),
        "default_branch": None if repo.empty else repo.default_branch,
        "tag_list": list(repo.topics), "topics": list(repo.topics),
        "ssh_url_to_repo": f"git@{req.host}:{repo.full_name}.git", "http_url_to_repo": f"{web}.git",
        "web_url": web,
        "readme_url": f"{web}/-/blob/{repo.default_branch}/{readme}" if readme and not repo.empty else None,
        "forks_count": repo.forks, "avatar_url": None, "star_count": repo.stars,
        "last_activity_at": ts(repo.pushed_at or repo.updated_at),
        "namespace": namespace_json(req, index, repo.namespace.lower()),
    }


def parent_json(req: SimRequest, index: Index, repo: SimRepo) -> dict[str, Any] | None:
    if not repo.fork:
        return None
    host = req.world.host(req.host)
    parent_id = index.by_path.get((repo.parent_full_name or "").lower())
    parent = host.repos.get(parent_id) if parent_id else None
    if parent is not None:
        return basic_project(req, index, parent)
    full = repo.parent_full_name or f"unknown/{repo.name}"
    return {"id": synthetic_id(full), "name": full.rsplit("/", 1)[-1], "path": full.rsplit("/", 1)[-1],
            "path_with_namespace": full, "web_url": web_url(req, full)}


def project_json(req: SimRequest, index: Index, repo: SimRepo, *, license: bool = False,
             statistics: bool = False) -> dict[str, Any]:
    """The `Entities::Project` field set a list or a GET returns (the long tail of CI settings left out)."""
    body = basic_project(req, index, repo)
    api = f"{req.base_url}{API}/projects/{repo.id}"
    licence_file = next((n for n in repo.files if n.upper().startswith(("LICENSE", "LICENCE", "COPYING"))), "LICENSE")
    body.update({
        "visibility": repo.visibility, "archived": repo.archived, "empty_repo": repo.empty,
        "updated_at": ts(repo.updated_at), "open_issues_count": repo.open_issues,
        "issues_enabled": True, "merge_requests_enabled": True, "wiki_enabled": True, "jobs_enabled": True,
        "repository_access_level": "enabled", "issues_access_level": "enabled",
        "creator_id": 1, "import_status": "none", "shared_runners_enabled": True, "lfs_enabled": True,
        "request_access_enabled": True, "repository_object_format": "sha1",
        "marked_for_deletion_on": None, "shared_with_groups": [],
        "_links": {
            "self": api, "issues": f"{api}/issues", "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches", "labels": f"{api}/labels",
            "events": f"{api}/events", "members": f"{api}/members", "cluster_agents": f"{api}/cluster_agents",
        },
    })
    parent = parent_json(req, index, repo)
    if parent is not None:
        body["forked_from_project"] = parent
    if license:
        key = repo.license_key
        if key is None:
            body["license_url"], body["license"] = None, None
        else:
            shown, name = gitlab_license_key(key, index.licence_keys)
            body["license_url"] = f"{body['web_url']}/-/blob/{repo.default_branch}/{licence_file}"
            body["license"] = {
                "key": shown, "name": name, "nickname": None,
                "html_url": f"http://choosealicense.com/licenses/{key}/" if key in LICENCES else None,
                "source_url": None,
            }
    if statistics:
        body["statistics"] = {"commit_count": len(repo.commits), "storage_size": 1024 * len(repo.files),
                              "repository_size": 1024 * len(repo.files), "wiki_size": 0, "lfs_objects_size": 0}
    return body


def group_json(req: SimRequest, index: Index, ns: str) -> dict[str, Any]:
    host = req.world.host(req.host)
    path = index.ns_path[ns]
    account = host.account(path)
    parent = ns.rsplit("/", 1)[0] if "/" in ns else None
    return {
        "id": index.ns_id[ns], "web_url": web_url(req, f"groups/{path}"),
        "name": account.name if account and account.name else path.rsplit("/", 1)[-1],
        "path": path.rsplit("/", 1)[-1], "description": (account.description if account else None) or "",
        "visibility": account.visibility if account else "public", "share_with_group_lock": False,
        "require_two_factor_authentication": False, "project_creation_level": "developer",
        "subgroup_creation_level": "owner", "lfs_enabled": True, "default_branch": None,
        "avatar_url": account.avatar_url if account else None, "request_access_enabled": False,
        "full_name": " / ".join(p for p in path.split("/")), "full_path": path,
        "created_at": ts(account.created_at if account else dt.datetime(2015, 1, 1, tzinfo=dt.UTC)),
        "parent_id": index.ns_id.get(parent) if parent else None, "shared_runners_setting": "enabled",
    }


def languages(repo: SimRepo) -> dict[str, float]:
    if repo.empty or not repo.language:
        return {}
    return {repo.language: 87.5, "Shell": 12.5} if repo.language != "Shell" else {"Shell": 100.0}


def user_json(req: SimRequest, account: SimAccount) -> dict[str, Any]:
    return {"id": account.id, "username": account.path, "name": account.name or account.path, "state": "active",
            "locked": False, "avatar_url": account.avatar_url, "web_url": web_url(req, account.path),
            "public_email": account.email or "", "website_url": account.website or "",
            "location": account.location or "", "bio": account.description or "",
            "created_at": ts(account.created_at)}


# pagination ----------------------------------------------------------------------------------------------------
def per_page_arg(req: SimRequest) -> int:
    try:
        value = int(req.arg("per_page") or 20)
    except ValueError:
        value = 20
    return max(1, min(100, value))


def page_arg(req: SimRequest) -> int:
    try:
        return max(1, int(req.arg("page") or 1))
    except ValueError:
        return 1


def page_url(req: SimRequest, **changes: Any) -> str:
    query = {k: v[-1] for k, v in req.query.items()}
    query.update({k: str(v) for k, v in changes.items()})
    return f"{req.base_url}{req.path}?{urlencode(query)}"


def paginate(req: SimRequest, items: list[Any], render: Callable[[Any], Any], *,
              totals: bool = True) -> SimResponse:
    per_page, page = per_page_arg(req), page_arg(req)
    total = len(items)
    pages = max(1, math.ceil(total / per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    show_totals = totals and total <= int(option(req, "gitlab_totals_limit", TOTALS_LIMIT))
    headers = {"x-page": str(page), "x-per-page": str(per_page),
               "x-next-page": str(page + 1) if page < pages else "",
               "x-prev-page": str(page - 1) if page > 1 else ""}
    links = []
    if page > 1:
        links.append(f'<{page_url(req, page=page - 1, per_page=per_page)}>; rel="prev"')
    if page < pages:
        links.append(f'<{page_url(req, page=page + 1, per_page=per_page)}>; rel="next"')
    links.append(f'<{page_url(req, page=1, per_page=per_page)}>; rel="first"')
    if show_totals:
        links.append(f'<{page_url(req, page=pages, per_page=per_page)}>; rel="last"')
        headers.update({"x-total": str(total), "x-total-pages": str(pages)})
    headers["Link"] = ", ".join(links)
    return SimResponse(200, [render(item) for item in chunk], headers)
