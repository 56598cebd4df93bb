"""A Gogs forge listed without owners (as gogs.univ-littoral.fr is) goes through the runner into the index and the
export instead of ending "unsupported"."""

from __future__ import annotations

import json

from crawler.config import load_config
from crawler.runner import default_adapters, run_crawl
from index.export.build import export_index
from tests.support import repositories_by, write_config

HOST = "git.example.fr"


def _config(tmp_path, forge, *, kind: str = "gogs", owners: tuple[str, ...] = (), token_env: str | None = None):
    lines = [f"{HOST}:", f"  forge: {kind}", f"  api_url: {forge.api_url(HOST)}",
             "  pso_id: 68d07cbb-9bb3-4b8a-bda9-29f9328e362a"]
    if token_env:
        lines.append(f"  token_env: {token_env}")
    if owners:
        lines.append("  owners:")
        lines += [f"    {login}:" for login in owners]
    return load_config(write_config(tmp_path, lines))


def test_gitea_kinds_have_an_adapter():
    factories = default_adapters()
    assert {"gitea", "gogs", "forgejo"} <= set(factories)


def test_whole_gogs_forge_is_crawled_stored_and_exported(tmp_path, engine, simforge):
    config = _config(tmp_path, simforge)
    first = run_crawl(engine, config)
    assert first.status == "ok", first.failures
    assert (first.accounts_ok, first.accounts_unsupported, first.accounts_failed) == (1, 0, 0)
    public = [r for r in simforge.world.host(HOST).repos.values() if r.visibility == "public"]
    assert first.repos_new == len(public)
    repos = repositories_by(engine)
    assert "univ/prive" not in repos
    assert repos["univ/vide"].visibility == "public"
    assert repos["mdupuis/projet-000"].fork

    simforge.reset_stats()
    second = run_crawl(engine, config)
    assert second.status == "ok" and second.repos_new == 0 and second.repos_gone == 0
    # anonymous Gogs: 3 search pages, then releases only for repositories whose signals are stale (none today)
    assert simforge.stats()[HOST]["requests"] == 3 == second.requests

    report = export_index(engine, tmp_path / "export")
    assert report is not None
    exported = json.loads((tmp_path / "export" / "repositories.json").read_text())
    names = {r["full_name"] for r in exported["repositories"]}
    assert {"univ/catalogue", "univ/projet-042"} <= names


def test_gitea_organisation_with_token_keeps_private_out_of_the_export(tmp_path, engine, simforge, monkeypatch):
    monkeypatch.setenv("CODEINDEX_GITEA_TOKEN", "gitea-e2e-token-abcdef0123456789")
    simforge.world.host(HOST).kind = "gitea"
    config = _config(tmp_path, simforge, kind="gitea", owners=("univ", "mdupuis"), token_env="CODEINDEX_GITEA_TOKEN")
    result = run_crawl(engine, config)
    assert result.status == "ok" and result.accounts_ok == 2, result.failures
    repos = repositories_by(engine)
    assert repos["univ/prive"].visibility == "private"
    assert repos["univ/catalogue"].license_spdx == "EUPL-1.2" and repos["univ/catalogue"].language == "Python"
    export_index(engine, tmp_path / "export")
    exported = json.loads((tmp_path / "export" / "repositories.json").read_text())
    assert "univ/prive" not in {r["full_name"] for r in exported["repositories"]}
