"""`codeindex crawl --dry-run`: what a crawl will cost, per forge, before a single request is sent.

The cost models mirror what the adapters really do (crawler/forges/github/crawl.py, github/anonymous.py, gitlab/adapter.py), fed with
what the index remembers: repositories per account from the last crawl, their signals' age, and the HTTP
validators stored (a listing page with a validator is expected to answer 304). What the index cannot know is
assumed, and said:
- an account never crawled holds ASSUMED_REPOS repositories (the mean of the 2021 code.gouv.fr export: 9,157
  repositories over 1,038 accounts; the median is 2);
- a listing page with a stored validator is unchanged (304); a repository whose signals are under 24 h old is not
  re-detailed; GitLab projects whose activity changed cannot be foreseen and are counted as unchanged.
Time: the hourly budgets of forge-api-notes §1.4/§2.6 (GitHub 5,000 REST requests and 5,000 GraphQL points per
token and hour, 60 requests an hour anonymously; gitlab.com 2,000 requests a minute with a token, 500 without;
self-managed GitLab: no limit by default) or, when the budget is not what limits, SECONDS_PER_REQUEST each.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from crawler.runner import Unit, token_for
from crawler.wording import plural
from index.db import transaction
from index.models import Account, Forge, HttpValidatorRow, Repository

ASSUMED_REPOS = 9
PAGE = 100
GITHUB_GRAPHQL_PAGE_POINTS = 5  # the owner query, 100 repositories with their signals (simulated GitHub: measured)
GITHUB_DETAIL_POINTS_PER_REPO = 0.05  # aliased detail query: ~5 connections per repository, /100, at least 1
# GitLab lists by GraphQL (a page of 100 carries languages, files, releases); per new or changed project REST asks
# the licence and, for projects active in the last year, the commits: 56% of the 2021 data's GitLab projects
GITLAB_DETAIL_REQUESTS = 1 + 0.56
SECONDS_PER_REQUEST = 0.25  # a forge's typical answer time, when the budget is not what limits
SIGNALS_TTL = dt.timedelta(hours=24)
HOURLY = {"github": {"core": 5000, "graphql": 5000}, "github-anonymous": {"core": 60},
          "gitlab.com": {"core": 120_000}, "gitlab.com-anonymous": {"core": 30_000}}


@dataclass
class AccountFacts:
    """What the index knows of one account (all zero / None when never crawled)."""

    known: bool = False
    kind: str | None = None
    repos: int = 0
    empty: int = 0
    stale: int = 0  # repositories whose signals are missing or older than a day
    publiccode: int = 0


@dataclass
class ForgeEstimate:
    host: str
    kind: str
    tokens: int
    accounts: int = 0
    assumed: int = 0  # accounts never crawled: ASSUMED_REPOS each
    unknown: int = 0  # whole forges never crawled: their size cannot be guessed (counted at one listing page)
    requests: int = 0
    not_modified: int = 0  # of which expected 304
    rest_points: int = 0
    graphql_points: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def budget(self) -> dict[str, int] | None:
        """Points per hour by resource, all tokens together; None when no limit is known."""
        if self.kind == "github":
            if not self.tokens:
                return dict(HOURLY["github-anonymous"])
            return {k: v * self.tokens for k, v in HOURLY["github"].items()}
        if self.host == "gitlab.com":
            return dict(HOURLY["gitlab.com" if self.tokens else "gitlab.com-anonymous"])
        return None

    @property
    def hours(self) -> float:
        """How long the current budget makes the crawl take (at least the time to send the requests)."""
        sending = self.requests * SECONDS_PER_REQUEST / 3600
        budget = self.budget or {}
        spent = {"core": self.rest_points, "graphql": self.graphql_points}
        limited = [spent[r] / per_hour for r, per_hour in budget.items() if per_hour]
        # the first hour's budget is there at once: only what exceeds it waits for resets
        waiting = max((math.ceil(x) - 1 if x > 1 else 0 for x in limited), default=0)
        return max(sending, float(waiting))

    def line(self) -> str:
        budget = self.budget
        per_hour = ("no known limit" if budget is None else
                    " + ".join(f"{v:,} {'GraphQL points' if k == 'graphql' else 'requests'}" for k, v in budget.items())
                    + "/hour")
        who = plural(self.tokens, "token") if self.tokens else "no token: anonymous"
        assumed = f", {self.assumed} never crawled (assumed {ASSUMED_REPOS} repositories each)" if self.assumed else ""
        if self.unknown:
            assumed += ", never crawled, crawled whole: size unknown"
        at_least = "at least " if self.unknown else ""
        return (f"{self.host} ({self.kind}, {plural(self.accounts, 'account')}{assumed}): {at_least}"
                f"{plural(self.requests, 'request')} ({self.not_modified:,} expected 304), "
                f"{self.rest_points:,} REST points, {self.graphql_points:,} GraphQL points; budget {per_hour} "
                f"({who}) → {'duration unknown (size unknown)' if self.unknown else _duration(self.hours)}")


def _duration(hours: float) -> str:
    if hours < 1 / 60:
        return "under a minute"
    if hours < 1:
        return f"about {plural(round(hours * 60), 'minute')}"
    return f"about {hours:.1f} hours"


# --------------------------------------------------------------------------------------------------------------
def load_facts(engine: Engine, now: dt.datetime) -> tuple[dict[tuple[str, str], AccountFacts], dict[str, set[str]]]:
    """(host, login_key) → AccountFacts, and host → stored validator keys. One pass over the index."""
    facts: dict[tuple[str, str], AccountFacts] = {}
    fresh_after = now - SIGNALS_TTL
    with transaction(engine) as session:
        rows = session.execute(
            select(Forge.host, Account.login_key, Account.kind, Account.last_success_at,
                   func.count(Repository.id),
                   func.count(Repository.id).filter(Repository.empty.is_(True)),
                   func.count(Repository.id).filter((Repository.signals_at.is_(None))
                                                    | (Repository.signals_at < fresh_after)),
                   func.count(Repository.id).filter(Repository.has_publiccode.is_(True)))
            .join(Account, Account.forge_id == Forge.id)
            .outerjoin(Repository, (Repository.account_id == Account.id) & Repository.gone_at.is_(None))
            .group_by(Forge.host, Account.login_key, Account.kind, Account.last_success_at)
        ).all()
        for host, key, kind, success, repos, empty, stale, publiccode in rows:
            facts[(host, key)] = AccountFacts(success is not None or repos > 0, kind, repos, empty, stale, publiccode)
        validators: dict[str, set[str]] = defaultdict(set)
        for host, key in session.execute(select(Forge.host, HttpValidatorRow.key)
                                         .join(HttpValidatorRow, HttpValidatorRow.forge_id == Forge.id)):
            validators[host].add(key)
    return facts, validators


def estimate_crawl(engine: Engine, units: Iterable[Unit], *, cold: bool = False,
                   now: dt.datetime | None = None) -> list[ForgeEstimate]:
    """Per forge, the cost of crawling `units`. `cold`: as if nothing were cached (no validators, no fresh
    signals), sizes still taken from the index: what a crawl of a new index of the same accounts costs."""
    now = now or dt.datetime.now(dt.UTC)
    facts, validators = load_facts(engine, now)
    estimates: dict[str, ForgeEstimate] = {}
    for unit in units:
        host = unit.forge.host
        token = token_for(unit.forge)
        estimate = estimates.get(host)
        if estimate is None:
            tokens = len([t for t in (token or "").split(",") if t.strip()])
            estimate = estimates[host] = ForgeEstimate(host, unit.forge.kind, tokens)
        login = unit.login.strip("/").lower()
        fact = facts.get((host, login)) or AccountFacts()
        if not fact.known and unit.owner is None:  # a whole forge: 1 or 10,000 repositories, nobody can say
            fact = AccountFacts(False, "instance", 0, 0, 0, 0)
            estimate.unknown += 1
        elif not fact.known:
            fact = AccountFacts(False, None, ASSUMED_REPOS, 0, ASSUMED_REPOS, 0)
            estimate.assumed += 1
        if cold:
            fact = AccountFacts(False, fact.kind, fact.repos, fact.empty, fact.repos, fact.publiccode)
        estimate.accounts += 1
        seen = set() if cold else validators.get(host, set())
        if unit.forge.kind == "github":
            _github(estimate, unit, fact, seen)
        elif unit.forge.kind == "gitlab":
            _gitlab(estimate, unit, fact)
        elif "unsupported" not in " ".join(estimate.notes):
            estimate.notes.append(f"forge kind {unit.forge.kind!r}: no cost model, counted as one request per "
                                  "account")
            estimate.requests += 1
    for estimate in estimates.values():
        if estimate.kind == "github" and not estimate.tokens:
            estimate.notes.append(f"no token for {estimate.host}: anonymous REST only, 60 requests/hour; private "
                                  "and internal repositories unseen, commit and release signals left unknown")
    return list(estimates.values())


def _pages(repos: int) -> int:
    return max(1, math.ceil(repos / PAGE))


def _github(e: ForgeEstimate, unit: Unit, fact: AccountFacts, validators: set[str]) -> None:
    login = unit.login.lower()
    pages = _pages(fact.repos)
    warm = fact.known and f"github:kind:{login}" in validators
    if e.tokens and not warm:  # cold: one GraphQL query per 100 repositories, signals included
        e.requests += pages
        e.graphql_points += pages * GITHUB_GRAPHQL_PAGE_POINTS
        return
    kind = fact.kind
    base = (f"GET /orgs/{unit.login}/repos" if kind == "organization" else f"GET /users/{unit.login}/repos")
    if e.tokens:
        keys = [f"GET /{'orgs' if kind == 'organization' else 'users'}/{unit.login}"]
        keys += [f"{base}?page={n}" for n in range(1, pages + 1)]
        cached = sum(1 for key in keys if key in validators)
        e.requests += len(keys)
        e.not_modified += cached
        e.rest_points += len(keys) - cached  # authenticated 304s are free
        batches = math.ceil(fact.stale / PAGE)
        e.requests += batches
        e.graphql_points += sum(max(1, round(min(PAGE, fact.stale - b * PAGE) * GITHUB_DETAIL_POINTS_PER_REPO))
                                for b in range(batches))
        return
    # anonymous: REST only, every answer costs a request, 304s included
    anon_keys = [f"GET /{'orgs' if kind == 'organization' else 'users'}/{unit.login}/repos?page={n}"
                 for n in range(1, pages + 1)]
    cached = sum(1 for key in anon_keys if key in validators)
    stale = 0 if cached == pages else max(0, fact.stale - fact.empty)
    cost = 1 + pages + stale + (fact.publiccode if stale else 0)
    e.requests += cost
    e.not_modified += cached
    e.rest_points += cost


def _gitlab(e: ForgeEstimate, unit: Unit, fact: AccountFacts) -> None:
    if unit.owner is None:  # the whole instance: keyset listing only
        lookup = 0
    else:
        lookup = 2 if fact.kind == "user" else 1  # a user: /groups/:id answers 404 first, then /users?username=
    details = max(0, fact.stale - fact.empty)
    cost = lookup + _pages(fact.repos) + round(details * GITLAB_DETAIL_REQUESTS) + min(fact.publiccode, details)
    e.requests += cost
    e.rest_points += cost


def format_estimate(estimates: list[ForgeEstimate]) -> str:
    lines = ["dry run: nothing was sent. Estimated cost of this crawl:"]
    for estimate in estimates:
        lines.append("  " + estimate.line())
        lines += [f"    note: {note}" for note in estimate.notes]
    total = sum(e.requests for e in estimates)
    longest = max((e.hours for e in estimates), default=0.0)
    unknown = sum(e.unknown for e in estimates)
    at_least = "at least " if unknown else ""
    lines.append(f"total: {at_least}{plural(total, 'request')}; forges are crawled side by side: "
                 f"{_duration(longest)}" + (", more for the forges of unknown size" if unknown else ""))
    lines.append(f"assumptions: never-crawled accounts hold {ASSUMED_REPOS} repositories; pages with a stored "
                 "validator answer 304; see docs/operations.md")
    if unknown:
        lines.append(f"size unknown: {plural(unknown, 'whole forge')} never crawled, counted at one listing page "
                     "each (a forge crawled whole may hold thousands of repositories)")
    return "\n".join(lines)
