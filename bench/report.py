"""The table printed at the end of a run, the chart, and results.json (merged by scale across runs).

`python -m bench.report [bench/results.json] [--chart bench/chart.png]` redraws the chart from results.json alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEP_LABELS = {"cold": "cold crawl", "unchanged": "unchanged re-crawl",
               "unchanged_again": "unchanged re-crawl, again", "changed_5pct": "re-crawl, 5% changed",
               "export": "export", "baseline": "baseline cold (code.gouv.fr-like)"}


def _steps(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Steps in run order (results.json stores them with sorted keys)."""
    steps = result["steps"]
    return [(name, steps[name]) for name in (*STEP_LABELS, *sorted(set(steps) - set(STEP_LABELS))) if name in steps]


def _kind(step: dict[str, Any], kind: str, key: str) -> int:
    return int(step.get("forge", {}).get("by_kind", {}).get(kind, {}).get(key, 0))


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


# one colour per scenario, the same in every panel (matplotlib's tab10, baseline in grey)
STEP_COLOURS = {"cold": "#1f77b4", "unchanged": "#ff7f0e", "unchanged_again": "#2ca02c",
                "changed_5pct": "#9467bd", "export": "#d62728", "baseline": "#7f7f7f"}
_SPARE_COLOURS = ("#8c564b", "#e377c2", "#bcbd22", "#17becf")


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 100 else f"{value:,.0f} s"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


# panel title, axis label, the figure per step (None: the step has none), its label, logarithmic axis or not
PANELS: tuple[tuple[str, str, Callable[[dict[str, Any]], float | None], Callable[[float], str], bool], ...] = (
    ("Wall time", "seconds (log scale)", lambda s: s["seconds"], _seconds, True),
    ("HTTP requests to the forge", "requests (log scale)",
     lambda s: s["forge"]["requests"] if "forge" in s else None, _count, True),
    ("Rate-limit points", "points: GitHub REST + GraphQL, GitLab one per request (log scale)",
     lambda s: s["forge"]["points"] if "forge" in s else None, _count, True),
    ("Peak RSS of the step (an upper bound)", "MB", lambda s: s.get("peak_rss_mb"), lambda v: f"{v:,.0f} MB", False),
)


NEEDS_MATPLOTLIB = "the benchmark chart needs matplotlib: pip install -e '.[bench]'"


def require_matplotlib() -> None:
    """Fail before a run of many minutes rather than at its end, when the chart is drawn."""
    if importlib.util.find_spec("matplotlib") is None:
        raise SystemExit(NEEDS_MATPLOTLIB)


def chart(results: dict[str, Any], path: Path, meta: dict[str, Any] | None = None) -> None:
    """One panel per measured quantity, one group of bars per scale, one colour per scenario (matplotlib, Agg)."""
    try:
        from matplotlib import rc_context
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
        from matplotlib.ticker import FuncFormatter
    except ImportError as exc:
        raise SystemExit(NEEDS_MATPLOTLIB) from exc

    scales = sorted(results.items(), key=lambda kv: float(kv[0]))
    names = list(dict.fromkeys(name for _, result in scales for name, _ in _steps(result)))
    spare = iter(_SPARE_COLOURS * (1 + len(names) // len(_SPARE_COLOURS)))
    colours = {name: STEP_COLOURS.get(name) or next(spare) for name in names}
    with rc_context({"font.family": "DejaVu Sans", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False}):
        fig = Figure(figsize=(12, 7.8), dpi=100, layout="constrained")
        axes = fig.subplots(2, 2).flatten()
        for ax, (title, unit, value_of, label_of, log) in zip(axes, PANELS, strict=True):
            y, ticks, tick_labels = 0, [], []
            for key, result in scales:
                bars = [(name, v) for name, step in _steps(result) if (v := value_of(step)) is not None and v > 0]
                if not bars:
                    continue
                ys = [y + i for i in range(len(bars))]
                ax.barh(ys, [v for _, v in bars], height=0.8, color=[colours[n] for n, _ in bars])
                for bar_y, (_, v) in zip(ys, bars, strict=True):
                    ax.annotate(label_of(v), (v, bar_y), xytext=(3, 0), textcoords="offset points",
                                va="center", ha="left", fontsize=8.5)
                ticks.append(y + (len(bars) - 1) / 2)
                tick_labels.append(f"×{key}")
                y += len(bars) + 1
            ax.set_yticks(ticks, tick_labels, fontsize=11, fontweight="bold")
            ax.tick_params(axis="y", length=0)
            ax.set_ylim(y - 1.4, -0.6)  # the first scale at the top, its steps in run order
            ax.set_title(title, loc="left", fontweight="bold", fontsize=10.5)
            ax.set_xlabel(unit)
            if log:
                ax.set_xscale("log")
                low, high = ax.get_xlim()
                ax.set_xlim(low, high * 3)  # room for the label beside the longest bar
                ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _count(x)))
            else:
                ax.set_xlim(0, ax.get_xlim()[1] * 1.12)
            ax.grid(axis="x", which="major", color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
        handles = [Patch(color=colours[n], label=STEP_LABELS.get(n, n)) for n in names]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3), frameon=False,
                   fontsize=9.5)
        title = "codeindex crawl benchmark: each step per scale"
        if meta:
            latency = {r.get("latency_ms", meta.get("latency_ms")) for _, r in scales} - {None}
            title += "\n" + " — ".join(filter(None, (
                f"simulated forge, {latency.pop():g} ms per answer" if len(latency) == 1 else "simulated forge",
                meta.get("machine"), f"results.json of {str(meta['date'])[:10]}" if meta.get("date") else "")))
        fig.suptitle(title, fontsize=12)
        fig.savefig(path, format="png", metadata={"Software": None})


def merge(path: Path, meta: dict[str, Any], results: dict[str, Any],
          distributed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Results of earlier runs at other scales are kept: `make bench-quick` does not erase the x10 figures (nor a
    run without PostgreSQL the distributed row)."""
    old: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
    old = old if isinstance(old, dict) else {}
    document = {"meta": meta, "scales": {**(old.get("scales") or {}), **results}}
    rows = {**(old.get("distributed") or {}), **(distributed or {})}
    if rows:
        document["distributed"] = rows
    return document


def main(argv: list[str] | None = None) -> int:
    """Redraw the chart from results.json alone, without running the benchmark."""
    here = Path(__file__).parent
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("results", type=Path, nargs="?", default=here / "results.json")
    parser.add_argument("--chart", type=Path, default=here / "chart.png")
    args = parser.parse_args(argv)
    document = json.loads(args.results.read_text(encoding="utf-8"))
    args.chart.parent.mkdir(parents=True, exist_ok=True)
    chart(document["scales"], args.chart, document.get("meta"))
    print(f"wrote {args.chart}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
