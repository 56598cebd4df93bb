"""Anonymous GitHub crawl: REST only (GraphQL requires a token), 60 requests/h per IP.

It goes through the same `ForgeHttp` as the authenticated crawl, so the same policy holds: retries and waits on
the injected clock, nothing sent once the budget says 0, no request followed to another host. (PyGithub was used
here before; its retries sleep on the wall clock and its rate-limit waits cannot be bounded per account.)
Listing pages are conditional (`If-None-Match`); a 304 keeps the page's repositories as unchanged, though an
anonymous 304 still costs a request. Signals cost one request per changed repository (root listing), plus one
for a publiccode.yml when present; commits and releases are left unknown (None) rather than spending the tiny
anonymous budget on them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import httpx

from crawler.forges.github import mapping as m
from crawler.forges.github.crawl import GitHubCrawl
from crawler.forges.publiccode import parse_publiccode
from index.records import HttpValidator, RepositoryRecord, RepositorySignals


class AnonymousGitHubCrawl(GitHubCrawl):
    """One account crawled without a token: the same state and error handling, another listing."""

    def _get(self, path_or_url: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, Any]:
        """One GET: (response, parsed JSON), or (response, None) on a 304. Errors become the crawl's outcome."""
        response = self.http.request("GET", path_or_url, headers=headers or {})
        if response.status_code == 304:
            return response, None
        self.check(response)
        return response, response.json()

    def list_account(self) -> None:
        _, data = self._get(f"users/{self.login}")  # a renamed account answers 301, followed (same host only)
        self.account = m.account_from_rest(data)
        self.login = data["login"]
        org = data.get("type") == "Organization"
        base = f"/{'orgs' if org else 'users'}/{self.login}/repos"
        url: str | None = f"{base.lstrip('/')}?per_page=100&sort=created&direction=asc&type={'all' if org else 'owner'}"
        page = 1
        while url:
            key = f"GET {base}?page={page}"
            old = self.known.validators.get(key)
            headers = {"If-None-Match": old.etag} if old and old.etag else None
            response, items = self._get(url, headers)
            if items is None and old is not None:
                memo = json.loads(old.memo or "{}")
                self.unchanged.update(memo.get("ids", []))
                self.validators[key] = old
                url = memo.get("next")
            else:
                next_url = response.links.get("next", {}).get("url")
                url = self.http.follow(next_url) if next_url else None
                ids = []
                for item in items or ():
                    record = m.repo_from_rest(item)
                    ids.append(record.forge_id)
                    if self._needs_details(record, self.known.repos.get(record.forge_id)):
                        record = _with(record, signals=self._signals(item))
                    self.records[record.forge_id] = record
                etag = response.headers.get("etag")
                if etag:
                    self.validators[key] = HttpValidator(key, etag, response.headers.get("last-modified"),
                                                      json.dumps({"ids": ids, "next": url}))
            page += 1
        self.complete = True

    def _signals(self, item: dict[str, Any]) -> RepositorySignals | None:
        if item.get("pushed_at") is None:
            return RepositorySignals(commits_365d=0, contributors_365d=0, has_readme=False, has_license=False,
                                     has_contributing=False, has_changelog=False, has_publiccode=False)
        _, entries = self._get(f"repos/{item['full_name']}/contents/")
        names = [str(e.get("name", "")).lower() for e in entries or ()]
        node = {"root": {"entries": [{"name": n} for n in names]}}
        publiccode = None
        if "publiccode.yml" in names:
            _, blob = self._get(f"repos/{item['full_name']}/contents/publiccode.yml")
            text = base64.b64decode((blob or {}).get("content") or "").decode("utf-8", errors="replace")
            publiccode = parse_publiccode(text)
        signals = m.signals_from_graphql(node)
        return RepositorySignals(
            has_readme=signals.has_readme, has_license=signals.has_license, has_contributing=signals.has_contributing,
            has_changelog=signals.has_changelog, has_publiccode=signals.has_publiccode, publiccode=publiccode,
        )


def _with(record: RepositoryRecord, **changes: Any) -> RepositoryRecord:
    return replace(record, **changes)
