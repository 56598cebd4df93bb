"""The `codeindex` command line: each command parses, calls a library function, prints.

One module per command group (`crawl`, `config`, `export`, `status`, `schedule`, `worker`, `demo`, `db`,
`annuaire`, `serve`), and `common` for what they share. Heavy imports live inside the commands so that `--help` is
instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crawler.cli.annuaire import annuaire_group
from crawler.cli.common import DEFAULT_CONFIG, DEFAULT_DB, Context, add_global_options
from crawler.cli.config import config_group
from crawler.cli.crawl import crawl_command, runs_command
from crawler.cli.db import db_group
from crawler.cli.demo import demo_command, simforge_command
from crawler.cli.export import export_command
from crawler.cli.schedule import schedule_command
from crawler.cli.serve import serve_command
from crawler.cli.status import check_command, status_command
from crawler.cli.worker import worker_command


def _json_asked(args: list[str]) -> bool:
    """Whether the command line (or the environment) asks for JSON logs, read before click parses it."""
    import os

    for i, arg in enumerate(args):
        if arg == "--log-format=json" or (arg == "--log-format" and args[i + 1:i + 2] == ["json"]):
            return True
    return os.environ.get("CODEINDEX_LOG_FORMAT") == "json"


class MainGroup(click.Group):
    """Under --log-format json, usage errors and crashes are JSON events too (one object per stderr line)."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        import sys

        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or not _json_asked(argv):
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        from crawler.logs import error_event, setup_logging

        try:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            setup_logging("json")
            error_event(exc.format_message(), exit_status=exc.exit_code)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            setup_logging("json")
            error_event("aborted", exit_status=1)
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except Exception as exc:  # a crash: the traceback inside one JSON event, not as plain text
            import logging

            setup_logging("json")
            logging.getLogger("codeindex").error("internal error: %s: %s", type(exc).__name__, exc, exc_info=True,
                                                 extra={"event": "error", "fields": {"exit_status": 1}})
            sys.exit(1)


@click.group(cls=MainGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
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
    envvar="CODEINDEX_LOG_FORMAT",
    default="text",
    show_default=True,
    help="Logs and errors on stderr: readable text, or JSON lines for log collectors (env CODEINDEX_LOG_FORMAT).",
)
@click.option("-v", "--verbose", count=True,
              help="More log detail: -v each account as it ends, -vv debug, -vvv every HTTP request.")
@click.version_option(package_name="codeindex")
@click.pass_context
def main(ctx: click.Context, db_url: str, config_path: Path, log_format: str, verbose: int) -> None:
    """codeindex: crawl public-sector accounts on GitHub and GitLab forges into a SQL index and export JSON.

    --db, --config, --log-format and -v go before the command or after it.

    \b
    First steps:
      codeindex demo              offline demo on a simulated forge seeded with real data
      codeindex config check      validate config/organisations.yml
      codeindex crawl             crawl the configured accounts into the index
      codeindex export --out DIR  write the JSON files the frontend reads
    """
    from crawler.logs import setup_logging

    setup_logging(log_format, verbose)
    db_given = ctx.get_parameter_source("db_url") == click.core.ParameterSource.COMMANDLINE
    ctx.obj = Context(db_url, config_path, log_format, verbose, db_given)


for _command in (db_group, crawl_command, runs_command, simforge_command, demo_command, schedule_command,
                 config_group, export_command, status_command, check_command, annuaire_group, serve_command,
                 worker_command):
    add_global_options(_command)
    main.add_command(_command)
