"""Benchmark of the crawl at code.gouv.fr scale and beyond: `python -m bench --scales 1,10` (see docs/benchmarks.md).

The simulated forge, seeded from the real 2021 export, runs in a process of its own (as a real forge would be
remote, and so that its CPU and memory are not charged to the crawler); each measured step (crawl, re-crawl,
export, baseline crawl) runs in a fresh child process whose peak RSS is read from `getrusage(RUSAGE_SELF)` at its
end.
"""
