-- wrk's script for `codeindex serve`: bench/serve_load.py's QUERIES in turn (tests/test_bench_smoke.py keeps the
-- two in step), and p50 / p95 / p99 at the end. An independent client, in C:
--   wrk -t 2 -c 8 -d 30s -s bench/serve_wrk.lua http://127.0.0.1:8000
local paths = {
  "/api/v1/repositories?q=data&fork=false",
  "/api/v1/repositories?q=api&archived=false",
  "/api/v1/repositories?q=gouv&forge=github.com",
  "/api/v1/repositories?q=python&license=MIT",
  "/api/v1/repositories?q=carte&sort=activity",
  "/api/v1/repositories?q=open&publiccode=false&sort=score",
  "/api/v1/repositories?q=web+site&fork=false",
  "/api/v1/repositories?q=outil&active_days=3650",
  "/api/v1/repositories?q=docker&sort=name",
  "/api/v1/repositories?q=recherche&archived=false",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("requests %d errors %d p50 %.1f ms p95 %.1f ms p99 %.1f ms\n", summary.requests, errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
