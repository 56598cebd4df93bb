"""The demo never mixes with real data: its own default files, and an index or export folder holding one kind of
data refuses the other kind with a clear message and exit status 2, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from crawler.cli import main
from crawler.config import load_config
from crawler.demo import DEMO_MARKER
from crawler.runner import MixedIndexError, run_crawl
from index.db import open_index, transaction
from index.models import CrawlRun
from index.runs import index_purpose


def _small_config(tmp_path: Path, forge) -> Path:
    path = tmp_path / "organisations.yml"
    path.write_text(f"github.com:\n  forge: github\n  api_url: {forge.api_url('github.com')}\n"
                    "  token_env: SEPARATION_TOKEN\n  owners:\n    dinum:\n", encoding="utf-8")
    return path


def _runs(db: Path) -> int:
    engine = open_index(f"sqlite:///{db}")
    try:
        with transaction(engine) as session:
            return int(session.scalar(select(func.count()).select_from(CrawlRun)) or 0)
    finally:
        engine.dispose()


@pytest.fixture
def demo_index(tmp_path, simforge, monkeypatch):
    """An index holding one demo run (the fixture world crawled as the demo crawls it)."""
    monkeypatch.setenv("SEPARATION_TOKEN", "t")
    config_path = _small_config(tmp_path, simforge)
    db = tmp_path / "demo.sqlite"
    engine = open_index(f"sqlite:///{db}")
    summary = run_crawl(engine, load_config(config_path), trigger="demo")
    assert summary.accounts_ok == 1
    assert index_purpose(engine) == "demo"
    engine.dispose()
    return db, config_path


def test_a_real_crawl_refuses_the_demo_index_and_writes_nothing(demo_index):
    db, config_path = demo_index
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "--config", str(config_path), "crawl"])
    assert result.exit_code == 2, result.output
    assert "holds the demo's simulated data" in result.output
    assert _runs(db) == 1


def test_the_demo_refuses_a_real_index_before_seeding(tmp_path, simforge, monkeypatch):
    monkeypatch.setenv("SEPARATION_TOKEN", "t")
    config_path = _small_config(tmp_path, simforge)
    db = tmp_path / "real.sqlite"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "--config", str(config_path), "crawl"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "demo", "--out", str(tmp_path / "d")])
    assert result.exit_code == 2, result.output
    assert "holds real crawl runs" in result.output and "simulated forge:" not in result.output
    assert _runs(db) == 1 and not (tmp_path / "d").exists()
    engine = open_index(f"sqlite:///{db}")
    with pytest.raises(MixedIndexError):
        run_crawl(engine, load_config(config_path), trigger="demo")
    engine.dispose()


def test_exports_of_the_demo_and_of_real_data_never_share_a_folder(demo_index, tmp_path):
    db, _ = demo_index
    demo_out, real_out = tmp_path / "demo-export", tmp_path / "real-export"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "export", "--out", str(demo_out)])
    assert result.exit_code == 0, result.output
    assert (demo_out / DEMO_MARKER).is_file() and "simulated data" in result.output
    real_db = tmp_path / "real.sqlite"
    assert CliRunner().invoke(main, ["--db", f"sqlite:///{real_db}", "db", "upgrade"]).exit_code == 0
    before = (demo_out / "repositories.json").read_bytes()
    refused = CliRunner().invoke(main, ["--db", f"sqlite:///{real_db}", "export", "--out", str(demo_out)])
    assert refused.exit_code == 2 and "holds the demo's export" in refused.output
    assert (demo_out / "repositories.json").read_bytes() == before
    assert CliRunner().invoke(main, ["--db", f"sqlite:///{real_db}", "export", "--out", str(real_out)]).exit_code == 0
    refused = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "export", "--out", str(real_out)])
    assert refused.exit_code == 2 and "holds a real export" in refused.output
    assert not (real_out / DEMO_MARKER).exists()


def test_the_demo_keeps_its_own_files_unless_told(tmp_path, monkeypatch):
    seen = {}

    def fake_run_demo(engine, out_dir, **options):
        seen.update(url=str(engine.url), out=out_dir, hint=options["db_option"])

    monkeypatch.setattr("crawler.demo.run_demo", fake_run_demo)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CODEINDEX_DB", f"sqlite:///{tmp_path}/real.sqlite")  # the real index: not the demo's
    assert CliRunner().invoke(main, ["demo"]).exit_code == 0
    assert seen["url"] == "sqlite:///codeindex-demo.sqlite" and seen["out"] == Path("export-demo")
    assert seen["hint"] == "--db sqlite:///codeindex-demo.sqlite"
    assert not (tmp_path / "real.sqlite").exists() and not (tmp_path / "codeindex.sqlite").exists()
    assert CliRunner().invoke(main, ["demo", "--db", f"sqlite:///{tmp_path}/mine.sqlite"]).exit_code == 0
    assert seen["url"] == f"sqlite:///{tmp_path}/mine.sqlite"


def test_global_options_work_after_the_subcommand(tmp_path):
    db = tmp_path / "after.sqlite"
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output
    assert db.exists()
    config = tmp_path / "bad.yml"
    config.write_text("github.com:\n  forge: githib\n")
    result = CliRunner().invoke(main, ["crawl", "--config", str(config), "--db", f"sqlite:///{db}", "--dry-run"])
    assert result.exit_code == 2 and "bad.yml:2" in result.output
    result = CliRunner().invoke(main, ["runs", "--db", f"sqlite:///{db}", "--log-format", "json", "-v"])
    assert result.exit_code == 0 and "no crawl run yet" in result.output
