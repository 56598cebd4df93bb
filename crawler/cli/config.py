"""`codeindex config check|show`: validate the accounts configuration before anything is crawled or written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from crawler.cli.common import DEFAULT_CONFIG, load_config_or_exit, stored_directory

if TYPE_CHECKING:
    from crawler.config import Config

_file_argument = click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
_ministries_option = click.option(
    "--ministries",
    "ministries_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="pso_id → ministry names (default: ministries.yml beside FILE, when there is one).",
)


def _config_path(ctx: click.Context, file: Path | None) -> Path:
    """FILE, else the main group's --config (CODEINDEX_CONFIG) when run under `codeindex`, else the default."""
    if file is not None:
        return file
    return getattr(ctx.find_root().obj, "config_path", None) or DEFAULT_CONFIG


def _load(ctx: click.Context, file: Path | None, ministries_path: Path | None) -> Config:
    """The configuration, its ministries resolved through the directory stored in the index (--db) if any, else
    through the excerpt shipped beside it."""
    db_url = getattr(ctx.find_root().obj, "db_url", None)
    directory = stored_directory(db_url) if db_url else None
    return load_config_or_exit(_config_path(ctx, file), ministries_path, directory)


@click.group("config")
def config_group() -> None:
    """Check and show the accounts configuration (code.gouv.fr's comptes-organismes-publics.yml format)."""


@config_group.command("check")
@_file_argument
@_ministries_option
@click.pass_context
def check(ctx: click.Context, file: Path | None, ministries_path: Path | None) -> None:
    """Validate FILE: list every problem with its line and exit 2, or print a summary and exit 0."""
    from crawler.config import format_summary, summarize

    config = _load(ctx, file, ministries_path)
    click.echo(format_summary(summarize(config)))


@config_group.command("show")
@_file_argument
@_ministries_option
@click.option("--json", "as_json", is_flag=True, help="One JSON array of accounts instead of a table.")
@click.pass_context
def show(ctx: click.Context, file: Path | None, ministries_path: Path | None, as_json: bool) -> None:
    """Print the resolved units of work: host, login (empty for a whole forge), pso_id, ministry, ignored."""
    import datetime as dt
    import json

    config = _load(ctx, file, ministries_path)
    today = dt.datetime.now(dt.UTC).date()
    rows = []
    for forge, owner in config.accounts():
        item = owner or forge
        rows.append(
            {
                "host": forge.host,
                "kind": forge.kind,
                "login": owner.login if owner else None,
                "name": owner.name if owner else None,
                "pso_id": item.pso_id,
                "ministry": item.ministry,
                "organisation": item.organisation,
                "ignored_since": item.ignored_since.isoformat() if item.ignored_since else None,
                "ignored": item.is_ignored(today),
                "api_url": forge.api_url,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    columns = ("host", "login", "pso_id", "ministry", "ignored")
    table = [[_cell(row[c], c) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) if table else len(c) for i, c in enumerate(columns)]
    for line in [list(columns), *table]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _cell(value: object, column: str) -> str:
    if column == "login" and value is None:
        return "(whole forge)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)
