"""The `codeindex` command line: each command parses, calls a library function, prints.

Heavy imports live inside the commands so that `--help` is instant.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_CONFIG = Path("config/organisations.yml")
DEFAULT_DB = "sqlite:///codeindex.sqlite"


class Context:
    def __init__(self, db_url: str, config_path: Path, log_format: str, verbose: int):
        self.db_url = db_url
        self.config_path = config_path
        self.log_format = log_format
        self.verbose = verbose


pass_ctx = click.make_pass_decorator(Context)


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


def fail(message: str, code: int = 2) -> None:
    """Print one clear line on stderr and exit with `code` (2: the user must fix something)."""
    click.echo(f"codeindex: error: {message}", err=True)
    sys.exit(code)
