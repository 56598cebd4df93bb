"""Helpers shared by the tests: import them (`from tests.support import FakeClock`); fixtures live in conftest.py.

- `FakeClock`: the injectable clock (`now()`, `sleep()`, `time()`) that records sleeps instead of sleeping.
- `LoopbackServer`, `QuietHandler`, `Scripted`: a tiny HTTP server on 127.0.0.1 standing in for a forge.
- `Gate`: holds a running SimForge's answers, so a test acts at a known point of a crawl instead of after a guess.
- `wait_until`: poll an observable condition with a generous timeout (never a bare sleep).
- `forge_fixture`, `write_config`, `by_name`, `repositories_by`: small builders several test files need.
- `SHARED`: the read-only data folder, ../shared next to the repository.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"  # recorded forge data and the upstream lists: ../shared, never a machine path


def shared_file(*parts: str) -> Path:
    """A file under ../shared; fails (not skips) when it is missing, so a CI without the data notices."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"test data missing: {path} (the shared data folder is ../shared next to the repository)")
    return path


# --------------------------------------------------------------------------------------------------------------
# time


class FakeClock:
    """`now()`/`sleep()` for the adapters and `time()` for the simulator's throttle: sleeping records the wait and
    moves time, nothing really waits. Starts at `now`, or at the real current time (the simulated forge's rate-limit
    resets are real epochs)."""

    def __init__(self, now: dt.datetime | None = None):
        self.current = now if now is not None else dt.datetime.now(dt.UTC)
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += dt.timedelta(seconds=seconds)

    def time(self) -> float:
        return self.current.timestamp()


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll `predicate` until it is true (→ True) or `timeout` seconds pass (→ False): use as `assert wait_until(…)`."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --------------------------------------------------------------------------------------------------------------
# loopback HTTP


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that does not print every request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) serving `handler` from a daemon thread. `url` is its base;
    use as a context manager or call close()."""

    def __init__(self, handler: Callable[..., BaseHTTPRequestHandler]):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Scripted(LoopbackServer):
    """A loopback server answering GET and POST from a script of (status, headers, body), then `default` once the
    script is spent; it records each request's path (`paths`) and lower-cased headers (`seen`)."""

    def __init__(self, script: list[tuple[int, dict[str, str], bytes]],
                 default: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")):
        self.script = list(script)
        self.default = default
        self.seen: list[dict[str, str]] = []
        self.paths: list[str] = []
        outer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                outer.paths.append(self.path)
                outer.seen.append({k.lower(): v for k, v in self.headers.items()})
                status, headers, body = outer.script.pop(0) if outer.script else outer.default
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        super().__init__(Handler)


# --------------------------------------------------------------------------------------------------------------
# the simulated forge


def forge_fixture(now: dt.datetime, *, scope: str = "function", **options: Any) -> Any:
    """A fixture serving `fixture_world(now=now)` on loopback (`options`: the SimForge's front-end knobs).
    In a test module: `forge = forge_fixture(NOW)` (the fixture takes the name it is assigned to)."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def forge() -> Iterator[Any]:
        from simforge.seed import fixture_world
        from simforge.server import SimForge

        with SimForge(fixture_world(now=now), options=options) as running:
            yield running

    return forge


class Gate:
    """Wraps a running SimForge's request handling: counts the requests in flight (`in_flight`, `peak`) and holds
    those whose path (query included) satisfies `hold` until the gate opens: on `open()`, as soon as `until(gate)`
    is true, or after `timeout` seconds (then `timed_out` is set and the gate stays open). `arrived` is set when
    the first held request comes in. So a test knows a crawl is at a given point, instead of guessing a delay."""

    def __init__(self, forge: Any, hold: Callable[[str], bool] = lambda path: True,
                 until: Callable[[Gate], bool] = lambda gate: False, timeout: float = 60.0):
        self.arrived = threading.Event()
        self.in_flight = 0
        self.peak = 0
        self.timed_out = False
        self._open = False
        self._changed = threading.Condition()
        serve = forge._serve

        def gated(http: BaseHTTPRequestHandler) -> None:
            with self._changed:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                self._changed.notify_all()
                if hold(http.path):
                    self.arrived.set()
                    if not self._changed.wait_for(lambda: self._open or until(self), timeout):
                        self.timed_out = self._open = True
                        self._changed.notify_all()
            try:
                serve(http)
            finally:
                with self._changed:
                    self.in_flight -= 1
                    self._changed.notify_all()

        forge._serve = gated

    def open(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()


# --------------------------------------------------------------------------------------------------------------
# configuration, results, the index


def write_config(tmp_path: Path, lines: list[str]) -> Path:
    """Write the configuration `lines` to tmp_path/organisations.yml."""
    path = tmp_path / "organisations.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def by_name(result: Any) -> dict[str, Any]:
    """An adapter's AccountCrawl: its repositories by name."""
    return {r.name: r for r in result.repositories}


def repositories_by(engine: Any, key: str = "full_name") -> dict[Any, Any]:
    """Every Repository row of the index, by the attribute `key`."""
    from sqlalchemy import select

    from index.db import transaction
    from index.models import Repository

    with transaction(engine) as session:
        return {getattr(r, key): r for r in session.scalars(select(Repository))}
