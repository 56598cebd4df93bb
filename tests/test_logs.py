"""What an operator sees on stderr: one line per finished account without -v, JSON lines that parse one by one
under --log-format json (errors and the run's summary included), no library chatter unless -vv."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _codeindex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a child process (its stderr not a terminal, as under cron or systemd)."""
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "LOG_TEST_TOKEN": "log-test-token-0123", **(env or {})})


def _config(tmp_path: Path, forge) -> Path:
    path = tmp_path / "organisations.yml"
    path.write_text(f"github.com:\n  forge: github\n  api_url: {forge.api_url('github.com')}\n"
                    "  token_env: LOG_TEST_TOKEN\n  owners:\n    dinum:\n    etalab:\n    no-such-account:\n",
                    encoding="utf-8")
    return path


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_crawl_says_each_account_as_it_ends_without_v(tmp_path, simforge):
    result = _codeindex("--db", f"sqlite:///{tmp_path}/i.sqlite", "--config", str(_config(tmp_path, simforge)),
                        "crawl")
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if "crawler.progress" in line]
    assert len(lines) == 3, result.stderr
    assert any(re.search(r" [123]/3 github\.com/etalab: ok, \d+ repositor(y|ies), \d+ requests?, [\d.]+ s$", line)
               for line in lines), lines
    assert any("github.com/no-such-account: not_found" in line for line in lines), lines
    assert "alembic" not in result.stderr.lower()
    verbose = _codeindex("--db", f"sqlite:///{tmp_path}/i.sqlite", "runs", "-v")
    assert "alembic" not in verbose.stderr.lower() and verbose.returncode == 0


def test_json_logs_parse_line_by_line_with_the_run_summary(tmp_path, simforge):
    result = _codeindex("--log-format", "json", "--db", f"sqlite:///{tmp_path}/i.sqlite", "--config",
                        str(_config(tmp_path, simforge)), "crawl")
    assert result.returncode == 3
    events = _json_lines(result.stderr)  # fails on any line that is not JSON
    assert not [e for e in events if e["logger"].startswith(("alembic", "apscheduler"))]
    done = [e for e in events if e.get("event") == "account_done"]
    assert sorted(e["account"] for e in done) == ["dinum", "etalab", "no-such-account"]
    assert all(e["total"] == 3 and "repositories" in e and "seconds" in e for e in done)
    (summary,) = [e for e in events if e.get("event") == "run_summary"]
    assert summary["accounts_ok"] == 2 and summary["accounts_failed"] == 1 and summary["exit_status"] == 3
    assert summary["requests"] == sum(e["requests"] for e in done)


def test_every_error_is_a_json_event(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("github.com:\n  forge: githib\n  owners:\n    etalab:\n")
    cases = [
        (["--log-format", "json", "crawl", "--no-such-option"], 2, "No such option"),
        (["crawl", "--log-format", "json", "--config", str(bad), "--db", f"sqlite:///{tmp_path}/i.sqlite"], 2,
         "bad.yml"),
        (["--log-format", "json", "--db", "mysql://x@y/z", "runs"], 2, "unsupported database"),
        (["--log-format=json", "runs", "--run", "not-a-number"], 2, "not-a-number"),
    ]
    for args, status, text in cases:
        result = _codeindex(*args)
        assert result.returncode == status, (args, result.stderr)
        events = _json_lines(result.stderr)
        assert events and all(e["level"] == "error" for e in events), result.stderr
        assert any(text in e["message"] for e in events), result.stderr
    result = _codeindex("runs", env={"CODEINDEX_LOG_FORMAT": "json", "CODEINDEX_DB": "mysql://x@y/z"})
    assert result.returncode == 2 and _json_lines(result.stderr)[0]["exit_status"] == 2
