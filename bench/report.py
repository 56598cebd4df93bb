"""The table printed at the end of a run, the chart, and results.json (merged by scale across runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.png import bar_chart

STEP_LABELS = {"cold": "cold crawl", "unchanged": "unchanged re-crawl",
               "unchanged_again": "unchanged re-crawl, again", "changed_5pct": "re-crawl, 5% changed",
               "export": "export", "baseline": "baseline cold (code.gouv.fr-like)"}


def _steps(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Steps in run order (results.json stores them with sorted keys)."""
    steps = result["steps"]
    return [(name, steps[name]) for name in (*STEP_LABELS, *sorted(set(steps) - set(STEP_LABELS))) if name in steps]


def _kind(step: dict[str, Any], kind: str, key: str) -> int:
    count: int = step.get("forge", {}).get("by_kind", {}).get(kind, {}).get(key, 0)
    return count


def table(results: dict[str, Any]) -> str:
    head = ("scale", "step", "time s", "GH req", "GL req", "GH REST pts", "GH GQL pts", "GL pts", "req/repo",
            "304 %", "RSS MB", "req vs base", "time vs base")
    rows: list[tuple[str, ...]] = [head]
    for key, result in sorted(results.items(), key=lambda kv: float(kv[0])):
        ratios = result["ratios"]
        for name, step in _steps(result):
            forge = step.get("forge")
            rows.append((
                f"x{key}", STEP_LABELS.get(name, name), f"{step['seconds']:.1f}",
                *(str(_kind(step, k, f)) if forge else "" for k, f in (
                    ("github", "requests"), ("gitlab", "requests"), ("github", "rest_points"),
                    ("github", "graphql_points"), ("gitlab", "rest_points"))),
                f"{forge['requests_per_repository']:.3f}" if forge else "",
                f"{100 * forge['share_304']:.1f}" if forge else "",
                f"{step['peak_rss_mb']:.0f}",
                str(ratios.get(f"{name}_requests_vs_baseline", "")),
                str(ratios.get(f"{name}_time_vs_baseline", "")),
            ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def bounds_table(results: dict[str, Any]) -> str:
    lines = ["| scale | GitHub lower bound (req) | cold GitHub req / pts vs bound | GitLab lower bound (req) | "
             "GitLab method floor (req) | cold GitLab req vs bound / floor |", "|---|---|---|---|---|---|"]
    for key, result in sorted(results.items(), key=lambda kv: float(kv[0])):
        b, r = result["lower_bounds"], result["ratios"]
        lines.append(f"| x{key} | {b['github']['requests']} | {r.get('github_cold_requests_vs_lower_bound', '')} / "
                     f"{r.get('github_cold_points_vs_lower_bound', '')} | {b['gitlab']['requests']} | "
                     f"{b['gitlab_signals']['requests']} | {r.get('gitlab_cold_requests_vs_lower_bound', '')} / "
                     f"{r.get('gitlab_cold_requests_vs_method_floor', '')} |")
    return "\n".join(lines)


def targets_table(checks: list[dict[str, Any]]) -> str:
    lines = ["| target | measured | limit | met |", "|---|---|---|---|"]
    lines += [f"| {c['target']} | {c['value']} | {c['limit']} | {'yes' if c['ok'] else 'NO'} |" for c in checks]
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    times, requests = [], []
    for key, result in sorted(results.items(), key=lambda kv: float(kv[0])):
        for name, step in _steps(result):
            label = f"x{key} {STEP_LABELS.get(name, name).replace(' (code.gouv.fr-like)', '')}"
            times.append((label, step["seconds"]))
            if "forge" in step:
                requests.append((label, step["forge"]["requests"]))
    bar_chart(path, "CODEINDEX CRAWL BENCHMARK", [("WALL TIME (S)", times), ("HTTP REQUESTS", requests)])


def merge(path: Path, meta: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """Results of earlier runs at other scales are kept: `make bench-quick` does not erase the x10 figures."""
    old: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8")).get("scales", {})
        except (ValueError, AttributeError):
            old = {}
    merged = {**old, **results}
    return {"meta": meta, "scales": merged}
