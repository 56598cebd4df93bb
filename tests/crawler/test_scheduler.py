"""The scheduler on a real APScheduler with its job store in the index: runs recorded, never overlapping, and a
restart keeps the stored job and its next run time."""

import re
import time

import pytest
from sqlalchemy import select

from crawler.config import load_config
from crawler.scheduler import build_scheduler, job_specs, start
from index.db import open_index, transaction
from index.models import CrawlRun
from tests.support import Gate, wait_until

CONFIG = """\
gitlab.example.org:
  forge: gitlab
  api_url: {api}
  owners:
    ministere:
schedule:
  interval_hours: 0.0003
  forges:
    github.com: {{cron: "0 */4 * * *"}}
"""


def _runs(engine):
    with transaction(engine) as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def test_job_specs_from_configuration(tmp_path, simforge):
    path = tmp_path / "organisations.yml"
    path.write_text("github.com:\n  forge: github\n  owners:\n    etalab:\n"
                    + CONFIG.format(api=simforge.api_url("gitlab.example.org")))
    specs = {s.id: s for s in job_specs(load_config(path))}
    assert set(specs) == {"crawl-default", "crawl-github.com", "annuaire-update"}
    assert specs["annuaire-update"].interval.days == 7 and specs["annuaire-update"].source is None
    assert specs["crawl-default"].exclude == ("github.com",)
    assert "cron" in str(specs["crawl-github.com"].trigger)


@pytest.mark.slow  # four scheduled runs, a second apart
def test_two_intervals_restart_no_overlap(tmp_path, simforge):
    path = tmp_path / "organisations.yml"
    path.write_text(CONFIG.format(api=simforge.api_url("gitlab.example.org")).replace(
        "  forges:\n    github.com: {cron: \"0 */4 * * *\"}\n", ""))
    db_url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    engine = open_index(db_url)
    config = load_config(path)

    scheduler, specs = build_scheduler(db_url, config, tmp_path / "export")
    report = start(scheduler, specs, db_url, path, tmp_path / "export")
    assert [line.split(", next run ")[0] for line in report] == [
        "crawl-default: added (interval[0:00:01])", "annuaire-update: added (interval[7 days, 0:00:00])"]
    assert all(re.search(r", next run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", line) for line in report), report
    assert wait_until(lambda: len([r for r in _runs(engine) if r.status != "running"]) >= 2)
    stored_next = scheduler.get_job("crawl-default").next_run_time
    scheduler.shutdown(wait=True)
    first_session = len(_runs(engine))

    # restart: the stored job is kept as it was (same trigger), with its next run time
    scheduler, specs = build_scheduler(db_url, config, tmp_path / "export")
    report = start(scheduler, specs, db_url, path, tmp_path / "export")
    assert report[0] == f"crawl-default: kept as stored, next run {stored_next:%Y-%m-%d %H:%M:%S %Z}"
    assert wait_until(lambda: len([r for r in _runs(engine) if r.status != "running"]) >= first_session + 2)
    scheduler.shutdown(wait=True)

    runs = _runs(engine)
    assert all(r.trigger == "schedule" and r.status == "ok" for r in runs), [(r.id, r.status) for r in runs]
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.finished_at <= later.started_at, "two crawls overlapped"
    assert (tmp_path / "export" / "repositories.json").exists()  # export after each crawl


@pytest.mark.slow  # a real `codeindex schedule` process
def test_sigterm_stops_cleanly_and_records_interrupted_run(tmp_path):
    """`codeindex schedule` in a real process: SIGTERM mid-crawl → exit 0 quickly, run recorded as interrupted,
    the account in progress stored whole."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from simforge.seed import fixture_world
    from simforge.server import SimForge

    with SimForge(fixture_world()) as forge:
        # the forge holds its answers until the process has taken the signal: the accounts started (two at once on
        # one GitLab host) are in progress when it comes, and finish after it, whatever the machine's speed
        gate = Gate(forge)
        path = tmp_path / "organisations.yml"
        path.write_text(
            f"gitlab.example.org:\n  forge: gitlab\n  api_url: {forge.api_url('gitlab.example.org')}\n"
            "  owners:\n    ministere:\n    partenaire:\n    jean.dupont:\n"
            "schedule:\n  interval_hours: 0.0003\n  export_after: false\n"
        )
        db_url = f"sqlite:///{tmp_path / 'index.sqlite'}"
        engine = open_index(db_url)
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "--db", db_url, "--config", str(path), "schedule",
             "--out", str(tmp_path / "export")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
        reader.start()
        try:
            assert gate.arrived.wait(timeout=30), b"".join(lines).decode()  # a crawl's first request: mid-crawl
            assert any(r.status == "running" for r in _runs(engine))
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert wait_until(lambda: any(b"received SIGTERM" in line for line in lines), timeout=30), lines
            gate.open()
            process.wait(timeout=30)
            reader.join(timeout=10)
        finally:
            gate.open()
            if process.poll() is None:
                process.kill()
        output = b"".join(lines)
        assert process.returncode == 0, output.decode()
        assert time.monotonic() - started < 30
        assert not gate.timed_out
    runs = _runs(engine)
    assert runs[-1].status == "interrupted", output.decode()
    assert runs[-1].accounts_ok >= 1 and runs[-1].accounts_ok < 3
    assert b"scheduler stopped" in output


def test_annuaire_schedule_from_configuration(tmp_path):
    from crawler.config import ConfigError

    base = "g.example.org:\n  forge: gogs\nschedule:\n  annuaire: "
    path = tmp_path / "organisations.yml"
    path.write_text(base + "{cron: \"0 3 * * 1\", source: /srv/dila.zip}\n")
    specs = {s.id: s for s in job_specs(load_config(path))}
    assert "cron" in str(specs["annuaire-update"].trigger) and specs["annuaire-update"].source == "/srv/dila.zip"
    path.write_text(base + "false\n")
    assert "annuaire-update" not in {s.id for s in job_specs(load_config(path))}
    path.write_text(base + "{interval_hours: 24}\n")
    assert {s.id: s for s in job_specs(load_config(path))}["annuaire-update"].interval.days == 1
    path.write_text(base + "{cron: \"0 3 * * 1\", interval_hours: 24, sorce: x}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "at most one of them" in str(error.value) and "did you mean `source`?" in str(error.value)


def test_scheduled_annuaire_update_keeps_the_directory_on_a_bad_file(tmp_path, caplog):
    from crawler.scheduler import scheduled_annuaire_update
    from index.directory import load_directory
    from tests.annuaire_support import FIXTURE

    db_url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    config = tmp_path / "missing.yml"
    scheduled_annuaire_update(db_url, str(config), str(FIXTURE))
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    scheduled_annuaire_update(db_url, str(config), str(bad))
    assert "the stored directory is kept" in caplog.text
    with transaction(open_index(db_url)) as session:
        assert len(load_directory(session)) == 18


def test_now_runs_each_crawl_job_at_start_and_logs_its_end(tmp_path, simforge, caplog):
    """`schedule --now`: the first crawl does not wait a whole interval (6 h by default); its end is logged with
    outcome, duration and export, and the report names each job's next run."""
    import logging

    path = tmp_path / "organisations.yml"
    path.write_text(CONFIG.format(api=simforge.api_url("gitlab.example.org")).replace(
        "  interval_hours: 0.0003\n", "  interval_hours: 6\n").replace(
        "  forges:\n    github.com: {cron: \"0 */4 * * *\"}\n", ""))
    db_url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    engine = open_index(db_url)
    caplog.set_level(logging.INFO, logger="crawler.progress")
    scheduler, specs = build_scheduler(db_url, load_config(path), tmp_path / "export")
    try:
        report = start(scheduler, specs, db_url, path, tmp_path / "export", now=True)
        assert report[0] == "crawl-default: added (interval[6:00:00]), runs now (--now), then on its schedule"
        assert report[1].startswith("annuaire-update: added (interval[7 days, 0:00:00]), next run ")
        assert wait_until(lambda: any("scheduled crawl ok" in r.getMessage() for r in caplog.records), timeout=30)
    finally:
        scheduler.shutdown(wait=True)
    (end,) = [r.getMessage() for r in caplog.records if "scheduled crawl ok" in r.getMessage()]
    assert re.search(r"in \d+ s: run 1, accounts ok 1, failed 0; .*; exported to .*export/ in [\d.]+ s$", end), end
    assert [r.status for r in _runs(engine)] == ["ok"]
    assert (tmp_path / "export" / "repositories.json").exists()
