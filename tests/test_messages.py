"""Messages an operator reads: counts in the singular when there is one, and errors naming the file at fault."""

from __future__ import annotations

from click.testing import CliRunner

from crawler.cli import main
from tests.support import ROOT


def test_a_bad_ministries_file_is_named_not_the_configuration(tmp_path):
    ministries = tmp_path / "ministries.yml"
    ministries.write_text("x: [\n")
    config = ROOT / "config" / "organisations.yml"
    result = CliRunner().invoke(main, ["--config", str(config), "config", "check", "--ministries", str(ministries)])
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last == f"codeindex: error: {ministries}: 1 problem, nothing done", result.output


def test_one_problem_is_one_problem_and_two_are_two(tmp_path):
    config = tmp_path / "organisations.yml"
    config.write_text("github.com:\n  forge: githib\n  owners:\n    etalab:\n")
    result = CliRunner().invoke(main, ["--config", str(config), "config", "check"])
    assert result.output.strip().endswith(f"{config}: 1 problem, nothing done")
    config.write_text("github.com:\n  forge: githib\n  owners:\n    etalab:\ngitlab.com:\n  forge: gitlob\n"
                      "  owners:\n    etalab:\n")
    result = CliRunner().invoke(main, ["--config", str(config), "config", "check"])
    assert result.output.strip().endswith(f"{config}: 2 problems, nothing done")
