"""The ASGI application of `codeindex serve` (Starlette): /data/ files, /api/v1/, the search page at /.

Read-only: only GET and HEAD are routed; SQLite connections are opened with `PRAGMA query_only`, PostgreSQL
transactions read-only; the index must already be at the code's schema revision (the server never migrates).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, event
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from index.db import IndexDatabaseError, current_revision, head_revision, open_index
from index.serve import query
from index.serve.files import file_response, locate
from index.serve.listing import LiveListing
from index.serve.openapi import openapi
from index.serve.page import render_page
from index.serve.params import MAX_TEXT, BadParameter, filters, listing

API_CACHE = "public, max-age=60"
# Threads of a server process that read the index at once. On SQLite, one: a request's reading is CPU work in this
# process, and more threads only queue behind Python's GIL, which each SQLite step lets go and takes back (x10, 8
# clients, one process: 300 requests/s with 1 thread, 260 with 4, 230 with 8). On PostgreSQL, two: a thread
# waits for the database's own process, and a second one overlaps that wait (p95 56 ms with 1, 48 with 2, 51 with
# 4): docs/benchmarks.md. Parallelism comes from server processes (--workers); requests wait their turn in the
# event loop; /data/ files are not held by it.
READ_THREADS = {"sqlite": 1, "postgresql": 2}
METHODS = ["GET", "HEAD"]


def open_read_only(url: str) -> Engine:
    """The index, as the server reads it: never migrated or written. IndexDatabaseError when it cannot be used."""
    engine = open_index(url, migrate=False)
    current, head = current_revision(engine), head_revision()
    if current != head:
        engine.dispose()
        raise IndexDatabaseError(f"the index is at schema revision {current}, this codeindex reads {head}: "
                                 "run `codeindex db upgrade` (or any crawl) first")
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _query_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only = ON")
            cursor.close()

        engine.pool.dispose()  # connections opened before the listener
    else:
        engine = engine.execution_options(postgresql_readonly=True)
    return engine


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(engine: Engine, export_dir: Path | None, *, cors_origins: Sequence[str] = ("*",),
               now: Callable[[], dt.datetime] = _now, live: LiveListing | None = None) -> Starlette:
    """`live`: how the in-memory listing follows the index (by default: checked every second, rebuilt at
    most every 30 s)."""
    export_root = Path(export_dir).resolve() if export_dir is not None else None
    live = live or LiveListing(engine)

    def read_now(fn: Callable[[Connection], Any]) -> Any:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN")  # one snapshot for the page and its counts
            try:
                return fn(connection)
            finally:
                connection.rollback()

    limiter: list[anyio.CapacityLimiter] = []  # made in the event loop, at the first read

    async def read(fn: Callable[[Connection], Any]) -> Any:
        """fn on a connection, in one of READ_THREADS threads."""
        if not limiter:
            limiter.append(anyio.CapacityLimiter(READ_THREADS[engine.dialect.name]))
        return await anyio.to_thread.run_sync(read_now, fn, limiter=limiter[0])

    def api_json(data: Any, status: int = 200) -> Response:
        return JSONResponse(data, status_code=status, headers={"cache-control": API_CACHE})

    async def repositories(request: Request) -> Response:
        chosen = listing(_single(request))
        moment = now()
        return api_json(await read(lambda c: query.repositories(c, live.current(moment), chosen, moment)))

    async def repository(request: Request) -> Response:
        params = _single(request)
        _only(params, {"url"})
        url = params.get("url", "")
        if not url.lower().startswith(("https://", "http://")) or len(url) > 1000:
            raise BadParameter("url", "a repository's web address, https://...")
        found = await read(lambda c: query.repository(c, url, now()))
        if found is None:
            return api_json({"error": "no published repository at this address"}, 404)
        return api_json(found)

    async def accounts(request: Request) -> Response:
        params = _single(request)
        _only(params, {"ministry", "forge", "account"})
        chosen = filters(params)
        return api_json({"accounts": await read(lambda c: query.accounts(c, chosen, now()))})

    async def ministries(request: Request) -> Response:
        _only(_single(request), set())
        return api_json({"ministries": await read(lambda c: query.ministries(c, now()))})

    def openapi_document(request: Request) -> Response:
        return api_json(openapi())

    async def page(request: Request) -> Response:
        params = _single(request)
        try:
            chosen = listing(params)
            error = None
        except BadParameter as exc:
            chosen, error = listing({}), str(exc)
        moment = now()
        data = await read(lambda c: query.repositories(c, live.current(moment), chosen, moment))
        status = 400 if error else 200
        return HTMLResponse(render_page(data, chosen, error), status_code=status,
                            headers={"cache-control": "no-cache"})

    def data_file(request: Request) -> Response:
        if export_root is None:
            raise HTTPException(404, "no export folder given (codeindex serve --export DIR)")
        found = locate(export_root, request.path_params["path"])
        if found is None:
            raise HTTPException(404, "no such file in the export")
        return file_response(request, found)

    async def bad_parameter(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadParameter)
        return JSONResponse({"error": str(exc), "parameter": exc.name}, status_code=400)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    routes = [
        Route("/", page, methods=METHODS),
        Route("/api/v1/repositories", repositories, methods=METHODS),
        Route("/api/v1/repository", repository, methods=METHODS),
        Route("/api/v1/accounts", accounts, methods=METHODS),
        Route("/api/v1/ministries", ministries, methods=METHODS),
        Route("/api/v1/openapi.json", openapi_document, methods=METHODS),
        Route("/data/{path:path}", data_file, methods=METHODS),
    ]
    middleware = [
        Middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=METHODS, max_age=3600,
                   expose_headers=["ETag", "Last-Modified"]),
        Middleware(GZipMiddleware, minimum_size=1000),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(live.current, now())  # the listing in memory before the first request
        yield
        live.close()

    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers={BadParameter: bad_parameter, HTTPException: http_error})


def _single(request: Request) -> dict[str, str]:
    """Query parameters, each given once (a repeated one is refused, not silently picked)."""
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if len(key) > MAX_TEXT:
            raise BadParameter(key[:50], "unknown parameter")
        if key in params:
            raise BadParameter(key, "given more than once")
        params[key] = value
    return params


def _only(params: dict[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadParameter(unknown[0][:50], "unknown parameter")
