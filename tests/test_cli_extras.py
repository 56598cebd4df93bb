"""Without the `demo` extra, `codeindex demo` and `codeindex simforge` say how to install it, and write nothing."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from crawler.cli import main


@pytest.mark.parametrize("command", [["demo"], ["simforge", "--port", "0"]])
def test_commands_of_the_simulated_forge_name_the_extra_when_it_is_missing(tmp_path, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "graphql", None)  # as if graphql-core were not installed
    db = tmp_path / "index.sqlite"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", *command])
    assert result.exit_code == 2
    assert "pip install 'codeindex[demo]'" in result.output
    assert not db.exists() and not (tmp_path / "export").exists()
