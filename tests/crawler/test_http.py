"""The shared HTTP policy, against real loopback servers and a fake clock (no real waiting)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from crawler.forges.base import RateLimitExhausted
from crawler.forges.http import ClientCache, ForeignURL, ForgeHttp, TransientError
from simforge.server import Fault, SimForge
from simforge.world import SimAccount, World
from tests.support import FakeClock, Scripted

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # the HTTP-date Retry-After below is 5 s later


@pytest.fixture
def world():
    w = World()
    w.add_host("github.com", "github").add_account(SimAccount(1, "etalab", "org"))
    return w


def test_retries_502_then_succeeds_with_backoff(world):
    clock = FakeClock(START)
    with SimForge(world, faults=[Fault("502", times=2)]) as forge:
        http = ForgeHttp(forge.api_url("github.com"), "tok", clock=clock, backoff=1.0)
        response = http.request("GET", "orgs/etalab")
    assert response.status_code == 200 and response.json()["login"] == "etalab"
    assert len(clock.sleeps) == 2
    assert 1.0 <= clock.sleeps[0] <= 1.5 and 2.0 <= clock.sleeps[1] <= 3.0  # exponential with jitter
    assert http.cost.requests == 3


@pytest.mark.parametrize("kind", ["reset", "invalid_json", "truncated"])
def test_transient_transport_failures_are_retried(world, kind):
    clock = FakeClock(START)
    with SimForge(world, faults=[Fault(kind, times=1)]) as forge:
        http = ForgeHttp(forge.api_url("github.com"), "tok", clock=clock)
        response = http.request("GET", "orgs/etalab")
    assert response.status_code == 200
    assert len(clock.sleeps) == 1


def test_gives_up_after_max_retries(world):
    clock = FakeClock(START)
    with SimForge(world, faults=[Fault("reset")]) as forge:
        http = ForgeHttp(forge.api_url("github.com"), "secret-token", clock=clock, max_retries=2)
        with pytest.raises(TransientError) as info:
            http.request("GET", "orgs/etalab")
    assert "secret-token" not in str(info.value)
    assert len(clock.sleeps) == 2


def test_retry_after_is_honoured_on_secondary_limit(world):
    clock = FakeClock(START)
    with SimForge(world, faults=[Fault("secondary", times=1), Fault("429", times=1)]) as forge:
        http = ForgeHttp(forge.api_url("github.com"), "tok", clock=clock)
        response = http.request("GET", "orgs/etalab")
    assert response.status_code == 200
    assert clock.sleeps == [1.0, 1.0]


def test_primary_limit_waits_for_reset_or_gives_up():
    clock = FakeClock(START)
    reset = int(clock.time()) + 30
    limited = (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
               json.dumps({"message": "API rate limit exceeded for user ID 1."}).encode())
    server = Scripted([limited, (200, {}, b'{"ok": true}')])
    try:
        http = ForgeHttp(server.url + "/api/v3", "tok", clock=clock, max_wait=60)
        assert http.request("GET", "x").json() == {"ok": True}
        assert clock.sleeps == [31.0]
        server.script = [(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset + 3600)},
                          limited[2])]
        with pytest.raises(RateLimitExhausted):
            http.request("GET", "x")
    finally:
        server.close()


def test_gitlab_ratelimit_headers_and_http_date_retry_after():
    clock = FakeClock(START)
    when = "Thu, 01 Jan 2026 00:00:05 GMT"
    server = Scripted([(429, {"Retry-After": when, "RateLimit-Remaining": "0"}, b"Retry later\n"), (200, {}, b"[]")])
    try:
        http = ForgeHttp(server.url + "/api/v4", "tok", auth_scheme="private-token", clock=clock)
        assert http.request("GET", "projects").status_code == 200
        assert clock.sleeps == [5.0]
        assert server.seen[0]["private-token"] == "tok"
    finally:
        server.close()


def test_token_never_sent_to_another_host():
    other = Scripted([(200, {}, b"{}")])
    forge = Scripted([(302, {"Location": other.url.replace("127.0.0.1", "localhost") + "/steal"}, b"")])
    try:
        http = ForgeHttp(forge.url + "/api/v3", "tok", clock=FakeClock(START))
        with pytest.raises(ForeignURL):
            http.request("GET", "orgs/x")
        with pytest.raises(ForeignURL):
            http.follow(other.url + "/api/v3/orgs/x/repos?page=2")  # same hostname, other port
        with pytest.raises(ForeignURL):
            http.request("GET", "https://evil.example/api")
        assert forge.seen[0]["authorization"] == "token tok"
        assert other.seen == []
    finally:
        forge.close()
        other.close()


def test_same_origin_redirect_is_followed_with_credentials():
    forge = Scripted([])
    forge.script = [(301, {"Location": forge.url + "/api/v3/organizations/1"}, b""), (200, {}, b'{"login": "new"}')]
    try:
        http = ForgeHttp(forge.url + "/api/v3", "tok", clock=FakeClock(START))
        assert http.request("GET", "orgs/old").json() == {"login": "new"}
        assert [s.get("authorization") for s in forge.seen] == ["token tok", "token tok"]
        assert http.cost.requests == 2
    finally:
        forge.close()


def test_authenticated_304_is_free_anonymous_is_not():
    forge = Scripted([(304, {"x-ratelimit-resource": "core"}, b""), (304, {"x-ratelimit-resource": "core"}, b"")])
    try:
        auth = ForgeHttp(forge.url + "/api/v3", "tok", clock=FakeClock(START))
        auth.request("GET", "a", headers={"If-None-Match": 'W/"x"'})
        anon = ForgeHttp(forge.url + "/api/v3", None, clock=FakeClock(START))
        anon.request("GET", "a", headers={"If-None-Match": 'W/"x"'})
        assert (auth.cost.not_modified, auth.cost.rest_points) == (1, 0)
        assert (anon.cost.not_modified, anon.cost.rest_points) == (1, 1)
        assert "authorization" not in forge.seen[1]
    finally:
        forge.close()


def test_a_client_kept_across_accounts_carries_no_credentials_nor_cookies_from_one_to_the_next():
    forge = Scripted([(200, {"Set-Cookie": "session=abc; Path=/"}, b"{}"), (200, {}, b"{}")])
    api = forge.url + "/api/v3"
    clients = ClientCache()
    try:
        first = ForgeHttp(api, "tok", clock=FakeClock(START), client=clients.get(api, 5.0))
        first.request("GET", "orgs/a")
        first.close()  # a lent client stays open for the next account
        second = ForgeHttp(api, None, clock=FakeClock(START), client=clients.get(api, 5.0))
        assert second._client is first._client and not second._client.is_closed
        second.request("GET", "orgs/b")
        assert forge.seen[0]["authorization"] == "token tok"
        assert "authorization" not in forge.seen[1] and "cookie" not in forge.seen[1]
    finally:
        clients.close()
        forge.close()
    assert first._client.is_closed
