"""The `codeindex` command line: each command parses, calls a library function, prints.

One module per command group (`crawl`, `config`, `export`, `status`, `schedule`, `worker`, `demo`, `db`,
`annuaire`), and `common` for what they share. Heavy imports live inside the commands so that `--help` is
instant.
"""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.annuaire import annuaire_group
from crawler.cli.common import DEFAULT_CONFIG, DEFAULT_DB, Context
from crawler.cli.config import config_group
from crawler.cli.crawl import crawl_command, runs_command
from crawler.cli.db import db_group
from crawler.cli.demo import demo_command, simforge_command
from crawler.cli.export import export_command
from crawler.cli.schedule import schedule_command
from crawler.cli.status import check_command, status_command
from crawler.cli.worker import worker_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--db",
    "db_url",
    envvar="CODEINDEX_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="Index database URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (env CODEINDEX_DB).",
)
@click.option(
    "--config",
    "config_path",
    envvar="CODEINDEX_CONFIG",
    type=click.Path(path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    help="Accounts configuration, in code.gouv.fr's comptes-organismes-publics.yml format (env CODEINDEX_CONFIG).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Logs on stderr: readable text, or JSON lines for log collectors.",
)
@click.option("-v", "--verbose", count=True, help="More log detail (-vv for HTTP requests).")
@click.version_option(package_name="codeindex")
@click.pass_context
def main(ctx: click.Context, db_url: str, config_path: Path, log_format: str, verbose: int) -> None:
    """codeindex: crawl public-sector accounts on GitHub and GitLab forges into a SQL index and export JSON.

    \b
    First steps:
      codeindex demo              offline demo on a simulated forge seeded with real data
      codeindex config check      validate config/organisations.yml
      codeindex crawl             crawl the configured accounts into the index
      codeindex export --out DIR  write the JSON files the frontend reads
    """
    from crawler.logs import setup_logging

    setup_logging(log_format, verbose)
    ctx.obj = Context(db_url, config_path, log_format, verbose)


for _command in (db_group, crawl_command, runs_command, simforge_command, demo_command, schedule_command,
                 config_group, export_command, status_command, check_command, annuaire_group, worker_command):
    main.add_command(_command)
