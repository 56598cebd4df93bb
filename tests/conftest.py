"""Shared test fixtures: a network guard for every test, and a running simulated forge."""

from __future__ import annotations

import ipaddress
import socket

import pytest


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
    elif isinstance(address, str):  # AF_UNIX path
        return True
    else:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection to a non-loopback address: tests are hermetic."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(address: object) -> None:
        if not _is_loopback(address):
            raise RuntimeError(f"network access outside loopback attempted in a test: {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture
def simforge():
    """A SimForge serving `fixture_world()` on loopback for the duration of the test."""
    from simforge.seed import fixture_world
    from simforge.server import SimForge

    with SimForge(fixture_world()) as forge:
        yield forge


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory):
    """`codeindex demo` once per session (the 2021 seed data crawled from the simulated forge into SQLite, then
    exported): (index URL, export folder). For the tests that need the demo's real size and shapes."""
    from crawler.demo import run_demo
    from index.db import open_index

    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'index.sqlite'}"
    engine = open_index(url)
    try:
        run_demo(engine, folder / "export", echo=lambda _line: None)
    finally:
        engine.dispose()
    return url, folder / "export"
