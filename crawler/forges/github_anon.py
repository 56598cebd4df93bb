"""Anonymous GitHub crawl through PyGithub (REST only: GraphQL requires a token; 60 requests/h per IP).

Listing pages use `requester.requestJsonAndCheck` with `If-None-Match` (PaginatedList has no ETag support, see
forge-api-notes §3.1); a 304 keeps the page's repositories as unchanged. Signals cost one request per changed
repository (root listing), plus one for a publiccode.yml when present; commits and releases are left unknown
(None) rather than spending the tiny anonymous budget on them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from github import (
    BadCredentialsException,
    GithubException,
    RateLimitExceededException,
    UnknownObjectException,
)

from crawler.forges import github_map as m
from crawler.forges.base import RateLimitExhausted
from crawler.forges.publiccode import parse_publiccode
from index.records import HttpValidator, OutcomeStatus, RepositorySignals

if TYPE_CHECKING:
    from crawler.forges.github import _Crawl


class _AnonymousCrawl:
    def __init__(self, crawl: _Crawl):
        self.c = crawl
        self.g = crawl.adapter._github_factory(crawl.target)
        self.api = crawl.target.api_url.rstrip("/")

    def _get(self, url: str, headers: dict[str, str] | None = None) -> tuple[dict[str, Any], Any]:
        from crawler.forges.github import _Stop

        cost = self.c.http.cost
        cost.requests += 1
        try:
            result_headers, data = self.g.requester.requestJsonAndCheck("GET", url, headers=headers or {})
        except RateLimitExceededException as exc:
            cost.rest_points += 1
            raise RateLimitExhausted(f"anonymous rate limit exhausted: {exc.data}") from None
        except UnknownObjectException:
            cost.rest_points += 1
            raise _Stop(OutcomeStatus.NOT_FOUND, f"{self.c.target.host}/{self.c.login}: not found") from None
        except BadCredentialsException:
            raise _Stop(OutcomeStatus.AUTH, f"{self.c.target.host}: credentials refused") from None
        except GithubException as exc:
            cost.rest_points += 1
            raise _Stop(OutcomeStatus.FAILED, f"HTTP {exc.status}: {exc.data}"[:300]) from None
        cost.rest_points += 1  # anonymous: even a 304 counts
        if data is None and headers and "If-None-Match" in headers:
            cost.not_modified += 1
        return result_headers, data

    def run(self) -> None:
        c = self.c
        _, data = self._get(f"{self.api}/users/{c.login}")  # PyGithub follows a renamed account's 301
        c.account = m.account_from_rest(data)
        c.login = data["login"]
        org = data.get("type") == "Organization"
        base = f"/{'orgs' if org else 'users'}/{c.login}/repos"
        url: str | None = f"{self.api}{base}?per_page=100&sort=created&direction=asc&type={'all' if org else 'owner'}"
        page = 1
        while url:
            key = f"GET {base}?page={page}"
            old = c.known.validators.get(key)
            headers = {"If-None-Match": old.etag} if old and old.etag else None
            result_headers, items = self._get(url, headers)
            if items is None and old is not None:
                memo = json.loads(old.memo or "{}")
                c.unchanged.update(memo.get("ids", []))
                c.validators[key] = old
                url = memo.get("next")
            else:
                links = _links(result_headers.get("link", ""))
                url = links.get("next")
                ids = []
                for item in items or ():
                    record = m.repo_from_rest(item)
                    ids.append(record.forge_id)
                    if c._needs_details(record, c.known.repos.get(record.forge_id)):
                        record = _with(record, signals=self._signals(item))
                    c.records[record.forge_id] = record
                etag = result_headers.get("etag")
                if etag:
                    c.validators[key] = HttpValidator(key, etag, result_headers.get("last-modified"),
                                                      json.dumps({"ids": ids, "next": url}))
            page += 1
        c.complete = True

    def _signals(self, item: dict[str, Any]) -> RepositorySignals | None:
        if item.get("pushed_at") is None:
            return RepositorySignals(commits_365d=0, contributors_365d=0, has_readme=False, has_license=False,
                                     has_contributing=False, has_changelog=False, has_publiccode=False)
        _, entries = self._get(f"{self.api}/repos/{item['full_name']}/contents/")
        names = [str(e.get("name", "")).lower() for e in entries or ()]
        node = {"root": {"entries": [{"name": n} for n in names]}}
        publiccode = None
        if "publiccode.yml" in names:
            _, blob = self._get(f"{self.api}/repos/{item['full_name']}/contents/publiccode.yml")
            import base64

            text = base64.b64decode(blob.get("content") or "").decode("utf-8", errors="replace")
            publiccode = parse_publiccode(text)
        signals = m.signals_from_graphql(node)
        return RepositorySignals(
            has_readme=signals.has_readme, has_license=signals.has_license, has_contributing=signals.has_contributing,
            has_changelog=signals.has_changelog, has_publiccode=signals.has_publiccode, publiccode=publiccode,
        )


def _links(header: str) -> dict[str, str]:
    links = {}
    for part in header.split(","):
        if ";" in part:
            url, _, rel = part.partition(";")
            name = rel.strip().removeprefix("rel=").strip('"')
            links[name] = url.strip().strip("<>")
    return links


def _with(record: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(record, **changes)
