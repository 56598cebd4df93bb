"""Orchestration: per scale, start the forge process, run the measured steps, derive the figures and targets."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from bench.forge import TOKEN_ENV, ForgeProcess
from bench.steps import baseline_step, crawl_step, export_step, in_child

CRAWLS = ("cold", "unchanged", "unchanged_again", "changed_5pct")
TARGETS = {  # figure → (limit, what it applies to)
    "cold_x10_seconds": 15 * 60,
    "unchanged_seconds": 60,
    "unchanged_points_share": 0.05,
    "github_cold_vs_lower_bound": 1.5,
    "export_x10_seconds": 10,
    "peak_rss_mb": 1024,
}


def forge_figures(stats: dict[str, dict[str, int]], kinds: dict[str, str], repositories: int) -> dict[str, Any]:
    """Simforge counters per host → per forge kind: requests, 304s, rate-limit points."""
    by_kind: dict[str, dict[str, int]] = {}
    for host, counters in stats.items():
        entry = by_kind.setdefault(kinds.get(host, "other"), {"requests": 0, "not_modified": 0, "rest_points": 0,
                                                               "graphql_points": 0, "errors": 0})
        for key in ("requests", "not_modified", "rest_points", "graphql_points"):
            entry[key] += counters.get(key, 0)
        entry["errors"] += sum(v for k, v in counters.items() if k.startswith("status_5") or k.startswith("fault_"))
    requests = sum(e["requests"] for e in by_kind.values())
    not_modified = sum(e["not_modified"] for e in by_kind.values())
    points = sum(e["rest_points"] + e["graphql_points"] for e in by_kind.values())
    return {"by_kind": by_kind, "requests": requests, "points": points,
            "requests_per_repository": round(requests / max(1, repositories), 4),
            "share_304": round(not_modified / max(1, requests), 4)}


def run_scale(scale: float, latency_ms: float, *, workers: int, per_host: int | None, baseline: bool,
              sample: float | None = None, workdir: Path | None = None, inline: bool = False,
              echo: Any = print) -> dict[str, Any]:
    """Every step at one scale; `workdir` keeps the index, configuration and export (else a temporary folder).

    `inline` runs the steps in this process (the smoke test: no spawn per step; peak RSS is then cumulative)."""

    def step_of(fn: Any, *args: Any) -> dict[str, Any]:
        return fn(*args) if inline else in_child(fn, *args)

    os.environ.setdefault(TOKEN_ENV, "bench-token-not-a-secret")
    out: dict[str, Any] = {"scale": scale, "latency_ms": latency_ms, "steps": {}}
    with ForgeProcess(scale, latency_ms, sample=sample) as forge, tempfile.TemporaryDirectory() as scratch:
        tmp = str(workdir / f"x{scale:g}") if workdir else scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        (Path(tmp) / "index.sqlite").unlink(missing_ok=True)
        info = forge.info
        kinds, repos = info["hosts"], info["repositories"]
        out.update(repositories=repos, hosts=len(kinds), lower_bounds=info["bounds"])
        config = Path(tmp) / "organisations.yml"
        config.write_text(info["config_yaml"], encoding="utf-8")
        db_url = f"sqlite:///{Path(tmp) / 'index.sqlite'}"
        echo(f"x{scale}: {repos} repositories on {len(kinds)} hosts, latency {latency_ms:g} ms")
        for name in CRAWLS:
            if name == "changed_5pct":
                out["mutations"] = forge.mutate(0.05)
                out["lower_bounds_after_change"] = forge.ask("bounds")
            forge.reset()
            step = step_of(crawl_step, db_url, str(config), workers, per_host)
            step["forge"] = forge_figures(forge.stats(), kinds, repos)
            out["steps"][name] = step
            if name == "cold" and workdir:  # a snapshot to profile a first re-crawl again (bench.recrawl)
                snapshot(Path(tmp) / "index.sqlite", Path(tmp) / "index-cold.sqlite")
            echo(f"  {name}: {step['seconds']:.1f} s, {step['forge']['requests']} requests, "
                 f"{step['forge']['points']} points, peak RSS {step['peak_rss_mb']:.0f} MB")
        step = step_of(export_step, db_url, str(Path(tmp) / "export"))
        out["steps"]["export"] = step
        echo(f"  export: {step['seconds']:.1f} s, {step['bytes'] / 1e6:.1f} MB, peak RSS {step['peak_rss_mb']:.0f} MB")
        if baseline:
            forge.reset()
            step = step_of(baseline_step, str(config), workers, per_host)
            step["forge"] = forge_figures(forge.stats(), kinds, repos)
            out["steps"]["baseline"] = step
            echo(f"  baseline (code.gouv.fr-like): {step['seconds']:.1f} s, {step['forge']['requests']} requests")
    out["forge_peak_rss_mb"] = forge.peak_rss_mb
    out["ratios"] = ratios(out)
    return out


def snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite index, its write-ahead log included (SQLite's online backup)."""
    target.unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """Each crawl against the lower bounds and the baseline."""
    steps, bounds = result["steps"], result["lower_bounds"]
    cold = steps["cold"]["forge"]["by_kind"]
    out: dict[str, Any] = {}
    gh, gl = cold.get("github"), cold.get("gitlab")
    if gh and bounds["github"]["requests"]:
        out["github_cold_requests_vs_lower_bound"] = round(gh["requests"] / bounds["github"]["requests"], 3)
        out["github_cold_points_vs_lower_bound"] = round(
            (gh["rest_points"] + gh["graphql_points"]) / bounds["github"]["requests"], 3)
    if gl and bounds["gitlab"]["requests"]:
        out["gitlab_cold_requests_vs_lower_bound"] = round(gl["requests"] / bounds["gitlab"]["requests"], 3)
        out["gitlab_cold_requests_vs_method_floor"] = round(gl["requests"] / bounds["gitlab_signals"]["requests"], 3)
    cold_points = steps["cold"]["forge"]["points"]
    for name in CRAWLS[1:]:
        out[f"{name}_points_share_of_cold"] = round(steps[name]["forge"]["points"] / max(1, cold_points), 4)
    base = steps.get("baseline")
    if base:
        for name in CRAWLS:
            step = steps[name]
            out[f"{name}_requests_vs_baseline"] = round(step["forge"]["requests"] / max(1, base["forge"]["requests"]), 3)
            out[f"{name}_points_vs_baseline"] = round(step["forge"]["points"] / max(1, base["forge"]["points"]), 3)
            out[f"{name}_time_vs_baseline"] = round(step["seconds"] / max(1e-9, base["seconds"]), 3)
    return out


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against the measured figures (x10 ones only when x10 was run)."""
    checks = []

    def check(name: str, value: float, limit: float) -> None:
        checks.append({"target": name, "value": round(value, 3), "limit": limit, "ok": value <= limit})

    for key, result in sorted(results.items(), key=lambda kv: float(kv[0])):
        steps = result["steps"]
        scale = result["scale"]
        if scale == 10:
            check("x10 cold crawl seconds", steps["cold"]["seconds"], TARGETS["cold_x10_seconds"])
            check("x10 export seconds", steps["export"]["seconds"], TARGETS["export_x10_seconds"])
        check(f"x{key} unchanged re-crawl seconds", steps["unchanged"]["seconds"], TARGETS["unchanged_seconds"])
        check(f"x{key} unchanged points / cold points", result["ratios"]["unchanged_points_share_of_cold"],
              TARGETS["unchanged_points_share"])
        if "github_cold_requests_vs_lower_bound" in result["ratios"]:
            check(f"x{key} GitHub cold requests / lower bound", result["ratios"]["github_cold_requests_vs_lower_bound"],
                  TARGETS["github_cold_vs_lower_bound"])
        check(f"x{key} peak RSS of any step (MB)", max(s["peak_rss_mb"] for s in steps.values()),
              TARGETS["peak_rss_mb"])
    return checks


def meta(latency_ms: float) -> dict[str, Any]:
    return {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "latency_ms": latency_ms}
