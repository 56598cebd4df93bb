"""The runner: units from the configuration, one transaction each, failures recorded, never a crash."""

import threading

from sqlalchemy import select

from crawler.config import load_config
from crawler.runner import plan, run_crawl
from index.db import transaction
from index.models import Account, AccountOutcome, CrawlRun, Forge, Repository
from index.records import AccountCrawl, OutcomeStatus
from tests.index.factories import crawl, repo

CONFIG = """\
github.com:
  forge: github
  owners:
    etalab:
      pso_id: a515667c-6dc0-4544-a1a8-2cf13d7da23b
    dinum:
    old-team:
      ignored_since: 2020-01-01
git.example.org:
  forge: gitlab
  pso_id: 3ed2f725-e077-4973-a531-498e13fc7861
code.example.org:
  forge: sourcehut
"""


class ScriptedAdapter:
    """A stand-in forge adapter answering from a script: tests the runner's bookkeeping, not a forge."""

    def __init__(self, answers):
        self.answers = answers
        self.seen = []

    def crawl(self, target, known):
        self.seen.append((target.host, target.login))
        answer = self.answers[(target.host, target.login)]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _config(tmp_path):
    path = tmp_path / "organisations.yml"
    path.write_text(CONFIG)
    return load_config(path)


def test_plan_skips_ignored_and_filters(tmp_path):
    config = _config(tmp_path)
    labels = [u.label for u in plan(config)]
    assert labels == ["github.com/etalab", "github.com/dinum", "git.example.org (whole forge)",
                      "code.example.org (whole forge)"]
    assert [u.label for u in plan(config, owner="ETALAB")] == ["github.com/etalab"]
    assert [u.label for u in plan(config, forge="git.example.org")] == ["git.example.org (whole forge)"]
    assert len(plan(config, limit=1)) == 1


def test_run_records_each_unit_and_survives_adapter_errors(tmp_path, engine):
    config = _config(tmp_path)
    github = ScriptedAdapter({
        ("github.com", "etalab"): crawl("etalab", [repo(1, "a"), repo(2, "b")]),
        ("github.com", "dinum"): RuntimeError("boom with token ghp_abcdefghijklmnopqrstuvwxyz0123"),
    })
    gitlab = ScriptedAdapter({
        ("git.example.org", None): AccountCrawl(forge_host="git.example.org", login="git.example.org",
                                                 status=OutcomeStatus.UNREACHABLE, error="connection refused"),
    })
    summary = run_crawl(engine, config, adapters={"github": lambda: github, "gitlab": lambda: gitlab})
    assert (summary.accounts_ok, summary.accounts_failed, summary.accounts_unsupported) == (1, 2, 1)
    assert summary.repos_new == 2 and summary.status == "partial"
    with transaction(engine) as session:
        outcomes = {
            (host, login): (status, error)
            for host, login, status, error in session.execute(
                select(Forge.host, Account.login, AccountOutcome.status, AccountOutcome.error)
                .join(Account, Account.id == AccountOutcome.account_id).join(Forge, Forge.id == Account.forge_id)
            )
        }
        assert outcomes[("github.com", "etalab")] == ("ok", None)
        status, error = outcomes[("github.com", "dinum")]
        assert status == "failed" and "boom" in error and "ghp_" not in error
        assert outcomes[("git.example.org", "git.example.org")] == ("unreachable", "connection refused by git.example.org")
        assert outcomes[("code.example.org", "code.example.org")][0] == "unsupported"
        assert session.scalar(select(CrawlRun.status)) == "partial"
        ignored = session.scalars(select(Account).where(Account.login == "old-team")).one()
        assert ignored.ignored_since is not None and ignored.last_attempt_at is None


def test_stop_event_interrupts_between_units(tmp_path, engine):
    """A stop asked while a unit runs: that unit finishes and is stored, no other one starts."""
    config = _config(tmp_path)
    stop = threading.Event()

    class StopsDuringTheFirstUnit(ScriptedAdapter):
        def crawl(self, target, known):
            stop.set()
            return super().crawl(target, known)

    github = StopsDuringTheFirstUnit({("github.com", "etalab"): crawl("etalab", [repo(1, "a")]),
                                      ("github.com", "dinum"): crawl("dinum", [repo(2, "b", owner="dinum")])})
    summary = run_crawl(engine, config, plan(config, forge="github.com"), adapters={"github": lambda: github},
                        stop=stop, workers=1)
    assert summary.status == "interrupted" and github.seen == [("github.com", "etalab")]
    with transaction(engine) as session:
        assert [r.full_name for r in session.scalars(select(Repository))] == ["etalab/a"]  # first unit kept


def test_concurrent_crawl_respects_per_host_limit_and_uses_one_adapter_per_thread(tmp_path, engine):
    config_path = tmp_path / "many.yml"
    logins = [f"org{i}" for i in range(12)]
    config_path.write_text("github.com:\n  forge: github\n  owners:\n" + "".join(f"    {x}:\n" for x in logins)
                           + "git.example.org:\n  forge: gitlab\n")
    config = load_config(config_path)
    lock = threading.Lock()
    live = {"github.com": 0, "git.example.org": 0}
    peak = dict(live)
    adapters_by_thread = {}
    closed = set()
    # GitHub's accounts leave in pairs: each waits for a second one to be in flight at once (no guessed delay)
    pairs = threading.Barrier(2, timeout=30)

    class Slow:
        def close(self):  # the runner closes every adapter it made (they keep connections) once the run ends
            assert self not in closed
            closed.add(id(self))

        def crawl(self, target, known):
            adapters_by_thread.setdefault((threading.get_ident(), target.kind), set()).add(id(self))
            with lock:
                live[target.host] += 1
                peak[target.host] = max(peak[target.host], live[target.host])
            if target.host == "github.com":
                pairs.wait()
            with lock:
                live[target.host] -= 1
            login = target.login or target.host
            return crawl(login, [repo(hash(login) % 10_000, "r", owner=login)], host=target.host)

    summary = run_crawl(engine, config, adapters={"github": Slow, "gitlab": Slow}, workers=4, per_host=2)
    assert summary.accounts_ok == 13 and summary.repos_new == 13
    assert peak == {"github.com": 2, "git.example.org": 1}
    assert all(len(ids) == 1 for ids in adapters_by_thread.values())  # one adapter per kind per thread
    assert closed == set().union(*adapters_by_thread.values())


def test_next_unit_starts_while_the_last_one_is_stored(tmp_path, engine, monkeypatch):
    """A freed slot is refilled before this thread stores what came back: the next account's requests overlap
    the storing (an x10 re-crawl spends half its time storing)."""
    import crawler.runner as runner

    config = _config(tmp_path)
    events = []
    second_crawl = threading.Event()

    class Recording(ScriptedAdapter):
        def crawl(self, target, known):
            events.append(("crawl", target.login))
            if len(events) == 2:
                second_crawl.set()
            return super().crawl(target, known)

    store = runner.record_account_crawl

    def slow_store(engine, run_id, crawl, *args, **kwargs):
        second_crawl.wait(timeout=10)  # storing waits for the next account's crawl; if it never starts, 10 s
        events.append(("stored", crawl.login))
        return store(engine, run_id, crawl, *args, **kwargs)

    monkeypatch.setattr(runner, "record_account_crawl", slow_store)
    github = Recording({("github.com", "etalab"): crawl("etalab", [repo(1, "a")]),
                        ("github.com", "dinum"): crawl("dinum", [repo(2, "b", owner="dinum")])})
    summary = run_crawl(engine, config, plan(config, forge="github.com"), adapters={"github": lambda: github},
                        workers=1)
    assert summary.accounts_ok == 2
    first = events[0][1]
    assert events.index(("crawl", "dinum" if first == "etalab" else "etalab")) < events.index(("stored", first))


def test_unreachable_host_is_not_hammered(tmp_path, engine):
    config_path = tmp_path / "down.yml"
    config_path.write_text("github.com:\n  forge: github\n  owners:\n" + "".join(f"    org{i}:\n" for i in range(10)))
    config = load_config(config_path)
    calls = []

    class Down:
        def crawl(self, target, known):
            calls.append(target.login)
            return AccountCrawl(forge_host=target.host, login=target.login, status=OutcomeStatus.UNREACHABLE,
                                error="ConnectionError: ... NameResolutionError(... Name or service not known)")

    summary = run_crawl(engine, config, adapters={"github": Down}, workers=1)
    assert summary.accounts_failed == 10 and len(calls) == 3
    with transaction(engine) as session:
        errors = [e for (e,) in session.execute(select(AccountOutcome.error).order_by(AccountOutcome.id))]
    assert errors[0] == "cannot resolve github.com: DNS lookup failed"
    assert errors[-1].startswith("not tried: github.com was unreachable for 3 accounts in a row")


def test_biggest_known_accounts_and_new_whole_forges_start_first(tmp_path, engine):
    config = _config(tmp_path)
    github = ScriptedAdapter({
        ("github.com", "etalab"): crawl("etalab", [repo(1, "a")]),
        ("github.com", "dinum"): crawl("dinum", [repo(i, f"r{i}", owner="dinum") for i in range(2, 6)]),
    })
    run_crawl(engine, config, plan(config, forge="github.com"), adapters={"github": lambda: github}, workers=1)
    order = []
    run_crawl(engine, config, adapters={"github": lambda: github}, workers=1,
              on_unit_done=lambda unit, _c: order.append(unit.label))
    assert order == ["git.example.org (whole forge)", "code.example.org (whole forge)", "github.com/dinum",
                     "github.com/etalab"]


def test_a_failure_to_store_stops_the_run_and_is_raised(tmp_path, engine, monkeypatch):
    """The writer thread's error reaches the caller; what was stored before it stays, the run is closed."""
    import pytest

    import crawler.runner as runner

    config = _config(tmp_path)
    github = ScriptedAdapter({("github.com", "etalab"): crawl("etalab", [repo(1, "a")]),
                              ("github.com", "dinum"): crawl("dinum", [repo(2, "b", owner="dinum")])})
    real, calls = runner.record_account_crawl, []

    def failing_second(engine_, run_id, crawl_):
        calls.append(crawl_.login)
        if len(calls) == 2:
            raise RuntimeError("database is locked")
        return real(engine_, run_id, crawl_)

    monkeypatch.setattr(runner, "record_account_crawl", failing_second)
    with pytest.raises(RuntimeError, match="database is locked"):
        run_crawl(engine, config, plan(config, forge="github.com"), adapters={"github": lambda: github}, workers=1)
    with transaction(engine) as session:
        assert [r.full_name for r in session.scalars(select(Repository))] == ["etalab/a"]
        assert session.scalars(select(CrawlRun)).one().finished_at is not None


def test_known_repositories_are_read_on_demand_and_confirmed_validators_not_rewritten(tmp_path, engine,
                                                                                        monkeypatch):
    """An adapter learns whether the index knows repositories of an account from the run's counts, and reads
    them only if it asks (a re-crawl answered 304 does not); validators a 304 confirmed are not written again."""
    import crawler.runner as runner
    from index.models import HttpValidatorRow
    from index.records import HttpValidator

    config = _config(tmp_path)
    reads = []
    load = runner.load_known_repos
    monkeypatch.setattr(runner, "load_known_repos", lambda connection, host, login: reads.append(login) or load(
        connection, host, login))
    page = HttpValidator("GET /orgs/etalab/repos?page=1", '"e1"', None, '{"ids": [1]}')
    kind = HttpValidator("github:kind:etalab", memo="org")
    answers = {("github.com", "etalab"): crawl("etalab", [repo(1, "a")], validators=(page, kind)),
               ("github.com", "dinum"): crawl("dinum", [repo(2, "b", owner="dinum")])}
    knew, found = {}, []

    class Asking(ScriptedAdapter):
        def crawl(self, target, known):
            knew[target.login] = bool(known.repos)
            if target.login == "dinum":
                found.append(known.repos.get(2))
            return super().crawl(target, known)

    def crawl_github():
        run_crawl(engine, config, plan(config, forge="github.com"), adapters={"github": lambda: Asking(answers)},
                  workers=1)
        with transaction(engine) as session:
            return {row.key: row.updated_at for row in session.scalars(select(HttpValidatorRow))}

    first = crawl_github()
    assert knew == {"etalab": False, "dinum": False} and sorted(reads) == ["dinum"]
    reads.clear()
    renewed = HttpValidator("GET /orgs/etalab/repos?page=2", '"e2"', None, '{"ids": []}')
    answers[("github.com", "etalab")] = crawl("etalab", [], unchanged_ids=(1,), validators=(page, kind, renewed))
    second = crawl_github()
    assert knew == {"etalab": True, "dinum": True} and reads == ["dinum"]
    assert found[0] is None and found[1].full_name == "dinum/b"
    assert second[page.key] == first[page.key] and second[kind.key] == first[kind.key]
    assert renewed.key in second
    with transaction(engine) as session:
        assert session.scalar(select(Repository.gone_at).where(Repository.forge_repo_id == 1)) is None
