"""What every command shares: the main group's settings, and the three ways a command stops early.

A command fails with one line on stderr and exit status 2 when the user must fix something (configuration,
database URL, arguments), 1 when the work itself could not be done.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from crawler.wording import plural

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crawler.config import Config
    from index.directory import Directory

DEFAULT_CONFIG = Path("config/organisations.yml")
DEFAULT_DB = "sqlite:///codeindex.sqlite"
# the demo's own files: its simulated data never lands in the real index or export by default
DEMO_DB = "sqlite:///codeindex-demo.sqlite"
DEMO_OUT = Path("export-demo")


class Context:
    """The main group's options, handed to every command by `pass_ctx`.

    `db_given` says whether --db (or CODEINDEX_DB) was given; the demo uses its own index otherwise.
    """

    def __init__(self, db_url: str, config_path: Path, log_format: str, verbose: int, db_given: bool = True):
        self.db_url = db_url
        self.config_path = config_path
        self.log_format = log_format
        self.verbose = verbose
        self.db_given = db_given


pass_ctx = click.make_pass_decorator(Context)


def _override(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A subcommand's copy of a main-group option: when given after the subcommand, it replaces the group's."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or (name == "verbose" and not value):
            return
        settings = ctx.find_object(Context)
        if settings is None:  # invoked without the main group (a test calling the command alone)
            return
        if name == "verbose":
            settings.verbose += int(value)
        else:
            setattr(settings, name, value)
            if name == "db_url":
                settings.db_given = True
        if name in ("verbose", "log_format"):
            from crawler.logs import setup_logging

            setup_logging(settings.log_format, settings.verbose)

    return callback


def add_global_options(command: click.Command) -> None:
    """Accept --db, --config, --log-format and -v after the subcommand too (`codeindex crawl --db URL`)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_options(sub)
        return
    command.params.extend([
        click.Option(["--db", "db_url"], metavar="URL", expose_value=False, is_eager=True,
                     callback=_override("db_url"), help="Index database URL (as before the command)."),
        click.Option(["--config", "config_path"], metavar="FILE", type=click.Path(path_type=Path),
                     expose_value=False, is_eager=True, callback=_override("config_path"),
                     help="Accounts configuration (as before the command)."),
        click.Option(["--log-format", "log_format"], type=click.Choice(["text", "json"]), expose_value=False,
                     is_eager=True, callback=_override("log_format"), help="text or json (as before the command)."),
        click.Option(["-v", "--verbose", "verbose"], count=True, expose_value=False, is_eager=True,
                     callback=_override("verbose"), help="More log detail (as before the command)."),
    ])




def _json_logs() -> bool:
    """Whether the running command was asked for JSON logs (its Context says; text outside a command)."""
    ctx = click.get_current_context(silent=True)
    settings = ctx.find_object(Context) if ctx is not None else None
    return getattr(settings, "log_format", "text") == "json"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line on stderr (a JSON event under --log-format json) and exit with `code` (2: the user
    must fix something)."""
    from crawler.logs import error_event

    if _json_logs():
        error_event(message, exit_status=code)
    else:
        click.echo(f"codeindex: error: {message}", err=True)
    sys.exit(code)


def warn(message: str) -> None:
    """A warning on stderr: `codeindex: warning: …`, or a JSON event under --log-format json."""
    if _json_logs():
        import logging

        logging.getLogger("codeindex").warning(message, extra={"event": "warning"})
    else:
        click.echo(f"codeindex: warning: {message}", err=True)


def problem_line(text: str) -> None:
    """One of several problems found before a `fail`: a line on stderr, or a JSON event."""
    from crawler.logs import error_event

    if _json_logs():
        error_event(text)
    else:
        click.echo(text, err=True)


def load_config_or_exit(
    path: Path, ministries_path: Path | None = None, directory: Directory | None = None
) -> Config:
    """Load and validate the configuration; on any problem print them all and exit 2 before touching anything."""
    from crawler.config import ConfigError, load_config

    try:
        return load_config(path, ministries_path, directory)
    except ConfigError as exc:
        for problem in exc.problems:
            problem_line(str(problem))
        files = list(dict.fromkeys(p.file for p in exc.problems)) or [str(path)]
        fail(f"{', '.join(files)}: {plural(len(exc.problems), 'problem')}, nothing done")
    except FileNotFoundError:
        fail(f"configuration file {path} not found (use --config FILE or CODEINDEX_CONFIG)")


def check_environment_or_exit() -> None:
    """The environment variables a crawl reads besides tokens: a bad value is refused (exit 2), never ignored."""
    from crawler.forges.http import reserve_from_env

    try:
        reserve_from_env()
    except ValueError as exc:
        fail(str(exc))


def load_config_or_warn(path: Path) -> tuple[Config | None, str | None]:
    """The configuration, or None and a one-line warning: for commands that can answer from the index alone."""
    from crawler.config import ConfigError, load_config

    try:
        if not Path(path).is_file():
            raise FileNotFoundError(path)
        return load_config(path), None
    except FileNotFoundError:
        return None, f"configuration {path} not found: accounts absent from the index cannot be explained"
    except ConfigError as exc:
        return None, f"configuration {path} has {plural(len(exc.problems), 'problem')} (codeindex config check): ignored"


def stored_directory(db_url: str) -> Directory | None:
    """The official directory stored in the index, if the index exists and one was loaded (never creates it)."""
    from sqlalchemy.engine import make_url

    from index.db import IndexDatabaseError, normalise_url, open_index, transaction
    from index.directory import load_directory

    try:
        url = make_url(normalise_url(db_url))
        if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
            return None
        engine = open_index(db_url)
    except (IndexDatabaseError, ValueError, ImportError) as exc:
        warn(f"the index cannot be read ({exc}): no stored directory")
        return None
    try:
        with transaction(engine) as session:
            return load_directory(session)
    finally:
        engine.dispose()


def open_index_or_exit(db_url: str) -> Engine:
    """Open (and migrate) the index, or print why it cannot be opened and exit 2."""
    from index.db import IndexDatabaseError, open_index

    try:
        return open_index(db_url)
    except IndexDatabaseError as exc:
        fail(str(exc))
