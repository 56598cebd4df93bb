"""The application as uvicorn loads it in each worker (`index.serve.main:app`, a factory), configured by the
environment `codeindex serve` sets: CODEINDEX_SERVE_DB, CODEINDEX_SERVE_EXPORT, CODEINDEX_SERVE_CORS."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette

from index.serve.app import create_app, open_read_only


def app() -> Starlette:
    export = os.environ.get("CODEINDEX_SERVE_EXPORT")
    origins = [o for o in os.environ.get("CODEINDEX_SERVE_CORS", "*").split("\n") if o]
    return create_app(open_read_only(os.environ["CODEINDEX_SERVE_DB"]), Path(export) if export else None,
                      cors_origins=origins)
