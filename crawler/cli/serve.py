"""`codeindex serve`: the index and its export over HTTP, read-only (index.serve does the work)."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.common import fail


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--export", "export_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("export"),
              show_default=True, help="Export folder served under /data/ (code.gouv.fr's files at its paths).")
@click.option("--cors-origin", "cors_origins", multiple=True, default=("*",), show_default=True,
              help="Origin allowed to call the API and read /data/ from a browser (repeat for several).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (uvicorn workers).")
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int, export_dir: Path, cors_origins: tuple[str, ...],
                  workers: int) -> None:
    """Serve the search page (/), the JSON API (/api/v1/, described at /api/v1/openapi.json) and the exported
    files (/data/). Never writes: the index must be at this codeindex's schema (any crawl, or `codeindex db
    upgrade`, brings it there). See docs/serve.md."""
    import uvicorn

    from index.db import IndexDatabaseError
    from index.serve.app import open_read_only

    db_url = ctx.obj.db_url
    try:
        open_read_only(db_url).dispose()  # fail now, with one line, rather than on the first request
    except IndexDatabaseError as exc:
        fail(str(exc))
    if not export_dir.is_dir():
        click.echo(f"codeindex: warning: no export folder at {export_dir}: /data/ will answer 404", err=True)
    import os

    os.environ["CODEINDEX_SERVE_DB"] = db_url
    os.environ["CODEINDEX_SERVE_EXPORT"] = str(export_dir.resolve())
    os.environ["CODEINDEX_SERVE_CORS"] = "\n".join(cors_origins)
    click.echo(f"serving {export_dir}/ and the index on http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run("index.serve.main:app", host=host, port=port, workers=workers, factory=True, log_level="warning",
                access_log=False)
