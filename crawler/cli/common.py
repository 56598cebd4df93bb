"""What every command shares: the main group's settings, and the three ways a command stops early.

A command fails with one line on stderr and exit status 2 when the user must fix something (configuration,
database URL, arguments), 1 when the work itself could not be done.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crawler.config import Config
    from index.directory import Directory

DEFAULT_CONFIG = Path("config/organisations.yml")
DEFAULT_DB = "sqlite:///codeindex.sqlite"


class Context:
    """The main group's options, handed to every command by `pass_ctx`."""

    def __init__(self, db_url: str, config_path: Path, log_format: str, verbose: int):
        self.db_url = db_url
        self.config_path = config_path
        self.log_format = log_format
        self.verbose = verbose


pass_ctx = click.make_pass_decorator(Context)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line on stderr and exit with `code` (2: the user must fix something)."""
    click.echo(f"codeindex: error: {message}", err=True)
    sys.exit(code)


def load_config_or_exit(
    path: Path, ministries_path: Path | None = None, directory: Directory | None = None
) -> Config:
    """Load and validate the configuration; on any problem print them all and exit 2 before touching anything."""
    from crawler.config import ConfigError, load_config

    try:
        return load_config(path, ministries_path, directory)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        n = len(exc.problems)
        fail(f"{path}: {n} problem{'s' if n > 1 else ''}, nothing done")
    except FileNotFoundError:
        fail(f"configuration file {path} not found (use --config FILE or CODEINDEX_CONFIG)")


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
        return None, f"configuration {path} has {len(exc.problems)} problems (codeindex config check): ignored"


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
        click.echo(f"codeindex: warning: the index cannot be read ({exc}): no stored directory", err=True)
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
