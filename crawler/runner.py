"""The crawl runner: turns the configuration into units of work, runs each through its forge adapter, stores it.

One account is one unit: listed by its adapter, then stored by `index.upsert.record_account_crawl` in one
transaction. A unit that fails is recorded with its cause and the run goes on with the next. An interrupted run
(Ctrl-C, SIGTERM) stops taking new units, keeps what was committed, and is recorded as interrupted.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine

from crawler.config import Config, ForgeConfig, OwnerConfig
from crawler.config.ministries import with_stored_directory
from crawler.forges.base import (
    CredentialsError,
    ForgeAdapter,
    ForgeError,
    KnownRepo,
    KnownRepos,
    KnownState,
    Target,
)
from crawler.secrets import redact, token_from_env
from crawler.wording import plural
from index.db import transaction
from index.records import (
    AccountCrawl,
    AccountKind,
    AccountSpec,
    ForgeSpec,
    HttpValidator,
    OutcomeStatus,
    utcnow,
)
from index.state import load_known_repos, load_validators, repository_counts
from index.upsert import (
    StoredOutcome,
    finish_run,
    record_account_crawl,
    recover_stale_runs,
    start_run,
    sync_configuration,
)

log = logging.getLogger(__name__)
progress = logging.getLogger("crawler.progress")  # shown at INFO even without -v (crawler.logs)

# tokens a forge gets without a `token_env`: only for the public forges they belong to, never sent elsewhere
DEFAULT_TOKEN_ENV = {"github.com": "GITHUB_TOKEN", "gitlab.com": "GITLAB_TOKEN"}


def forge_specs(config: Config) -> list[ForgeSpec]:
    """The configuration as the index stores it."""
    specs = []
    for forge in config.forges:
        if forge.whole_forge:
            accounts: tuple[AccountSpec, ...] = (
                AccountSpec(login=forge.host, kind=AccountKind.INSTANCE, pso_id=forge.pso_id,
                            ministry=forge.ministry, organisation=forge.organisation, ignored_since=forge.ignored_since,
                            floss_policy=forge.floss_policy, ospo_url=forge.ospo_url),
            )
        else:
            accounts = tuple(
                AccountSpec(login=o.login, name=o.name, pso_id=o.pso_id, ministry=o.ministry, organisation=o.organisation,
                            ignored_since=o.ignored_since, floss_policy=o.floss_policy, ospo_url=o.ospo_url)
                for o in forge.owners
            )
        specs.append(ForgeSpec(host=forge.host, kind=forge.kind, api_url=forge.api_url, pso_id=forge.pso_id,
                               ministry=forge.ministry, ignored_since=forge.ignored_since,
                               whole_forge=forge.whole_forge, accounts=accounts))
    return specs


def _app_token_source(unit: Unit) -> Callable[[], str] | None:
    """A GitHub App's installation tokens, when the environment configures one for this forge."""
    env = unit.forge.token_env or DEFAULT_TOKEN_ENV.get(unit.forge.host)
    if unit.forge.kind != "github" or not env:
        return None
    from crawler.forges.github.app import token_source

    return token_source(env, unit.forge.api_url, unit.owner.login if unit.owner else None)


def token_for(forge: ForgeConfig) -> str | None:
    env = forge.token_env or DEFAULT_TOKEN_ENV.get(forge.host)
    if not env:
        return None
    tokens = token_from_env(env)
    if not tokens:
        return None
    # every adapter takes the whole pool (TokenPool) and moves to the next token when one's budget is spent
    return ",".join(tokens)


@dataclass(frozen=True)
class Unit:
    forge: ForgeConfig
    owner: OwnerConfig | None  # None: the whole forge

    @property
    def login(self) -> str:
        return self.owner.login if self.owner else self.forge.host

    @property
    def label(self) -> str:
        return f"{self.forge.host}/{self.owner.login}" if self.owner else f"{self.forge.host} (whole forge)"


def plan(config: Config, *, forge: str | None = None, owner: str | None = None, limit: int | None = None,
         today: dt.date | None = None) -> list[Unit]:
    """The units to crawl today: configured, not ignored, filtered by --forge / --owner, at most `limit`."""
    today = today or utcnow().date()
    units = []
    for forge_config, owner_config in config.accounts(active_on=today):
        if forge and forge_config.host.lower() != forge.lower():
            continue
        if owner and (owner_config is None or owner_config.login.lower() != owner.lower()):
            continue
        units.append(Unit(forge_config, owner_config))
    return units[:limit] if limit else units


def default_adapters() -> dict[str, Callable[[], ForgeAdapter]]:
    """Forge kind → adapter factory. Kinds missing here are recorded as unsupported, never a crash."""
    factories: dict[str, Callable[[], ForgeAdapter]] = {}
    from crawler.forges.github.adapter import GitHubAdapter
    from crawler.forges.gitlab.adapter import GitLabAdapter

    factories["github"] = GitHubAdapter
    factories["gitlab"] = GitLabAdapter
    try:
        from crawler.forges.gitea.adapter import GiteaAdapter
    except ImportError:
        pass
    else:
        for kind in ("gitea", "gogs", "forgejo"):
            factories[kind] = GiteaAdapter
    return factories


@dataclass
class RunSummary:
    run_id: int
    status: str
    accounts_ok: int = 0
    accounts_failed: int = 0
    accounts_unsupported: int = 0
    repos_new: int = 0
    repos_updated: int = 0
    repos_gone: int = 0
    requests: int = 0
    not_modified: int = 0
    stale_repositories: int = 0  # repositories some of whose details could not be refreshed (kept as stored)
    failures: list[str] = field(default_factory=list)

    def exit_code(self) -> int:
        """`codeindex crawl`'s status: 0 all ok, 3 partial (some accounts failed, or details are stale),
        1 nothing could be crawled (2, bad usage or configuration, is the CLI's)."""
        if self.status == "ok":
            return 0
        return 3 if self.accounts_ok else 1


def _unsupported(unit: Unit) -> AccountCrawl:
    now = utcnow()
    return AccountCrawl(
        forge_host=unit.forge.host, login=unit.login, status=OutcomeStatus.UNSUPPORTED,
        error=f"forge kind {unit.forge.kind!r} is not supported by this crawler", started_at=now, finished_at=now,
    )


def _known(engine: Engine, host: str, login: str, validators: dict[str, HttpValidator],
           count: int | None) -> KnownState:
    """What the index holds for the account; its repositories are read only if the adapter asks for them."""

    def load() -> dict[int, KnownRepo]:
        with engine.connect() as connection:
            rows = load_known_repos(connection, host, login)
        return {r.forge_id: KnownRepo(r.forge_id, r.full_name, r.pushed_at, r.updated_at, r.signals_at,
                                      r.license_spdx, r.language, r.watchers, r.parent_url, bool(r.fork),
                                      frozenset(filter(None, (r.stale_details or "").split(","))),
                                      r.detail_marks or {}) for r in rows}

    return KnownState(validators=validators, repos=KnownRepos(load, count))


DEFAULT_WORKERS = 8  # accounts crawled at once, all forges together
DEFAULT_PER_HOST = 2  # accounts crawled at once on one forge host: forges ask for little concurrency
# GitHub's secondary limits allow up to 100 concurrent requests, and a re-crawl is mostly free 304s
PER_HOST_BY_KIND = {"github": 6}
UNKNOWN_SIZE = 10**9  # a never-crawled whole forge may be the biggest unit: start it early


def _count_key(host: str, login: str) -> tuple[str, str]:
    return (host, login.strip("/").lower())  # as index.state keys an account


def _biggest_first(units: list[Unit], counts: dict[tuple[str, str], int]) -> list[Unit]:
    """Largest accounts first (by what the index last saw; whole forges never crawled first of all), plan order
    otherwise: the run then ends soon after its longest unit, instead of starting it last."""

    def size(unit: Unit) -> int:
        known = counts.get(_count_key(unit.forge.host, unit.login))
        if known is not None:
            return known
        return UNKNOWN_SIZE if unit.owner is None else 0

    return sorted(units, key=size, reverse=True)  # stable: ties keep the plan's order


class MixedIndexError(ValueError):
    """The index holds the demo's simulated data and the crawl is real, or the reverse: refused, nothing written."""


def refuse_mixed_index(engine: Engine, trigger: str) -> None:
    """Raise MixedIndexError when a `trigger` run would mix the demo's simulated data with real data."""
    from index.runs import DEMO_TRIGGER, index_purpose

    purpose = index_purpose(engine)
    where = engine.url.render_as_string(hide_password=True)
    if trigger == DEMO_TRIGGER and purpose in ("real", "mixed"):
        raise MixedIndexError(
            f"{where} holds real crawl runs: the demo never writes its simulated data there. Leave --db out "
            "(the demo keeps its own index, codeindex-demo.sqlite) or give a new file")
    if trigger != DEMO_TRIGGER and purpose in ("demo", "mixed"):
        raise MixedIndexError(
            f"{where} holds the demo's simulated data (codeindex demo): a real crawl is refused there, so that "
            "simulated repositories are never published as real. Use another --db, or delete that index")


def run_crawl(
    engine: Engine,
    config: Config,
    units: Iterable[Unit] | None = None,
    *,
    trigger: str = "cli",
    adapters: dict[str, Callable[[], ForgeAdapter]] | None = None,
    stop: threading.Event | None = None,
    on_unit_done: Callable[[Unit, AccountCrawl], None] | None = None,
    workers: int = DEFAULT_WORKERS,
    per_host: int | None = None,
) -> RunSummary:
    """Crawl `units` (default: the whole plan) and store each as it completes.

    Accounts are crawled by a pool of `workers` threads, biggest first, at most `per_host` at once on one host
    (default: PER_HOST_BY_KIND, else DEFAULT_PER_HOST), each thread with
    adapters of its own (the forge clients are not thread-safe). Results are stored by this thread only, one
    transaction per account, so the index sees one writer. On `stop` (or Ctrl-C) no new account is started; the
    ones in flight finish and are stored whole. The demo's runs and real ones never share an index
    (MixedIndexError, before anything is written).
    """
    units = list(plan(config) if units is None else units)
    factories = default_adapters() if adapters is None else adapters
    refuse_mixed_index(engine, trigger)
    recover_stale_runs(engine)
    with transaction(engine) as session:
        config = with_stored_directory(session, config)
        sync_configuration(session, forge_specs(config))
        validators_by_host = {host: load_validators(session, host) for host in {u.forge.host for u in units}}
        counts = repository_counts(session)
    run_id = start_run(engine, trigger)
    summary = RunSummary(run_id=run_id, status="running")
    local = threading.local()
    pending = _biggest_first(units, counts)

    def limit(unit: Unit) -> int:
        return per_host or PER_HOST_BY_KIND.get(unit.forge.kind, DEFAULT_PER_HOST)

    running: dict[Future[AccountCrawl], Unit] = {}
    active: Counter[str] = Counter()
    unreachable_streak: Counter[str] = Counter()
    down: dict[str, str] = {}  # host -> why its remaining accounts are not tried
    interrupted = False

    every_thread_adapters: list[dict[str, ForgeAdapter]] = []  # closed when the run ends: they keep connections

    def crawl_in_thread(unit: Unit) -> AccountCrawl:
        if not hasattr(local, "adapters"):
            local.adapters = {}
            every_thread_adapters.append(local.adapters)  # list.append is atomic: no lock needed
        return _crawl_unit(engine, unit, factories, local.adapters, validators_by_host[unit.forge.host],
                           counts.get(_count_key(unit.forge.host, unit.login), 0))

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="crawl")

    def start_units(*, settle_down_hosts: bool = True) -> None:
        """Start what the limits allow, in plan order; record the units of hosts found down as not tried (unless
        told not to yet: outcomes are stored in the order the units ended)."""
        nonlocal interrupted
        if stop is not None and stop.is_set() and pending:
            interrupted = True
            pending.clear()
        for unit in list(pending):
            if unit.forge.host in down:  # no request to a host that keeps failing: an honest outcome
                if not settle_down_hosts:
                    continue
                pending.remove(unit)
                crawl = _not_tried(unit, down[unit.forge.host])
                _tally(summary, unit, crawl, record_account_crawl(engine, run_id, crawl))
                _log_progress(unit, crawl, summary, len(units))
                if on_unit_done:
                    on_unit_done(unit, crawl)
                continue
            if len(running) >= workers:
                break
            if active[unit.forge.host] < limit(unit):
                pending.remove(unit)
                active[unit.forge.host] += 1
                running[pool.submit(crawl_in_thread, unit)] = unit

    finished: deque[tuple[Unit, AccountCrawl]] = deque()  # crawled, to be stored in the order they ended
    try:
        while pending or running or finished:
            start_units(settle_down_hosts=not finished)
            try:  # with outcomes left to store, only collect what else has ended (no waiting)
                done, _ = wait(running, timeout=0 if finished else 0.5, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                if stop is not None:
                    stop.set()
                interrupted = True
                pending.clear()
                continue
            for future in done:
                unit = running.pop(future)
                active[unit.forge.host] -= 1
                crawl = future.result()
                host = unit.forge.host
                if crawl.status == OutcomeStatus.UNREACHABLE:
                    crawl = replace(crawl, error=_plain_network_error(host, crawl.error))
                    unreachable_streak[host] += 1
                    if unreachable_streak[host] >= UNREACHABLE_STREAK and host not in down:
                        down[host] = (f"not tried: {host} was unreachable for {UNREACHABLE_STREAK} accounts in a row "
                                      f"in this run (last: {crawl.error})")
                else:
                    unreachable_streak[host] = 0
                finished.append((unit, crawl))
            start_units(settle_down_hosts=False)  # the next accounts' requests overlap this thread's storing
            if finished:  # one at a time: slots freed meanwhile are refilled before the next one is stored
                unit, crawl = finished.popleft()
                stored = record_account_crawl(engine, run_id, crawl)
                _tally(summary, unit, crawl, stored)
                _log_progress(unit, crawl, summary, len(units))
                if on_unit_done:
                    on_unit_done(unit, crawl)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _close_adapters(a for adapters in every_thread_adapters for a in adapters.values())
        status = "interrupted" if interrupted else None
        if status is None and summary.stale_repositories and summary.accounts_failed == 0:
            status = "partial"  # every account listed, but some details are older than this run
        run = finish_run(engine, run_id, status)
        summary.status = run.status
    return summary


def _close_adapters(adapters: Iterable[ForgeAdapter]) -> None:
    """Adapters may keep connections open between accounts (`close()` is optional in the protocol)."""
    for adapter in adapters:
        close = getattr(adapter, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # closing sockets must not turn a finished run into a failed one
                log.debug("closing %r failed", adapter, exc_info=True)


def _crawl_unit(
    engine: Engine, unit: Unit, factories: dict[str, Callable[[], ForgeAdapter]],
    adapters: dict[str, ForgeAdapter], validators: dict[str, HttpValidator], known_count: int | None = None,
) -> AccountCrawl:
    kind = unit.forge.kind
    if kind not in factories:
        return _unsupported(unit)
    adapter = adapters.get(kind)
    if adapter is None:
        adapter = adapters[kind] = factories[kind]()
    host = unit.forge.host
    started = utcnow()
    try:
        target = Target(host=host, kind=kind, api_url=unit.forge.api_url,
                        login=unit.owner.login if unit.owner else None, token=token_for(unit.forge),
                        token_source=_app_token_source(unit))
        crawl = adapter.crawl(target, _known(engine, host, unit.login, validators, known_count))
    except ForgeError as exc:  # credentials that cannot be had (a GitHub App's token refused, its key unreadable)
        status = exc.status if isinstance(exc, CredentialsError) else OutcomeStatus.FAILED
        return AccountCrawl(forge_host=host, login=unit.login, status=status, error=redact(str(exc)),
                            started_at=started, finished_at=utcnow())
    except Exception as exc:  # an adapter bug must not end the run: record it against the account
        log.exception("adapter crashed on %s", unit.label)
        return AccountCrawl(forge_host=host, login=unit.login, status=OutcomeStatus.FAILED,
                            error=redact(f"internal error: {type(exc).__name__}: {exc}"),
                            started_at=started, finished_at=utcnow())
    if crawl.login != unit.login:  # whole-forge crawls report under the configured login (the host)
        crawl = replace(crawl, login=unit.login)
    changed = tuple(v for v in crawl.validators if validators.get(v.key) != v)
    if len(changed) != len(crawl.validators):  # what a 304 confirmed is stored already: not written again
        crawl = replace(crawl, validators=changed)
    return crawl


UNREACHABLE_STREAK = 3  # accounts in a row found unreachable on one host before the rest are not tried


def _plain_network_error(host: str, error: str | None) -> str | None:
    """Client libraries describe network failures at length; say what an operator needs."""
    if not error:
        return error
    lowered = error.lower()
    if "name or service not known" in lowered or "nameresolution" in lowered or "temporary failure in name" in lowered:
        return f"cannot resolve {host}: DNS lookup failed"
    if "connection refused" in lowered:
        return f"connection refused by {host}"
    if "timed out" in lowered or "timeout" in lowered:
        return f"{host} did not answer in time"
    return error


def _not_tried(unit: Unit, why: str) -> AccountCrawl:
    now = utcnow()
    return AccountCrawl(forge_host=unit.forge.host, login=unit.login, status=OutcomeStatus.UNREACHABLE,
                        error=why, started_at=now, finished_at=now)


def _log_progress(unit: Unit, crawl: AccountCrawl, summary: RunSummary, total: int) -> None:
    """`12/220 github.com/etalab: ok, 286 repositories, 4 requests, 1.2 s` at INFO on the progress logger."""
    done = summary.accounts_ok + summary.accounts_failed + summary.accounts_unsupported
    seconds = (max(0.0, (crawl.finished_at - crawl.started_at).total_seconds())
               if crawl.finished_at and crawl.started_at else 0.0)
    repositories = len(crawl.repositories) + len(crawl.unchanged_ids)
    status = crawl.status.value + (f" ({crawl.error})" if crawl.error and crawl.status != OutcomeStatus.OK else "")
    progress.info(
        "%d/%d %s: %s, %d repositor%s, %d request%s, %.1f s", done, total, unit.label, status, repositories,
        "y" if repositories == 1 else "ies", crawl.cost.requests, "" if crawl.cost.requests == 1 else "s", seconds,
        extra={"event": "account_done", "forge": unit.forge.host, "account": unit.login,
               "status": crawl.status.value, "requests": crawl.cost.requests, "run_id": summary.run_id,
               "fields": {"done": done, "total": total, "repositories": repositories, "seconds": round(seconds, 3)}},
    )


def _tally(summary: RunSummary, unit: Unit, crawl: AccountCrawl, stored: StoredOutcome) -> None:
    if crawl.status == OutcomeStatus.OK:
        summary.accounts_ok += 1
    elif crawl.status == OutcomeStatus.UNSUPPORTED:
        summary.accounts_unsupported += 1
    else:
        summary.accounts_failed += 1
        summary.failures.append(f"{unit.label}: {crawl.status.value}: {crawl.error or ''}".rstrip(": "))
    summary.repos_new += stored.new
    summary.repos_updated += stored.updated
    summary.repos_gone += stored.gone
    summary.requests += crawl.cost.requests
    summary.not_modified += crawl.cost.not_modified
    stale = sum(1 for r in crawl.repositories if r.stale)
    summary.stale_repositories += stale
    if stale and crawl.status == OutcomeStatus.OK:
        summary.failures.append(f"{unit.label}: ok, but {plural(stale, 'repository', 'repositories')} "
                                f"keep{'s' if stale == 1 else ''} older details (a detail request "
                                "kept failing): the next run fetches them first")
