"""Trends come from the daily metrics history: per repository over 30 days, and totals per crawl day."""

import datetime as dt
import json

from index.export.build import export_index
from index.upsert import record_account_crawl, start_run
from tests.index.factories import T0, crawl, repo
from tests.index.test_upsert import _setup


def test_trend_and_history(engine, tmp_path):
    _setup(engine)
    run = start_run(engine)
    for days, stars in ((0, 10), (20, 14), (40, 25)):
        record_account_crawl(engine, run, crawl("etalab", [repo(1, "a", stars=stars)]),
                             now=T0 + dt.timedelta(days=days))
    export_index(engine, tmp_path / "out", now=T0 + dt.timedelta(days=40, hours=1))
    repos = json.loads((tmp_path / "out" / "repositories.json").read_text())["repositories"]
    # the last crawl day at least 30 days before the latest one is day 0 (day 20 is too recent)
    assert repos[0]["trend_30d"] == {"since": T0.date().isoformat(), "stars": 15, "forks": 0, "commits_365d": 0}
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert [(h["day"], h["stars"]) for h in stats["history"]] == [
        ((T0 + dt.timedelta(days=d)).date().isoformat(), s) for d, s in ((0, 10), (20, 14), (40, 25))]
    csv_header = (tmp_path / "out" / "repositories.csv").read_text().splitlines()[0]
    assert "trend_30d_stars" in csv_header


def test_no_trend_before_a_second_crawl_day(engine, tmp_path):
    _setup(engine)
    record_account_crawl(engine, start_run(engine), crawl("etalab", [repo(1, "a")]), now=T0)
    export_index(engine, tmp_path / "out", now=T0 + dt.timedelta(hours=1))
    repos = json.loads((tmp_path / "out" / "repositories.json").read_text())["repositories"]
    assert repos[0]["trend_30d"] is None
