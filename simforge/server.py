"""The simulated forge's HTTP server: one loopback port serving every simulated host.

Each forge host of the world lives under its own path prefix, laid out as a self-hosted instance would be:
`http://127.0.0.1:PORT/<host>/api/v3` (GitHub REST, GHES layout, GraphQL at `/<host>/api/graphql`),
`http://127.0.0.1:PORT/<host>/api/v4` (GitLab), `http://127.0.0.1:PORT/<host>/api/v1` (Gitea/Gogs).
The real clients are pointed there through the configuration's `api_url`, so PyGithub and python-gitlab run
unmodified. Paths are routed raw (undecoded) because GitLab ids carry `%2F`.

The per-kind front ends (`github.py`, `gitlab.py`, ...) are functions `handle(req: SimRequest) -> SimResponse`.
This module adds what is common: latency, fault injection, request accounting.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simforge import gitea
from simforge.exchange import Handler, HostState, SimRequest, SimResponse
from simforge.github import rest as github
from simforge.gitlab import rest as gitlab
from simforge.world import World

# General-purpose hosts: a configuration lists their accounts, never the whole instance (codeindex's NEVER_WHOLE).
LISTED_BY_ACCOUNT = frozenset({"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "git.sr.ht"})
API_PREFIX = {"github": "/api/v3", "gitlab": "/api/v4", "gitea": "/api/v1", "gogs": "/api/v1", "forgejo": "/api/v1"}


@dataclass
class Fault:
    """Make matching requests fail: `kind` is 500, 502, 503, 'reset', 'timeout', 'truncated', 'invalid_json',
    'secondary' (403 secondary rate limit), '429'. `rate` is a probability; `times` caps how often it fires."""

    kind: str
    rate: float = 1.0
    path_contains: str = ""
    host: str | None = None
    times: int | None = None




def _handlers() -> dict[str, Handler]:
    return {"github": github.handle, "gitlab": gitlab.handle, "gitea": gitea.handle, "gogs": gitea.handle,
            "forgejo": gitea.handle}


class SimForge:
    """A running simulated forge. Use as a context manager, or start()/stop().

    `latency_ms` delays every answer (the benchmark uses 50 ms); `faults` inject failures with a seeded RNG.
    `stats()` returns per-host counters, the figures the benchmark and the budget tests read.
    """

    def __init__(
        self,
        world: World,
        *,
        latency_ms: float = 0,
        faults: list[Fault] | None = None,
        seed: int = 0,
        port: int = 0,
        options: dict[str, Any] | None = None,
    ):
        self.world = world
        self.latency_ms = latency_ms
        self.faults = list(faults or [])
        self.options = dict(options or {})  # front-end knobs, e.g. {"github_rest_limit": 5000}
        self._fault_fired: Counter[int] = Counter()
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.states: dict[str, HostState] = defaultdict(HostState)
        self.handlers = _handlers()

    # lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> str:
        forge = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms per answer
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                forge._serve(self)

            do_POST = do_GET
            do_HEAD = do_GET

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self._port), RequestHandler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="simforge", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SimForge:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "SimForge not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api_url(self, host: str) -> str:
        """The `api_url` to put in the configuration for `host`."""
        kind = self.world.host(host).kind
        return f"{self.base_url}/{host}{API_PREFIX[kind]}"

    def stats(self) -> dict[str, dict[str, int]]:
        return {host: dict(state.counters) for host, state in sorted(self.states.items())}

    def reset_stats(self) -> None:
        for state in self.states.values():
            with state.lock:
                state.counters.clear()

    def config_yaml(self, owners: dict[str, list[str]] | None = None, token_env: str | None = None,
                    pso_ids: Mapping[tuple[str, str], str] | None = None) -> str:
        """A configuration in code.gouv.fr's format pointing every simulated host at this server.

        `owners` maps host → accounts to list; a host absent from it is listed without owners (crawled whole),
        except GitHub-kind hosts and general-purpose hosts such as gitlab.com, which list their top-level
        accounts (a group's subgroups come with it). `token_env` names the variable every forge reads its token
        from (the simulated forge accepts any token; GitHub's GraphQL API wants one). `pso_ids` maps (host, login
        lower-cased) of an account, or (host, "") of a forge, to the `pso_id` to write for it."""
        pso_ids = pso_ids or {}
        lines = ["# Generated by codeindex simforge: every forge's api_url points at the simulated forge."]
        for host in sorted(self.world.hosts):
            sim = self.world.hosts[host]
            lines.append(f"{host}:")
            lines.append(f"  forge: {sim.kind}")
            lines.append(f"  api_url: {self.api_url(host)}")
            if token_env:
                lines.append(f"  token_env: {token_env}")
            if (host, "") in pso_ids:
                lines.append(f"  pso_id: {pso_ids[(host, '')]}")
            listed = (owners or {}).get(host)
            if listed is None and (sim.kind == "github" or host in LISTED_BY_ACCOUNT):
                listed = sorted(a.path for a in sim.accounts.values() if a.parent_path is None)
            if listed:
                lines.append("  owners:")
                for login in listed:
                    lines.append(f"    {json.dumps(login)}:")
                    if (host, login.lower()) in pso_ids:
                        lines.append(f"      pso_id: {pso_ids[(host, login.lower())]}")
        return "\n".join(lines) + "\n"

    # serving ---------------------------------------------------------------------------------------------------
    def _pick_fault(self, host: str, path: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.host not in (None, host) or fault.path_contains not in path:
                continue
            if fault.times is not None and self._fault_fired[index] >= fault.times:
                continue
            with self._rng_lock:
                hit = self._rng.random() < fault.rate
                if hit:
                    self._fault_fired[index] += 1
            if hit:
                return fault
        return None

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        parts = urlsplit(http.path)
        segments = parts.path.split("/", 2)  # "", host, rest
        host = segments[1] if len(segments) > 1 else ""
        rest = "/" + segments[2] if len(segments) > 2 else "/"
        sim = self.world.hosts.get(host)
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if sim is None or sim.kind not in self.handlers:
            self._send(http, SimResponse(404, {"message": f"no simulated forge at /{host}"}))
            return
        state = self.states[host]
        fault = self._pick_fault(host, rest)
        if fault is not None:
            with state.lock:
                state.counters["requests"] += 1
                state.counters[f"fault_{fault.kind}"] += 1
            if self._inject(http, fault):
                return
        request = SimRequest(
            method=http.command,
            host=host,
            path=rest,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in http.headers.items()},
            body=body,
            base_url=f"{self.base_url}/{host}",
            world=self.world,
            state=state,
            options=self.options,
        )
        try:
            response = self.handlers[sim.kind](request)
        except Exception as exc:  # a bug in the simulator must show as a 500, not hang the client
            response = SimResponse(500, {"message": f"simforge error: {type(exc).__name__}: {exc}"})
        self._send(http, response)

    def _inject(self, http: BaseHTTPRequestHandler, fault: Fault) -> bool:
        """Send the fault's answer; return False when the fault is 'pass through after a stall'."""
        kind = fault.kind
        if kind == "reset":
            http.close_connection = True
            try:
                http.connection.shutdown(2)
            except OSError:
                pass
            return True
        if kind == "timeout":
            time.sleep(float(self.options.get("timeout_stall_s", 2.0)))
            http.close_connection = True
            try:
                http.connection.shutdown(2)
            except OSError:
                pass
            return True
        if kind == "truncated":
            payload = b'[{"id": 1, "name": "trunc'
            http.send_response(200)
            http.send_header("Content-Type", "application/json")
            http.send_header("Content-Length", str(len(payload) + 100))
            http.end_headers()
            http.wfile.write(payload)
            http.close_connection = True
            return True
        if kind == "invalid_json":
            self._send(http, SimResponse(200, b"<html>Bad gateway</html>", {"Content-Type": "application/json"}))
            return True
        if kind == "secondary":
            body = {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            }
            self._send(http, SimResponse(403, body, {"Retry-After": "1"}))
            return True
        if kind == "429":
            self._send(http, SimResponse(429, b"Retry later\n", {"Retry-After": "1", "Content-Type": "text/plain"}))
            return True
        status = int(kind)
        self._send(http, SimResponse(status, {"message": "Server Error"}))
        return True

    def _send(self, http: BaseHTTPRequestHandler, response: SimResponse) -> None:
        payload = response.encode()
        try:
            http.send_response(response.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
            for name, value in headers.items():
                http.send_header(name, value)
            http.send_header("Content-Length", str(len(payload)))
            http.end_headers()
            if http.command != "HEAD" and response.status not in (204, 304):
                http.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
