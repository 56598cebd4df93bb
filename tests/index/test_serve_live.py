"""The in-memory listing behind `codeindex serve` follows the index (SQLite and PostgreSQL): a write shows once the
Snapshot is rebuilt, not before its interval; a new UTC day applies that day's publication rules; a rebuild that
fails keeps the previous listing; a cursor that outlives a rebuild resumes where it was."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from contextlib import contextmanager

from sqlalchemy import select, update

from index.db import transaction
from index.models import Account, Forge, Repository
from index.serve import listing as live_listing
from index.serve.app import create_app, open_read_only
from index.serve.listing import LiveListing
from tests.index.test_export import NOW, build_index

warnings.filterwarnings("ignore", message=".*httpx.*")
from starlette.testclient import TestClient  # noqa: E402  (its deprecation notice about httpx is not ours)


@contextmanager
def _served(engine, now=lambda: NOW, **intervals):
    """A server reading `engine`'s index, its listing rebuilt at these intervals (LiveListing's): (client, live).
    The app's shutdown closes the listing."""
    reader = open_read_only(engine.url.render_as_string(hide_password=False))
    live = LiveListing(reader, **intervals)
    try:
        with TestClient(create_app(reader, None, now=now, live=live)) as client:
            yield client, live
    finally:
        reader.dispose()


def _total(client, **params) -> int:
    return int(client.get("/api/v1/repositories", params=params).json()["total"])


def _eventually(read, expected, seconds=10.0):
    """Ask until `read()` gives `expected` (the rebuild runs in the background), or fail with what it gave."""
    deadline = time.monotonic() + seconds
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert value == expected


def _gone(engine, html_url: str) -> None:
    with transaction(engine) as session:
        session.execute(update(Repository).where(Repository.html_url == html_url).values(gone_at=NOW))


def test_a_write_shows_once_the_listing_is_rebuilt(engine):
    build_index(engine)
    with _served(engine, check_seconds=0, rebuild_seconds=0) as (client, live):
        first = client.get("/api/v1/repositories", params={"limit": 100}).json()
        _gone(engine, first["items"][0]["url"])
        _eventually(lambda: _total(client), first["total"] - 1)
        urls = [i["url"] for i in client.get("/api/v1/repositories", params={"limit": 100}).json()["items"]]
        assert first["items"][0]["url"] not in urls and len(urls) == first["total"] - 1


def test_a_write_waits_for_the_rebuild_interval(engine):
    build_index(engine)
    with _served(engine, check_seconds=0, rebuild_seconds=3600) as (client, live):
        first = client.get("/api/v1/repositories").json()
        _gone(engine, first["items"][0]["url"])
        for _ in range(5):
            assert _total(client) == first["total"]  # as the API's max-age allows, and no rebuild per commit
        live.refresh(NOW)
        assert _total(client) == first["total"] - 1


def test_a_new_day_applies_that_day_s_publication_rules(engine):
    build_index(engine)
    with transaction(engine) as session:
        etalab = session.execute(select(Account.id).join(Forge, Forge.id == Account.forge_id).where(
            Forge.host == "github.com", Account.login_key == "etalab")).scalar_one()
        session.execute(update(Account).where(Account.id == etalab)
                        .values(ignored_since=NOW.date() + dt.timedelta(days=1)))
    clock = [NOW]
    # only the day can move the listing
    with _served(engine, now=lambda: clock[0], check_seconds=3600, rebuild_seconds=3600) as (client, live):
        listed = _total(client, account="github.com/etalab")
        assert listed > 0
        clock[0] = NOW + dt.timedelta(days=1)  # etalab's first day out of the listing
        _eventually(lambda: _total(client, account="github.com/etalab"), 0)
        assert _total(client) > 0


def test_a_failed_rebuild_keeps_the_previous_listing(engine, monkeypatch, caplog):
    build_index(engine)
    with _served(engine, check_seconds=0, rebuild_seconds=0) as (client, live):
        first = client.get("/api/v1/repositories").json()

        def broken(*args, **kwargs):
            raise OSError("disk gone")

        monkeypatch.setattr(live_listing, "build", broken)
        _gone(engine, first["items"][0]["url"])
        deadline = time.monotonic() + 10
        while "could not be rebuilt" not in caplog.text and time.monotonic() < deadline:
            assert _total(client) == first["total"]
            time.sleep(0.05)
        assert "could not be rebuilt" in caplog.text and "disk gone" in caplog.text
        assert _total(client) == first["total"]


def test_a_cursor_outlives_a_rebuild(engine):
    """The second page, asked after the first page's last repository left the listing, starts after it."""
    build_index(engine)
    with _served(engine, check_seconds=3600, rebuild_seconds=3600) as (client, live):
        for sort in ("stars", "name", "activity", "score"):
            every = [i["url"] for i in client.get("/api/v1/repositories",
                                                  params={"sort": sort, "limit": 100}).json()["items"]]
            first = client.get("/api/v1/repositories", params={"sort": sort, "limit": 2}).json()
            _gone(engine, first["items"][-1]["url"])
            live.refresh(NOW)
            second = client.get("/api/v1/repositories",
                                params={"sort": sort, "limit": 2, "cursor": first["next_cursor"]}).json()
            assert [i["url"] for i in second["items"]] == every[2:4]
            with transaction(engine) as session:  # back for the next sort
                session.execute(update(Repository).where(Repository.html_url == first["items"][-1]["url"])
                                .values(gone_at=None))
            live.refresh(NOW)


def test_ties_page_by_id_in_the_sort_s_direction(engine):
    """Every repository with the same stars, score and activity: pages of one still list each once, ties by id."""
    build_index(engine)
    with transaction(engine) as session:
        session.execute(update(Repository).values(stars=7, score=3, pushed_at=NOW, updated_at=NOW))
    with _served(engine) as (client, _):
        for sort in ("stars", "score", "activity"):
            page = client.get("/api/v1/repositories", params={"sort": sort, "limit": 1}).json()
            urls = [i["url"] for i in page["items"]]
            while page["next_cursor"]:
                page = client.get("/api/v1/repositories",
                                  params={"sort": sort, "limit": 1, "cursor": page["next_cursor"]}).json()
                urls += [i["url"] for i in page["items"]]
            assert len(urls) == len(set(urls)) == _total(client)
            with engine.connect() as connection:
                ids = dict(connection.execute(select(Repository.html_url, Repository.id)).all())
            assert [ids[u] for u in urls] == sorted((ids[u] for u in urls), reverse=True), sort


def test_the_search_follows_a_changed_description(engine):
    """The full-text documents (SQLite's FTS5 table, PostgreSQL's repository_search) are kept by triggers."""
    build_index(engine)
    with _served(engine, check_seconds=3600, rebuild_seconds=3600) as (client, live):
        url = client.get("/api/v1/repositories").json()["items"][0]["url"]
        assert _total(client, q="zanzibar") == 0
        with transaction(engine) as session:
            session.execute(update(Repository).where(Repository.html_url == url)
                            .values(description="Tide tables of Zanzibar"))
        found = client.get("/api/v1/repositories", params={"q": "zanzibar tide"}).json()
        assert [i["url"] for i in found["items"]] == [url] and found["total"] == 1
        with transaction(engine) as session:
            session.execute(update(Repository).where(Repository.html_url == url).values(description="autre"))
        assert _total(client, q="zanzibar") == 0


def test_a_failing_rebuild_is_not_retried_at_every_request(engine, monkeypatch):
    build_index(engine)
    clock = [NOW]
    with _served(engine, now=lambda: clock[0], check_seconds=3600, rebuild_seconds=3600) as (client, live):
        calls = []

        def broken(*args, **kwargs):
            calls.append(1)
            raise OSError("disk gone")

        monkeypatch.setattr(live_listing, "build", broken)
        clock[0] = NOW + dt.timedelta(days=1)  # every request now asks for the new day's listing
        for _ in range(20):
            assert client.get("/api/v1/repositories").status_code == 200
            time.sleep(0.01)
        assert len(calls) == 1  # one attempt, then a pause of a second at least
