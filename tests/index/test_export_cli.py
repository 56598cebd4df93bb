"""`codeindex export`: options, the index URL from the context, one-line errors."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from crawler.cli.export import export_command
from index.db import open_index, transaction
from index.upsert import record_account_crawl, start_run, sync_configuration
from tests.index.factories import T0, crawl, repo, specs


class Settings:
    def __init__(self, db_url: str, config_path=None):
        self.db_url = db_url
        self.config_path = config_path


def _cli(db_url: str, config_path=None) -> click.Group:
    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = Settings(db_url, config_path)

    root.add_command(export_command)
    return root


def _populated(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    engine = open_index(url)
    with transaction(engine) as session:
        sync_configuration(session, specs())
    record_account_crawl(engine, start_run(engine), crawl("etalab", [repo(1, "a"), repo(2, "b")]), now=T0)
    engine.dispose()
    return url


def test_export_command(tmp_path):
    config = tmp_path / "organisations.yml"
    config.write_text("github.com:\n  forge: github\n")
    (tmp_path / "ministries.yml").write_text("a515667c-6dc0-4544-a1a8-2cf13d7da23b: Premier ministre\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(_populated(tmp_path), config), ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 repositories, 1 account, " in result.output
    assert (out / "repositories.json.gz").is_file() and (out / "codegouvfr" / "owners.json.gz").is_file()
    ministries = json.loads((out / "ministries.json").read_text())["ministries"]
    assert ministries[0]["pso_id"] == "a515667c-6dc0-4544-a1a8-2cf13d7da23b"


def test_no_gzip(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(_populated(tmp_path)), ["export", "--out", str(out), "--no-gzip"])
    assert result.exit_code == 0, result.output
    assert (out / "repositories.json").is_file() and not list(out.rglob("*.gz"))


def test_bad_index_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(_cli(f"sqlite:///{tmp_path}/missing/dir/index.sqlite"),
                                ["export", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("codeindex: error: ")
    assert not (tmp_path / "out").exists()


def test_unwritable_output_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(_cli(_populated(tmp_path)), ["export", "--out", str(blocker / "out")])
    assert result.exit_code == 2  # the environment must be fixed: exit 2, as every usage error
    assert result.stderr.count("\n") == 1 and "cannot write the export" in result.stderr


def test_help():
    result = CliRunner().invoke(export_command, ["--help"])
    assert result.exit_code == 0 and "--gzip / --no-gzip" in result.output
