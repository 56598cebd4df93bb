"""The benchmark, shrunk: a 2% sample of the seed at no latency runs every step, so `python -m bench` cannot rot."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.forge import lower_bounds, mutate
from bench.recrawl import main as recrawl
from crawler.config.model import NEVER_WHOLE
from simforge.seed import seed_from_codegouvfr

pytestmark = pytest.mark.slow  # seconds: the benchmark's every step on a sample


def test_bench_runs_every_step_and_writes_results_and_chart(tmp_path, capsys):
    out, chart = tmp_path / "results.json", tmp_path / "chart.png"
    assert main(["--scales", "1", "--latency", "0", "--sample", "0.02", "--baseline-scales", "", "--inline",
                 "--out", str(out), "--chart", str(chart), "--workdir", str(tmp_path / "work")]) == 0
    # the kept cold index re-crawls again (bench.recrawl, for profiling): nothing new, nothing failed
    assert recrawl(["--latency", "0", "--sample", "0.02", "--times", "1", str(tmp_path / "work" / "x1")]) == 0
    assert ", 0 failed, 0 updated" in capsys.readouterr().out.splitlines()[-1]
    document = json.loads(out.read_text())
    result = document["scales"]["1"]
    steps = result["steps"]
    assert set(steps) == {"cold", "unchanged", "unchanged_again", "changed_5pct", "export"}
    cold, unchanged, again = steps["cold"], steps["unchanged"], steps["unchanged_again"]
    assert cold["status"] == "ok" and cold["accounts_failed"] == 0
    assert cold["repos_new"] > 0 and cold["repos_new"] <= result["repositories"]
    # the forge's own counts agree with what the adapters counted
    assert cold["forge"]["requests"] == cold["adapter_requests"]
    # nothing changed: the second re-crawl rides on 304s; a re-crawl costs a small share of the cold one
    assert unchanged["repos_new"] == 0 and again["forge"]["share_304"] > 0
    assert again["forge"]["points"] < unchanged["forge"]["points"] < cold["forge"]["points"]
    changed = steps["changed_5pct"]
    assert changed["repos_gone"] == result["mutations"]["delete"] > 0 or result["mutations"]["delete"] == 0
    assert steps["export"]["repositories"] > 0 and steps["export"]["bytes"] > 0
    # --inline: the steps run in this process, whose peak RSS is the whole test session's so far (over 1 GB after
    # the demo-sized tests): only its presence can be checked here; `make bench` measures each step apart
    assert all(s["peak_rss_mb"] > 0 for s in steps.values())
    assert result["ratios"]["github_cold_requests_vs_lower_bound"] >= 1
    assert {t["target"] for t in document["targets"]} >= {"x1 unchanged re-crawl seconds"}
    png = chart.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
    chunks, at = {}, 8
    while at < len(png):  # the image data may span several IDAT chunks
        size, kind = struct.unpack(">I4s", png[at:at + 8])
        chunks[kind] = chunks.get(kind, b"") + png[at + 8:at + 8 + size]
        at += 12 + size
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert width >= 800 and height >= 400 and zlib.decompress(chunks[b"IDAT"])


def test_lower_bounds_and_mutation_on_the_real_seed():
    world = seed_from_codegouvfr(scale=1)
    bounds = lower_bounds(world, NEVER_WHOLE)
    github = world.hosts["github.com"]
    assert bounds["github"]["repositories"] == sum(r.visibility == "public" for r in github.repos.values())
    # at least one page per account, at most one page per account plus one per 100 repositories
    tops = {a.path.lower() for a in github.accounts.values()}
    assert len(tops) <= bounds["github"]["requests"] <= len(tops) + bounds["github"]["repositories"] // 100
    assert bounds["gitlab"]["requests"] < bounds["gitlab_signals"]["requests"]
    before = sum(len(h.repos) for h in world.hosts.values())
    counts = mutate(world, 0.05)
    assert sum(counts.values()) == round(before * 0.05)
    assert sum(len(h.repos) for h in world.hosts.values()) == before - counts["delete"]


@pytest.mark.postgres
def test_bench_distributed_row_crawls_with_one_and_three_workers_for_the_same_requests(tmp_path, capsys):
    import os

    url = os.environ.get("CODEINDEX_TEST_POSTGRES")
    if not url:
        pytest.skip("needs CODEINDEX_TEST_POSTGRES")
    out, chart = tmp_path / "results.json", tmp_path / "chart.png"
    assert main(["--scales", "", "--distributed-scales", "1", "--postgres", url, "--latency", "0",
                 "--sample", "0.02", "--out", str(out), "--chart", str(chart)]) == 0
    row = json.loads(out.read_text())["distributed"]["1"]
    one, three = row["runs"]["1"], row["runs"]["3"]
    assert one["status"] == three["status"] == "ok" and one["accounts_ok"] == three["accounts_ok"] > 0
    # the same work: a GitLab instance's features may be probed by two of its first accounts at once, a few
    # requests more or less whatever the worker count
    assert abs(one["forge"]["requests"] - three["forge"]["requests"]) <= max(5, one["forge"]["requests"] // 100)
    assert one["forge"]["requests"] > 0
    local = row["local"]  # one `codeindex crawl` process on PostgreSQL: the reference
    assert local["status"] == "ok" and local["accounts_ok"] == one["accounts_ok"]
    assert abs(local["forge"]["requests"] - one["forge"]["requests"]) <= max(5, one["forge"]["requests"] // 100)
    assert "| x1 | 3 × 8 |" in capsys.readouterr().out


def test_serve_load_answers_every_request_and_the_wrk_script_sends_the_same(tmp_path, capsys, monkeypatch):
    """bench.serve_load against a real `codeindex serve` on the fixture index: every request answered 200 with
    items; bench/serve_wrk.lua asks the same ten requests."""
    import re
    from urllib.parse import urlencode

    from bench import serve_load
    from index.db import open_index
    from tests.index.test_export import build_index

    url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    engine = open_index(url)
    build_index(engine)
    engine.dispose()
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # the server is started from the project's folder
    assert serve_load.main(["--db", url, "--seconds", "1", "--clients", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["requests"] > 10 and result["errors"] == 0 and result["p95_ms"] > 0
    lua = (Path(__file__).resolve().parents[1] / "bench" / "serve_wrk.lua").read_text(encoding="utf-8")
    assert re.findall(r'"(/api/v1/repositories\?[^"]*)"', lua) == [
        f"/api/v1/repositories?{urlencode(q)}" for q in serve_load.QUERIES]
