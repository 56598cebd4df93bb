"""The command line: every command has help and is documented; bad databases give one clear line and exit 2."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _commands(group, prefix=""):
    for name, command in sorted(group.commands.items()):
        yield f"{prefix}{name}", command
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    runner = CliRunner()
    for name, command in _commands(main):
        assert (command.help or "").strip(), f"`codeindex {name}` has no help"
        result = runner.invoke(main, [*name.split(), "--help"])
        assert result.exit_code == 0, result.output
        assert f"codeindex {name}" in readme, f"`codeindex {name}` is not in the README"


@pytest.mark.parametrize("url, expected", [
    ("postgresql://nobody@127.0.0.1:1/none", r"cannot open the index at postgresql(\+psycopg)?://nobody@127.0.0.1:1/none: .*refused"),
    ("mysql://x@y/z", r"unsupported database 'mysql'"),
    ("sqlite:////nonexistent-dir/sub/index.sqlite", r"folder /nonexistent-dir/sub does not exist"),
    ("::::", r"malformed database URL"),
    ("codeindex.sqlite", r"expected sqlite:///PATH"),
])
def test_bad_database_url_gives_one_line_and_exit_2(url, expected):
    result = CliRunner().invoke(main, ["--db", url, "db", "upgrade"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and re.search(expected, lines[0]), result.output


def test_password_never_printed():
    result = CliRunner().invoke(main, ["--db", "postgresql://u:hunter2@127.0.0.1:1/db", "db", "upgrade"])
    assert result.exit_code == 2 and "hunter2" not in result.output


def test_db_upgrade_creates_the_index(tmp_path):
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path}/i.sqlite", "db", "upgrade"])
    assert result.exit_code == 0 and re.search(r"revision \d{4} \(latest\)", result.output)  # the newest migration


def test_bad_config_refuses_before_writing(tmp_path):
    config = tmp_path / "bad.yml"
    config.write_text("github.com:\n  forge: githib\n  owner:\n    etalab:\n")
    db = tmp_path / "i.sqlite"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "--config", str(config), "crawl"])
    assert result.exit_code == 2
    assert "bad.yml:2" in result.output and "bad.yml:3" in result.output
    assert not db.exists()
