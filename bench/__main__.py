"""`python -m bench [--scales 1,10] [--latency 50] [--baseline-scales 1]`: see docs/benchmarks.md.

`python -m bench.report [bench/results.json]` redraws bench/chart.png from the results alone.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench.report import bounds_table, chart, merge, require_matplotlib, table, targets_table
from bench.run import meta, run_scale, targets

HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    from crawler.runner import DEFAULT_PER_HOST, DEFAULT_WORKERS, PER_HOST_BY_KIND

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scales", default="1", help="comma-separated seed scales, e.g. 1,10")
    parser.add_argument("--latency", type=float, default=50.0, help="simulated latency per request, ms")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="accounts crawled at once")
    parser.add_argument("--per-host", type=int, default=None,
                        help=f"accounts at once per host (default: the runner's, {PER_HOST_BY_KIND} else {DEFAULT_PER_HOST})")
    parser.add_argument("--baseline-scales", default="1",
                        help="scales at which the code.gouv.fr-like baseline also runs ('' for none)")
    parser.add_argument("--sample", type=float, default=None,
                        help="keep this fraction of each host's top-level accounts (smoke runs)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep each scale's index, configuration and export under this folder")
    parser.add_argument("--inline", action="store_true",
                        help="run the steps in this process (faster start; peak RSS becomes cumulative)")
    parser.add_argument("--distributed-scales", default="",
                        help="scales at which to crawl cold with 1 and with 3 `codeindex worker` processes too "
                             "(needs --postgres)")
    parser.add_argument("--postgres", default=os.environ.get("CODEINDEX_BENCH_POSTGRES"),
                        help="PostgreSQL URL for the distributed row (env CODEINDEX_BENCH_POSTGRES)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--chart", type=Path, default=HERE / "chart.png")
    args = parser.parse_args(argv)
    require_matplotlib()
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    with_baseline = {float(s) for s in args.baseline_scales.split(",") if s.strip()}
    results = {}
    for scale in scales:
        key = f"{scale:g}"
        results[key] = run_scale(scale, args.latency, workers=args.workers, per_host=args.per_host,
                                 baseline=scale in with_baseline, sample=args.sample,
                                 workdir=args.workdir, inline=args.inline)
    distributed = {}
    for scale in (float(s) for s in args.distributed_scales.split(",") if s.strip()):
        if not args.postgres:
            parser.error("--distributed-scales needs --postgres URL (or CODEINDEX_BENCH_POSTGRES)")
        from bench.distributed import run_distributed

        distributed[f"{scale:g}"] = run_distributed(scale, args.latency, args.postgres, sample=args.sample)
    document = merge(args.out, meta(args.latency), results, distributed)
    document["targets"] = targets(document["scales"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.chart.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    chart(document["scales"], args.chart, document["meta"])
    print()
    print(table(document["scales"]))
    print()
    print(bounds_table(document["scales"]))
    print()
    print(targets_table(document["targets"]))
    if document.get("distributed"):
        from bench.distributed import distributed_table

        print()
        print(distributed_table(document["distributed"]))
    print(f"\nwrote {args.out} and {args.chart}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
