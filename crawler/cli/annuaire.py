"""`codeindex annuaire update`: load DILA's official directory into the index, so that every pso_id finds its
ministry (../shared/docs/annuaire.md describes the file and the walking rule)."""

from __future__ import annotations

import click

from crawler.cli.common import Context, fail, load_config_or_warn, open_index_or_exit, pass_ctx


@click.group("annuaire")
def annuaire_group() -> None:
    """The official directory (DILA's annuaire): which ministry each account's pso_id belongs to."""


@annuaire_group.command("update")
@click.option("--from", "source", metavar="PATH_OR_URL", default=None,
              help="The ROAE zip of JSON, a file or an http(s) URL (default: DILA's official download address).")
@click.option("--force", is_flag=True, help="Load it even when it holds fewer than half the bodies already stored.")
@pass_ctx
def update_command(ctx: Context, source: str | None, force: bool) -> None:
    """Load the directory into the index, replacing the stored one whole, and re-resolve the accounts' ministries.

    A bad file (not a zip, truncated, not JSON, duplicate ids, a cycle, many links to missing ids) changes nothing
    and exits 2; a few bad links are reported and skipped.
    """
    from crawler.annuaire import DEFAULT_URL, AnnuaireError, update_directory

    config, warning = load_config_or_warn(ctx.config_path)
    if warning:
        click.echo(f"codeindex: warning: configuration {ctx.config_path} not usable: the accounts' ministries "
                   "will be re-resolved at the next crawl", err=True)
    engine = open_index_or_exit(ctx.db_url)
    try:
        report = update_directory(engine, source or DEFAULT_URL, config=config, force=force)
    except AnnuaireError as exc:
        fail(f"{exc}; the directory already stored is kept")
    click.echo(report.summary())
