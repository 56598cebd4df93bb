"""Tokens never leak: not into logs (text or JSON, -vv and -vvv), stored errors, the database file, the export;
and the Authorization / PRIVATE-TOKEN header never travels to a host a hostile forge points at."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import logging
import os
import sqlite3
import subprocess
import sys
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from crawler.forges.base import KnownRepo, KnownState, Target
from crawler.forges.github.adapter import GitHubAdapter
from crawler.forges.gitlab.adapter import GitLabAdapter
from index.records import OutcomeStatus
from simforge.seed import fixture_world
from simforge.server import Fault, SimForge
from tests.support import FakeClock, LoopbackServer, QuietHandler, Scripted, write_config

GH_TOKEN = "zq7SEKRETgh4b1d9e0c2a"  # shapes no redaction pattern knows: only remembering the token removes it
GL_TOKEN = "zq7SEKRETgl77aa31f0e2"
BAD_TOKEN = "bad" + GH_TOKEN  # the simulated GitHub refuses tokens starting with "bad": a 401
SECRETS = (GH_TOKEN, GL_TOKEN)


def recorder() -> Scripted:
    """A loopback server that records every request: the host a hostile forge points at."""
    return Scripted([], default=(200, {"Content-Type": "application/json"}, b"[]"))


class Front(LoopbackServer):
    """A loopback front for a SimForge: forwards every request, rewrites the forge's own base URL in answers to
    its own (or, `hostile_to`, to another server's), and can drop response headers."""

    HOP = {"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}

    def __init__(self, forge: SimForge, *, drop_headers: set[str] = frozenset(), hostile_to: str | None = None):
        self.forge = forge
        self.drop = {h.lower() for h in drop_headers} | self.HOP
        self.hostile_to = hostile_to
        self.client = httpx.Client(follow_redirects=False, timeout=10)
        outer = self

        class H(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer._forward(self)

            do_POST = do_GET

        super().__init__(H)
        self.base_url = self.url

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.client.close()

    def api_url(self, host: str) -> str:
        return self.forge.api_url(host).replace(self.forge.base_url, self.base_url)

    def _forward(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        headers = {k: v for k, v in http.headers.items() if k.lower() not in ("host", "content-length")}
        answer = self.client.request(http.command, self.forge.base_url + http.path, content=body, headers=headers)
        target = self.hostile_to or self.base_url
        content = answer.content.replace(self.forge.base_url.encode(), target.encode())
        http.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in self.drop:
                http.send_header(name, value.replace(self.forge.base_url, target))
        http.send_header("Content-Length", str(len(content)))
        http.end_headers()
        http.wfile.write(content)


# --------------------------------------------------------------------------------------------------------------
# logs, stored errors, database, export


def _config(tmp_path, forge: SimForge) -> str:
    gh = sorted(a.path for a in forge.world.host("github.com").accounts.values())
    lines = ["github.com:", "  forge: github", f"  api_url: {forge.api_url('github.com')}", "  owners:",
             *[f"    {o}:" for o in [*gh, "nobody-here"]],
             "gitlab.example.org:", "  forge: gitlab", f"  api_url: {forge.api_url('gitlab.example.org')}",
             "  token_env: ZQ_GITLAB_TOKEN", "  owners:", "    ministere:", "    partenaire:", "    jean.dupont:",
             "dead.example.org:", "  forge: gitlab", "  api_url: http://127.0.0.1:9/api/v4",
             "  token_env: ZQ_GITLAB_TOKEN", "  owners:", "    somebody:"]
    return str(write_config(tmp_path, lines))


def _cli(tmp_path, config: str, *args: str, github_token: str) -> str:
    env = {**os.environ, "GITHUB_TOKEN": github_token, "ZQ_GITLAB_TOKEN": GL_TOKEN, "PYTHONUNBUFFERED": "1"}
    db = f"sqlite:///{tmp_path / 'index.sqlite'}"
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "--db", db, "--config", config, *args],
                          capture_output=True, env=env, timeout=120)
    return done.stdout.decode() + done.stderr.decode()


@pytest.mark.slow  # four CLI processes, and two crawls in-process
def test_tokens_never_reach_logs_database_or_export(tmp_path, monkeypatch):
    from crawler.config import load_config
    from crawler.logs import setup_logging
    from crawler.runner import run_crawl
    from index.db import open_index

    with SimForge(fixture_world()) as forge:
        config = _config(tmp_path, forge)
        logs = [
            _cli(tmp_path, config, "--log-format", "json", "-vv", "crawl", github_token=f"{GH_TOKEN},{GL_TOKEN}"),
            _cli(tmp_path, config, "--log-format", "json", "-vvv", "crawl", github_token=BAD_TOKEN),  # 401
        ]
    # retried faults in-process, where the adapters' clock is injected (the CLI would really sleep)
    faults = [Fault("502", path_contains="/orgs/etalab"), Fault("reset", path_contains="projects", rate=0.2),
              Fault("invalid_json", host="github.com", path_contains="graphql", times=1)]
    with SimForge(fixture_world(), faults=faults, seed=3) as forge:
        monkeypatch.setenv("GITHUB_TOKEN", GH_TOKEN)
        monkeypatch.setenv("ZQ_GITLAB_TOKEN", GL_TOKEN)
        engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
        loaded_here = load_config(_config(tmp_path, forge))
        for log_format in ("text", "json"):
            setup_logging(log_format, 3)  # -vvv: the HTTP clients log every request
            buffer = io.StringIO()
            logging.getLogger().handlers[0].setStream(buffer)  # type: ignore[attr-defined]
            clock = FakeClock()
            run_crawl(engine, loaded_here, adapters={"github": lambda c=clock: GitHubAdapter(c, timeout=5),
                                                     "gitlab": lambda c=clock: GitLabAdapter(clock=c)})
            logs.append(buffer.getvalue())
        config = _config(tmp_path, forge)
        logs.append(_cli(tmp_path, config, "-vv", "export", "--out", str(tmp_path / "export"), github_token=GH_TOKEN))
    everything = "\n".join(logs)
    assert "token refused" in everything or "auth" in everything  # the 401 happened and was reported
    assert "run " in logs[0] and '"level"' in logs[0] and "502" in logs[2] + logs[3]
    for secret in (*SECRETS, BAD_TOKEN):
        assert secret not in everything

    db_file = tmp_path / "index.sqlite"
    connection = sqlite3.connect(db_file)
    errors = [row[0] or "" for row in connection.execute("SELECT error FROM account_outcomes")]
    errors += [row[0] or "" for row in connection.execute("SELECT last_error FROM accounts")]
    dump = "\n".join(connection.iterdump())
    connection.close()
    assert any("token refused" in e for e in errors), errors
    assert any("dead.example.org" in e for e in errors), errors  # the unreachable forge was reported
    assert any("HTTP 502 from /github.com/api/v3/orgs/etalab" in e for e in errors)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("index.sqlite*"))
    exported = list((tmp_path / "export").rglob("*"))
    assert any(p.suffix == ".gz" for p in exported) and any(p.suffix == ".csv" for p in exported)
    texts = [p.read_bytes() if p.suffix != ".gz" else gzip.decompress(p.read_bytes()) for p in exported if p.is_file()]
    for secret in (*SECRETS, BAD_TOKEN):
        assert all(secret not in e for e in errors)
        assert secret not in dump and secret.encode() not in raw
        assert all(secret.encode() not in t for t in texts)


# --------------------------------------------------------------------------------------------------------------
# the header never travels to another host


def _github(front: Front, login: str, token: str | None, known: KnownState | None = None):
    target = Target("github.com", "github", front.api_url("github.com"), login, token)
    return GitHubAdapter(timeout=5).crawl(target, known or KnownState())


def test_github_refuses_links_redirects_and_urls_to_another_host():
    other = recorder()
    try:
        with SimForge(fixture_world()) as forge, Front(forge, hostile_to=other.url) as front:
            cold = _github(front, "bigorg", GH_TOKEN)  # GraphQL: url fields in bodies point at the other host
            assert cold.status is OutcomeStatus.OK
            now = dt.datetime.now(dt.UTC)
            known = KnownState({v.key: v for v in cold.validators},
                               {r.forge_id: KnownRepo(r.forge_id, r.full_name, r.pushed_at, r.updated_at, now)
                                for r in cold.repositories})
            warm = _github(front, "bigorg", GH_TOKEN, known)  # REST: Link rel="next" points at the other host
            renamed = _github(front, "disic", None)  # anonymous: 301 Location points at the other host
            anonymous = _github(front, "bigorg", None)  # anonymous listing: Link to the other host
    finally:
        other.close()
    for result in (warm, renamed, anonymous):
        assert result.status is OutcomeStatus.FAILED and not result.complete
        assert "not the forge's API host" in result.error
    assert other.seen == []  # refused, not merely stripped: the other host heard nothing at all


def test_gitlab_never_sends_its_token_to_another_host():
    other = recorder()
    try:
        with SimForge(fixture_world()) as forge, Front(forge, hostile_to=other.url) as front:
            target = Target("gitlab.example.org", "gitlab", front.api_url("gitlab.example.org"), "ministere",
                            GL_TOKEN)
            # REST listing: its Link rel="next" points at the other host (GraphQL pages carry no URL)
            result = GitLabAdapter(per_page=2, graphql="never").crawl(target, KnownState())
    finally:
        other.close()
    leaked = [path for path, headers in zip(other.paths, other.seen, strict=True) if headers.get("private-token") or headers.get("authorization")]
    assert leaked == []
    assert other.seen == []  # not even an anonymous request: the next page was refused
    assert result.status.value == "failed" and not result.complete and "not the forge's API host" in result.error
