"""`python -m bench.recrawl WORKDIR/x10 [--latency 50] [--times 2]`: re-crawls again, on a copy of a kept index.

`python -m bench --workdir WORKDIR` keeps, per scale, the index as the cold crawl left it (`index-cold.sqlite`).
This runs a fresh forge of the same scale (the seed is deterministic for a given day: run it the day the index
was made) and re-crawls a copy of that index `--times` times: the first is the first re-crawl after a cold crawl,
the next ones the steady state. The crawl runs in this process, so a profiler can watch it
(`py-spy record -o recrawl.svg -- python -m bench.recrawl ...`); the forge runs in a process of its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from bench.forge import TOKEN_ENV, ForgeProcess
from bench.run import forge_figures
from bench.steps import crawl_step


def main(argv: list[str] | None = None) -> int:
    from crawler.runner import DEFAULT_WORKERS

    parser = argparse.ArgumentParser(prog="python -m bench.recrawl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scale_dir", type=Path, help="a scale's folder kept by `python -m bench --workdir` (x1, x10)")
    parser.add_argument("--latency", type=float, default=50.0, help="simulated latency per request, ms")
    parser.add_argument("--times", type=int, default=2, help="re-crawls in a row (the first has no ETags yet)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--per-host", type=int, default=None)
    parser.add_argument("--sample", type=float, default=None, help="the --sample the index was made with")
    args = parser.parse_args(argv)
    cold = args.scale_dir / "index-cold.sqlite"
    if not cold.is_file():
        parser.error(f"{cold} not found: run `python -m bench --workdir DIR` first")
    scale = float(args.scale_dir.name.lstrip("x"))
    os.environ.setdefault(TOKEN_ENV, "bench-token-not-a-secret")
    with tempfile.TemporaryDirectory() as scratch, ForgeProcess(scale, args.latency, sample=args.sample) as forge:
        index = Path(scratch) / "index.sqlite"
        shutil.copyfile(cold, index)
        config = Path(scratch) / "organisations.yml"
        config.write_text(forge.info["config_yaml"], encoding="utf-8")
        for attempt in range(args.times):
            forge.reset()
            step = crawl_step(f"sqlite:///{index}", str(config), args.workers, args.per_host)
            figures = forge_figures(forge.stats(), forge.info["hosts"], forge.info["repositories"])
            print(f"re-crawl {attempt + 1}: {step['seconds']:.1f} s, {figures['requests']} requests, "
                  f"{figures['share_304']:.1%} 304, {step['accounts_ok']} accounts ok, "
                  f"{step['accounts_failed']} failed, {step['repos_updated']} updated", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
