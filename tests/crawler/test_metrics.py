"""`--metrics-port`: Prometheus metrics read from the index, scraped during a run and after it, and /health."""

from __future__ import annotations

import datetime as dt
import threading

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler.config import load_config
from crawler.distributed.budgets import IndexBudgets, token_hash
from crawler.forges import http
from crawler.metrics import serve
from crawler.runner import run_crawl
from index.db import open_index
from index.export.build import export_index
from simforge.seed import fixture_world
from simforge.server import SimForge
from tests.support import Gate, write_config

TOKEN = "metrics-test-token-0123456789"

pytestmark = pytest.mark.slow  # a crawl on the simulated forge, held midway


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert TOKEN not in text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_during_and_after_a_run_and_health(tmp_path, monkeypatch):
    monkeypatch.setenv("METRICS_TEST_TOKEN", TOKEN)
    engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
    monkeypatch.setattr(http, "SHARED_BUDGETS", IndexBudgets(engine, ttl=0))
    export_dir = tmp_path / "export"
    server = serve(engine, 0, dt.timedelta(hours=6), export_dir, host="127.0.0.1")
    port = server.server_port
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 503  # no run yet
        with SimForge(fixture_world()) as forge:
            config = load_config(write_config(tmp_path, [
                "github.com:", "  forge: github", f"  api_url: {forge.api_url('github.com')}",
                "  token_env: METRICS_TEST_TOKEN", "  owners:", "    etalab:", "    bigorg:",
                "gitlab.example.org:", "  forge: gitlab", f"  api_url: {forge.api_url('gitlab.example.org')}",
                "  token_env: METRICS_TEST_TOKEN", "  owners:", "    ministere:", "    jean.dupont:"]))
            gate = Gate(forge, hold=lambda path: "jean.dupont" in path)
            crawl = threading.Thread(target=lambda: run_crawl(engine, config))
            crawl.start()
            assert gate.arrived.wait(30)
            during = scrape(port)
            gate.open()
            crawl.join(60)
        assert during[("codeindex_runs_total", (("status", "running"),))] == 1

        export_index(engine, export_dir)
        after = scrape(port)
        assert after[("codeindex_runs_total", (("status", "ok"),))] == 1
        assert after[("codeindex_accounts", (("status", "ok"),))] == 4
        assert after[("codeindex_forge_requests_total", (("forge", "github.com"),))] > 0
        assert after[("codeindex_forge_rate_limit_points_total", (("forge", "github.com"), ("resource", "graphql")))] > 0
        budget = [(labels, value) for (name, labels), value in after.items()
                  if name == "codeindex_token_budget_remaining" and ("resource", "graphql") in labels]
        assert budget and all(("token", token_hash(TOKEN)) in labels and 0 < value < 5000 for labels, value in budget)
        now = dt.datetime.now(dt.UTC).timestamp()
        for host in ("github.com", "gitlab.example.org"):
            assert now - 120 < after[("codeindex_forge_last_success_timestamp_seconds", (("forge", host),))] <= now
        assert 0 <= after[("codeindex_export_age_seconds", ())] < 120
        health = httpx.get(f"http://127.0.0.1:{port}/health")
        assert health.status_code == 200 and health.json()["healthy"] is True
    finally:
        server.shutdown()
        server.server_close()
