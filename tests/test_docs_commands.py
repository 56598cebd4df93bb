"""Every command line shown in README.md and docs/ in a code block marked runnable (```sh runnable) is run, as
written, against the demo, and fails the suite when it breaks.

One demo for the whole module, run as the README says (`codeindex demo` in an empty folder, its default files),
which also checks that it leaves the real index and export alone. The folder then holds what a fresh clone would:
the configuration (config/), `.venv/bin/python`, and `codeindex` on PATH. CODEINDEX_DB points the commands that
read the default index at the demo's, as an operator trying the docs on the demo would set it.

A line runs on its own (a heredoc, `<<'EOF'` … `EOF`, and its command, together) and must exit 0, unless its
comment says `→ exit N`. A line that is exactly `codeindex demo` is the module's demo, not run again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\S*)(.*)$")

pytestmark = pytest.mark.slow  # the demo: about a minute


@dataclass(frozen=True)
class DocCommand:
    file: str
    line: int
    text: str
    exit_status: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def runnable_commands(path: Path) -> list[DocCommand]:
    """The commands of the blocks marked `runnable` in one Markdown file."""
    commands: list[DocCommand] = []
    inside = False
    pending: list[str] = []
    start = 0
    terminator: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = FENCE.match(line)
        if fence and terminator is None:
            inside = not inside and "runnable" in fence.group(2).split()
            continue
        if not inside:
            continue
        if terminator is not None:  # inside a heredoc: taken whole
            pending.append(line)
            if line.strip() == terminator:
                terminator = None
                commands.append(_command(path, start, pending))
                pending = []
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        start, pending = number, [line]
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", line)
        if heredoc:
            terminator = heredoc.group(1)
            continue
        commands.append(_command(path, start, pending))
        pending = []
    assert not inside and terminator is None, f"{path.name}: a runnable block or heredoc is not closed"
    return commands


def _command(path: Path, line: int, lines: list[str]) -> DocCommand:
    first = lines[0]
    comment = first.split("  #", 1)[1] if "  #" in first else ""
    wanted = re.search(r"→ exit (\d)", comment)
    text = "\n".join([first.split("  #", 1)[0].rstrip(), *lines[1:]])
    return DocCommand(str(path.relative_to(ROOT)), line, text, int(wanted.group(1)) if wanted else 0)


COMMANDS = [command for path in DOCS for command in runnable_commands(path)]


def test_the_docs_hold_runnable_commands_of_every_kind():
    assert len(COMMANDS) >= 15, [str(c) for c in COMMANDS]
    used = {c.text.split()[1] for c in COMMANDS if c.text.startswith("codeindex ") and not c.text.split()[1]
            .startswith("-")}
    assert {"demo", "status", "check", "config", "export", "crawl"} <= used, used


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs-demo")
    shutil.copytree(ROOT / "config", folder / "config")
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (folder / "bin").mkdir()
    wrapper = folder / "bin" / "codeindex"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m crawler.cli "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    for name in ("CODEINDEX_DB", "CODEINDEX_CONFIG", "CODEINDEX_LOG_FORMAT", "GITHUB_TOKEN", "GITLAB_TOKEN"):
        env.pop(name, None)
    done = subprocess.run(["codeindex", "demo"], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (folder / "codeindex-demo.sqlite").is_file() and (folder / "export-demo" / "repositories.json").is_file()
    assert not (folder / "codeindex.sqlite").exists() and not (folder / "export").exists()  # the real files
    assert "codeindex --db sqlite:///codeindex-demo.sqlite runs" in done.stdout  # the hint reaches the demo
    return folder, {**env, "CODEINDEX_DB": "sqlite:///codeindex-demo.sqlite"}


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_the_documented_command_works_on_the_demo(command, demo_folder):
    folder, env = demo_folder
    if command.text.strip() == "codeindex demo":
        return  # the module's demo, run by the fixture as written
    done = subprocess.run(["bash", "-c", command.text], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == command.exit_status, f"{command}: `{command.text}` exited {done.returncode}:\n{output}"
    assert "Traceback" not in output and "Error:" not in output, f"{command}:\n{output}"
    assert done.stdout.strip(), f"{command}: `{command.text}` printed nothing"
