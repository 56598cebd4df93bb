"""`codeindex db upgrade`: create the index or bring its schema to the latest migration."""

from __future__ import annotations

import click

from crawler.cli.common import Context, open_index_or_exit, pass_ctx


@click.group("db")
def db_group() -> None:
    """Manage the index database (migrations are also applied automatically by every command)."""


@db_group.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Create the index or apply pending schema migrations."""
    from index.db import current_revision

    engine = open_index_or_exit(ctx.db_url)
    click.echo(f"index schema at revision {current_revision(engine)} (latest)")
