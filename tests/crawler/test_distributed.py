"""Distributed crawls on PostgreSQL: three `codeindex worker` processes, one enqueued run, one worker SIGKILLed in
the middle of an account. The forge's own log proves that no account was crawled by two workers at once; the
index proves every account was stored once, whole; the export is the one a single process gives."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from crawler.config import load_config
from crawler.runner import run_crawl
from index.db import open_index, transaction
from index.models import AccountOutcome, CrawlRun, QueuedAccount
from index.runs import recent_runs
from simforge.exchange import SimRequest, SimResponse
from simforge.seed import fixture_world
from simforge.server import SimForge
from tests.crawler.test_faults import normalised_export
from tests.support import wait_until, write_config

TOKEN = "distributed-test-token-0123456789"
REST_LIMIT = 2000  # the token's REST budget on the simulated GitHub, for every worker together

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@dataclass
class Logged:
    worker: str
    account: str | None
    start: float
    end: float


class ForgeLog:
    """The simulated forge's log of who asked what when: the worker (from its User-Agent) and the account (the
    configured login the path or body names). Requests whose account satisfies `hold` wait for `release`."""

    def __init__(self, forge: SimForge, logins: list[str], hold: str | None = None):
        self.entries: list[Logged] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self.held_by: str | None = None
        self._hold = hold
        self._lock = threading.Lock()
        # longest first, so that "etalab-2" is not taken for "etalab"
        pattern = "|".join(re.escape(login) for login in sorted(logins, key=len, reverse=True))
        self._logins = re.compile(rf"(?<![\w.-])({pattern})(?![\w-])")
        for kind, handle in list(forge.handlers.items()):
            forge.handlers[kind] = self._wrap(handle)

    def _wrap(self, handle):  # type: ignore[no-untyped-def]
        def logged(req: SimRequest) -> SimResponse:
            start = time.monotonic()
            found = self._logins.search(req.path + " " + req.body.decode(errors="replace"))
            account = found.group(1) if found else None
            worker = req.headers.get("user-agent", "")
            if account is not None and account == self._hold and not self.release.is_set():
                self.held_by = worker
                self.held.set()
                self.release.wait(60)
            response = handle(req)
            with self._lock:
                self.entries.append(Logged(worker, account, start, time.monotonic()))
            return response

        return logged

    def spans(self) -> dict[str, dict[str, tuple[float, float]]]:
        """account -> worker -> (first request, last answer)."""
        result: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
        for e in self.entries:
            if e.account is None:
                continue
            first, last = result[e.account].get(e.worker, (e.start, e.end))
            result[e.account][e.worker] = (min(first, e.start), max(last, e.end))
        return result


def token_free(outputs: dict[int, str]) -> bool:
    return not any(TOKEN in out for out in outputs.values())


def _pid(user_agent: str) -> int:
    found = re.search(r"worker [^:]+:(\d+)\)", user_agent)
    assert found, f"the worker is not named in its User-Agent: {user_agent!r}"
    return int(found.group(1))


def _codeindex(db_url: str, config, *args: str, output=None):  # type: ignore[no-untyped-def]
    """`codeindex -v ARGS` in a process of its own; its output to the file `output`, else to a pipe."""
    env = {**os.environ, "DIST_TEST_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "-v", "--db", db_url, "--config", str(config), *args],
        stdout=open(output, "wb") if output else subprocess.PIPE, stderr=subprocess.STDOUT, env=env)  # noqa: SIM115
    process.output_file = output  # type: ignore[attr-defined]
    return process


def _outputs(processes) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return {p.pid: p.output_file.read_text(errors="replace") for p in processes}


def test_three_workers_one_killed_mid_account_crawl_each_account_once_to_the_single_process_export(
        postgres_index_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DIST_TEST_TOKEN", TOKEN)
    world = fixture_world()
    with SimForge(world, latency_ms=30, options={"github_rest_limit": REST_LIMIT}) as forge:
        gh = sorted(a.path for a in world.host("github.com").accounts.values())
        gl = ["ministere", "partenaire", "jean.dupont"]
        config_path = write_config(tmp_path, [
            "github.com:", "  forge: github", f"  api_url: {forge.api_url('github.com')}",
            "  token_env: DIST_TEST_TOKEN", "  owners:", *[f"    {o}:" for o in gh],
            "gitlab.example.org:", "  forge: gitlab", f"  api_url: {forge.api_url('gitlab.example.org')}",
            "  token_env: DIST_TEST_TOKEN", "  owners:", *[f"    {o}:" for o in gl]])
        reference = open_index(f"sqlite:///{tmp_path / 'reference.sqlite'}")
        assert run_crawl(reference, load_config(config_path)).status == "ok"
        forge.states.clear()  # the budget is counted from here: the distributed run only

        victim = "etalab"  # held at its first request: whichever worker takes it is killed there
        log = ForgeLog(forge, gh + gl, hold=victim)
        export_dir = tmp_path / "export"
        workers = [_codeindex(postgres_index_url, config_path, "worker", "--concurrency", "1",
                              "--stalled-after", "3", output=tmp_path / f"worker-{n}.log") for n in range(3)]
        try:
            enqueue = _codeindex(postgres_index_url, config_path, "crawl", "--enqueue", "--json",
                                 "--export-to", str(export_dir))
            output, _ = enqueue.communicate(timeout=60)
            assert enqueue.returncode == 0, output.decode()
            queued = json.loads(output.decode().strip().splitlines()[-1])
            assert queued["jobs"] == len(gh) + len(gl)
            run_id = queued["run_id"]

            assert log.held.wait(60), f"no worker took the held account: {_outputs(workers)}"
            killed = _pid(log.held_by or "")
            victim_process = next(w for w in workers if w.pid == killed)
            victim_process.send_signal(signal.SIGKILL)
            victim_process.wait(timeout=10)
            log.release.set()

            engine = open_index(postgres_index_url)

            def run_status() -> str:
                with transaction(engine) as session:
                    return session.get_one(CrawlRun, run_id).status

            assert wait_until(lambda: run_status() != "running", timeout=120), (
                f"the run did not finish: {_outputs(workers)}")
            assert wait_until(lambda: (export_dir / "repositories.json").exists()
                              or (export_dir / "repositories.json.gz").exists(), timeout=60), "no export"
        finally:
            log.release.set()
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            outputs = _outputs(workers)
        assert victim_process.returncode == -signal.SIGKILL
        budget_used = {key: entry["used"] for key, entry in forge.states["github.com"].budgets.items()}
        refused = forge.states["github.com"].counters["status_403"]

    assert run_status() == "ok"
    assert f"ok (queue: {len(gh) + len(gl)}/{len(gh) + len(gl)} done)" in recent_runs(engine)
    with transaction(engine) as session:
        outcomes = session.execute(select(AccountOutcome.account_id, func.count())
                                   .where(AccountOutcome.run_id == run_id).group_by(AccountOutcome.account_id)).all()
        queued_rows = {row.login: row for row in session.scalars(select(QueuedAccount)
                                                                  .where(QueuedAccount.run_id == run_id))}
        run = session.get_one(CrawlRun, run_id)
        assert run.accounts_ok == len(gh) + len(gl) and run.accounts_failed == 0
    # stored once each, whole: one outcome per account; the killed one taken twice, by two workers
    assert len(outcomes) == len(gh) + len(gl) and all(count == 1 for _, count in outcomes)
    assert all(row.status == "done" and row.outcome == "ok" for row in queued_rows.values())
    assert queued_rows[victim].attempts == 2
    assert all(row.attempts == 1 for login, row in queued_rows.items() if login != victim)
    assert queued_rows[victim].worker != f"{queued_rows[victim].worker.split(':')[0]}:{killed}"

    # the forge's log: an account's requests from two workers never overlap in time
    spans = log.spans()
    assert set(spans) == set(gh) | set(gl), "every account reached the forge"
    for account, by_worker in spans.items():
        ordered = sorted(by_worker.values())
        for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
            assert end <= start, f"{account} crawled by two workers at once: {by_worker}"
    assert len(spans[victim]) == 2, "the killed worker's account was crawled again by another"

    # under the token's budget, all workers together; never refused
    assert refused == 0
    assert all(used <= REST_LIMIT for used in budget_used.values()), budget_used

    # exported once, after the last account, by whichever worker stored it
    assert sum(len(re.findall(rf"run {run_id} exported to", out)) for out in outputs.values()) == 1, outputs
    assert sum(len(re.findall(rf"run {run_id} finished: ok", out)) for out in outputs.values()) == 1, outputs
    assert token_free(outputs)
    distributed, single = normalised_export(engine, tmp_path / "d"), normalised_export(reference, tmp_path / "s")
    assert distributed == single
