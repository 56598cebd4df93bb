"""A reference crawler shaped like code.gouv.fr's (2018–2024 Python fetcher): for comparison only, never shipped.

What it does, per the reference (shared/docs/codegouvfr-reference.md, "How it crawls today"):
* GitHub (PyGithub, 100 per page): the owner (`/orgs/x`, else `/users/x`), its REST listing, then per repository
  the full repository (`subscribers_count`, the score's watchers, is not in the listing), the root directory
  (README / LICENSE / CONTRIBUTING / CHANGELOG / publiccode.yml for the score) and publiccode.yml when present.
* GitLab (python-gitlab, 100 per page): per group the group and the *first page* of its projects (no subgroups,
  archived dropped: the known defects); a whole instance by offset pages of `GET /projects`; then per project the
  root tree. No licence, no language, no 365-day activity, no releases: it gathers less than our crawler does.
* No conditional requests, nothing skipped on a re-crawl: every run costs the same, so only its cold crawl is
  measured.
Accounts run on the same pool shape as ours (`workers`, at most `per_host` per host) so that the comparison
measures the per-account method, not the scheduling.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from crawler.config import Config
from crawler.runner import Unit, plan, token_for

if TYPE_CHECKING:
    from github.NamedUser import NamedUser
    from github.Organization import Organization
    from gitlab.v4.objects import GroupProject, Project

PUBLICCODE = "publiccode.yml"


def crawl_github(unit: Unit) -> int:
    from github import Auth, Github, GithubException

    token = token_for(unit.forge)
    # PyGithub ≥ 2.0 waits 0.25 s between requests by default; the fetcher of 2018–2024 predates that throttle
    gh = Github(base_url=unit.forge.api_url, auth=Auth.Token(token) if token else None, per_page=100, timeout=30,
                seconds_between_requests=0)
    assert unit.owner is not None
    try:
        owner: Organization | NamedUser = gh.get_organization(unit.owner.login)
    except GithubException:
        owner = gh.get_user(unit.owner.login)
    count = 0
    for repo in owner.get_repos():
        count += 1
        _ = repo.subscribers_count  # completes the object: GET /repos/o/r
        try:
            # the root directory's contents: always a list (a file's path gives one ContentFile)
            names = [c.name for c in repo.get_contents("")]  # type: ignore[union-attr]
        except GithubException:  # empty repository
            continue
        if PUBLICCODE in names:
            repo.get_contents(PUBLICCODE)
    gh.close()
    return count


def crawl_gitlab(unit: Unit) -> int:
    import gitlab
    from gitlab.exceptions import GitlabError

    base = unit.forge.api_url.rstrip("/").removesuffix("/api/v4")
    gl = gitlab.Gitlab(base, private_token=token_for(unit.forge), timeout=30, per_page=100)
    projects: Iterable[Project | GroupProject]
    if unit.owner is None:
        projects = gl.projects.list(iterator=True, visibility="public")
    else:
        try:
            group = gl.groups.get(unit.owner.login)
        except GitlabError:
            return 0  # user namespaces were not crawled
        projects = group.projects.list(get_all=False, archived=False)
    count = 0
    for project in projects:
        count += 1
        try:
            names = [t["name"] for t in gl.projects.get(project.id, lazy=True).repository_tree(get_all=False)]
        except GitlabError:  # empty repository
            continue
        if PUBLICCODE in names:
            gl.projects.get(project.id, lazy=True).files.raw(PUBLICCODE, ref="HEAD")
    gl.session.close()
    return count


def crawl_all(config: Config, *, workers: int = 8, per_host: int = 2) -> dict[str, Any]:
    """Crawl every planned account; returns repositories seen and accounts failed (the forge counts requests)."""
    units = plan(config)
    limits: dict[str, threading.Semaphore] = {}
    for unit in units:
        limits.setdefault(unit.forge.host, threading.Semaphore(per_host))
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def one(unit: Unit) -> None:
        crawl = {"github": crawl_github, "gitlab": crawl_gitlab}.get(unit.forge.kind)
        with limits[unit.forge.host]:
            try:
                n = crawl(unit) if crawl else 0
                key = "repositories"
            except Exception:  # noqa: BLE001 - a reference crawler: count failures, go on
                n, key = 1, "accounts_failed"
        with lock:
            seen[key] += n
            seen["accounts"] += 1

    # units of a host wait on its semaphore: sort so that one host's units do not fill the whole pool
    rank: Counter[str] = Counter()
    keyed: list[tuple[int, int, Unit]] = []
    for unit in units:
        keyed.append((rank[unit.forge.host], len(keyed), unit))
        rank[unit.forge.host] += 1
    order = [unit for _, _, unit in sorted(keyed, key=lambda k: k[:2])]
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="baseline") as pool:
        list(pool.map(one, order))
    return {"baseline_" + k: v for k, v in seen.items()}
