"""GitHub with a token: the cold crawl by GraphQL, re-crawls by conditional REST pages (see `adapter`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import httpx

from crawler.forges.base import Clock, KnownRepo, KnownState, RateLimitExhausted, Target
from crawler.forges.common import parse_time
from crawler.forges.crawl import CrawlStopped, HttpAccountCrawler
from crawler.forges.github import mapping as m
from crawler.forges.http import ForgeHttp, HttpStatusError
from index.records import (
    AccountKind,
    AccountRecord,
    HttpValidator,
    OutcomeStatus,
    RepositoryRecord,
    Visibility,
)

SIGNALS_MAX_AGE = dt.timedelta(hours=24)
PAGE_SIZE = 100

OWNER_QUERY = """
query Owner($login: String!, $cursor: String, $since: GitTimestamp!, $first: Int!) {
  rateLimit { cost remaining resetAt }
  repositoryOwner(login: $login) {
    __typename login url avatarUrl
    ... on Organization { databaseId name description websiteUrl orgEmail: email location isVerified createdAt }
    ... on User { databaseId name bio websiteUrl email location createdAt followers(first: 1) { totalCount } }
    repositories(first: $first, after: $cursor, ownerAffiliations: [OWNER],
                 orderBy: {field: CREATED_AT, direction: ASC}) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { ...Repo }
    }
  }
}
""" + m.REPO_FRAGMENT



class GitHubCrawl(HttpAccountCrawler):
    """One account crawled with a token: GraphQL when cold, conditional REST pages when known."""

    def __init__(self, target: Target, known: KnownState, clock: Clock, http: ForgeHttp, page_size: int):
        super().__init__(target, known, clock, http)
        self.page_size = page_size
        self.login = target.login or ""  # followed when the account was renamed
        self.now = self.started_at
        self.since = (self.now - dt.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.graphql_need = 1  # points the next GraphQL query is expected to cost: the last one's

    def outcome_login(self) -> str:
        return self.target.login or ""

    def run(self) -> None:
        if not self.login:
            raise CrawlStopped(OutcomeStatus.UNSUPPORTED, "GitHub is crawled account by account: a login is required")
        self.list_account()

    def list_account(self) -> None:
        if self.known.repos and self._kind_memo():
            self._rest_listing()
        else:
            self._graphql_listing()

    # cold: GraphQL ------------------------------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL query. RATE_LIMITED inside a 200 marks the token spent and asks again: the budget check
        then takes the pool's next token, or waits for the reset, or raises RateLimitExhausted."""
        for _ in range(len(self.http.pool) + 3):
            response = self.http.request("POST", self._graphql_url(), need=self.graphql_need,
                                         json_body={"query": query, "variables": variables})
            self.check(response)
            body = response.json()
            errors = body.get("errors") or []
            if not any(e.get("type") in ("RATE_LIMITED", "RATE_LIMIT") for e in errors):
                break
            self.http.exhausted("graphql")
        else:
            raise RateLimitExhausted(f"GraphQL rate limit of {self.target.host} exhausted", self.http.reset_at)
        cost = m._dig(body, "data", "rateLimit", "cost")
        self.http.cost.graphql_points += int(cost) if isinstance(cost, int) else 1
        if isinstance(cost, int):
            self.graphql_need = max(1, cost)
        fatal = [e for e in errors if e.get("type") not in ("NOT_FOUND",)]
        if fatal and not body.get("data"):
            raise CrawlStopped(OutcomeStatus.FAILED,
                               "GraphQL error: " + "; ".join(str(e.get("message")) for e in fatal)[:300])
        return dict(body)

    def _graphql_url(self) -> str:
        api = self.target.api_url.rstrip("/")
        return api[: -len("/v3")] + "/graphql" if api.endswith("/api/v3") else api + "/graphql"

    def _graphql_listing(self) -> None:
        cursor: str | None = None
        while True:
            body = self.graphql(OWNER_QUERY, {"login": self.login, "cursor": cursor, "since": self.since,
                                              "first": self.page_size})
            owner = m._dig(body, "data", "repositoryOwner")
            if owner is None:
                self._account_missing()
                return
            connection = owner["repositories"]
            if self.account is None:
                self.account = m.account_from_graphql(owner, connection.get("totalCount"))
                kind = "org" if owner["__typename"] == "Organization" else "user"
                self.validators["kind"] = HttpValidator(f"github:kind:{self.login.lower()}", memo=kind)
            for node in connection.get("nodes") or ():
                if node:
                    record = m.repo_from_graphql(node)
                    self.records[record.forge_id] = record
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                self.complete = True
                # count public repositories, as REST's `public_repos` does: the token may see private ones too
                public = sum(1 for r in self.records.values() if r.visibility == Visibility.PUBLIC)
                self.account = dataclasses.replace(self.account, repositories_count=public)
                return
            cursor = page.get("endCursor")

    def _account_missing(self) -> None:
        """GraphQL does not follow account renames: ask REST, which answers 301 for an old login."""
        response = self.http.request("GET", f"users/{self.login}")
        self.check(response)
        new_login = response.json().get("login")
        if not new_login or new_login.lower() == self.login.lower():
            raise CrawlStopped(OutcomeStatus.FAILED, f"{self.login} is listed by REST but not by GraphQL")
        self.login = new_login
        self._graphql_listing()

    # warm: REST + conditional requests ---------------------------------------------------------------------------
    def _kind_memo(self) -> str | None:
        validator = self.known.validators.get(f"github:kind:{self.login.lower()}")
        return validator.memo if validator else None

    def _rest_listing(self) -> None:
        kind = self._kind_memo()
        self.validators["kind"] = HttpValidator(f"github:kind:{self.login.lower()}", memo=kind)
        self._rest_account(kind)
        base = f"orgs/{self.login}/repos" if kind == "org" else f"users/{self.login}/repos"
        params = "type=all" if kind == "org" else "type=owner"
        url: str | None = self.http.url(f"{base}?per_page=100&sort=created&direction=asc&{params}")
        page, stale = 1, []
        while url:
            key = f"GET /{base}?page={page}"
            old = self.known.validators.get(key)
            headers = {"If-None-Match": old.etag} if old and old.etag else {}
            response = self.http.request("GET", url, headers=headers)
            if response.status_code == 304 and old is not None:
                memo = json.loads(old.memo or "{}")
                self.unchanged.update(memo.get("ids", []))
                self.validators[key] = old
                url = memo.get("next")
            else:
                self.check(response)
                items = response.json()
                next_url = response.links.get("next", {}).get("url")
                url = self.http.follow(next_url) if next_url else None
                ids = []
                for item in items:
                    record = m.repo_from_rest(item)
                    ids.append(record.forge_id)
                    self.records[record.forge_id] = record
                    known = self.known.repos.get(record.forge_id)
                    if self._needs_details(record, known):
                        stale.append(record.full_name)
                    elif known is not None:  # REST lists no subscriber count nor fork parent: keep the stored ones
                        self.records[record.forge_id] = dataclasses.replace(
                            record, watchers=known.watchers, parent_url=record.parent_url or known.parent_url)
                if response.headers.get("etag"):
                    self.validators[key] = HttpValidator(key, response.headers["etag"],
                                                         response.headers.get("last-modified"),
                                                         json.dumps({"ids": ids, "next": url}))
            page += 1
        self.complete = True
        for start in range(0, len(stale), self.page_size):
            self._details(stale[start:start + self.page_size])

    def _rest_account(self, kind: str | None) -> None:
        path = f"orgs/{self.login}" if kind == "org" else f"users/{self.login}"
        key = f"GET /{path}"
        old = self.known.validators.get(key)
        response = self.http.request("GET", path, headers={"If-None-Match": old.etag} if old and old.etag else {})
        if response.status_code == 304 and old is not None and old.memo:
            self.account = AccountRecord(**_account_from_memo(old.memo))
            self.validators[key] = old
            return
        self.check(response)
        data = response.json()
        if data.get("login", "").lower() != self.login.lower():  # followed a 301: the account was renamed
            self.login = data["login"]
        self.account = m.account_from_rest(data)
        if response.headers.get("etag"):
            self.validators[key] = HttpValidator(key, response.headers["etag"], response.headers.get("last-modified"),
                                                 json.dumps(_account_to_memo(self.account)))

    def _needs_details(self, record: RepositoryRecord, known: KnownRepo | None) -> bool:
        if known is None or known.signals_at is None:
            return True
        if known.pushed_at != record.pushed_at:
            return True
        return self.now - known.signals_at >= SIGNALS_MAX_AGE

    def _details(self, full_names: list[str]) -> None:
        variables: dict[str, Any] = {"since": self.since}
        declared = ["$since: GitTimestamp!"]
        parts = []
        for i, full_name in enumerate(full_names):
            owner, name = full_name.split("/", 1)
            variables[f"o{i}"], variables[f"n{i}"] = owner, name
            declared.append(f"$o{i}: String! $n{i}: String!")
            parts.append(f"r{i}: repository(owner: $o{i}, name: $n{i}) {{ ...Repo }}")
        query = (f"query Details({' '.join(declared)}) {{ rateLimit {{ cost remaining }} "
                 + " ".join(parts) + " }" + m.REPO_FRAGMENT)
        data = self.graphql(query, variables).get("data") or {}
        for i in range(len(full_names)):
            node = data.get(f"r{i}")
            if node:
                record = m.repo_from_graphql(node)
                self.records[record.forge_id] = record

    # ------------------------------------------------------------------------------------------------------------
    def check(self, response: httpx.Response) -> None:
        """Go on after a success; end the crawl with the outcome an error answer means."""
        status = response.status_code
        if status < 300:
            return
        message = ""
        try:
            message = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            message = response.text[:200]
        if status == 404:
            raise CrawlStopped(OutcomeStatus.NOT_FOUND, f"{self.target.host}/{self.login}: not found")
        if status == 401:
            raise CrawlStopped(OutcomeStatus.AUTH, f"{self.target.host}: token refused ({message})")
        if status in (403, 429) and "rate limit" in message.lower():
            raise RateLimitExhausted(message, self.http.reset_at)
        if status == 403:
            raise CrawlStopped(OutcomeStatus.AUTH, f"{self.target.host}: forbidden ({message})")
        attempts = f" after {self.http.max_retries + 1} attempts" if status >= 500 else ""
        raise HttpStatusError(status, f"HTTP {status} from {response.request.url.path}{attempts}: {message}"[:300])


def _account_to_memo(account: AccountRecord) -> dict[str, Any]:
    data = {field: getattr(account, field) for field in account.__slots__}
    data["created_at"] = account.created_at.isoformat() if account.created_at else None
    data["kind"] = account.kind.value
    return data


def _account_from_memo(memo: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(memo)
    data["kind"] = AccountKind(data["kind"])
    data["created_at"] = parse_time(data.get("created_at"))
    return data


