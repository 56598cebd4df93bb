"""The whole pipeline on the simulated forge: configuration → real adapters → index → export."""

import json

from crawler.config import load_config
from crawler.runner import run_crawl
from index.db import transaction
from index.export.build import export_index
from tests.support import repositories_by, write_config


def _config(tmp_path, forge, *, gitlab_owners=("ministere", "partenaire", "jean.dupont"), github=True):
    lines = []
    if github:
        lines += ["github.com:", "  forge: github", f"  api_url: {forge.api_url('github.com')}",
                  "  token_env: CODEINDEX_TEST_TOKEN", "  owners:"]
        lines += [f"    {login}:" for login in sorted(a.path for a in forge.world.host("github.com").accounts.values())]
    lines += ["gitlab.example.org:", "  forge: gitlab", f"  api_url: {forge.api_url('gitlab.example.org')}",
              "  token_env: CODEINDEX_TEST_TOKEN",
              "  pso_id: 3ed2f725-e077-4973-a531-498e13fc7861", "  owners:"]
    lines += [f"    {login}:" for login in gitlab_owners]
    return load_config(write_config(tmp_path, lines))


def test_gitlab_crawl_recrawl_and_export(tmp_path, engine, simforge, monkeypatch):
    monkeypatch.setenv("CODEINDEX_TEST_TOKEN", "glpat-test-token-abcdefghijklmnop")
    config = _config(tmp_path, simforge, github=False)
    first = run_crawl(engine, config)
    assert first.status == "ok" and first.accounts_ok == 3
    repos = repositories_by(engine)
    assert repos["ministere/portail"].license_spdx == "EUPL-1.2"
    assert repos["ministere/dsi/outils"].language == "Go"
    # the token sees internal and private projects: recorded as such, never exported (below)
    assert (repos["ministere/dsi/interne"].visibility, repos["ministere/dsi/prive"].visibility) == (
        "internal", "private")
    shared = repos["partenaire/bibliotheque-commune"]
    with transaction(engine) as session:
        from index.models import Account

        owner = session.get(Account, shared.account_id)
    assert owner.login == "partenaire"  # shared into ministere, but belongs to its own namespace

    simforge.reset_stats()
    second = run_crawl(engine, config)
    assert second.repos_new == 0 and second.repos_gone == 0
    again = repositories_by(engine)
    assert again["ministere/portail"].license_spdx == "EUPL-1.2"  # skipped details keep licence and language
    assert again["ministere/dsi/outils"].language == "Go"
    assert simforge.stats()["gitlab.example.org"]["requests"] < first.requests / 3

    report = export_index(engine, tmp_path / "export")
    assert report is not None
    exported = json.loads((tmp_path / "export" / "repositories.json").read_text())
    names = {r["full_name"] for r in exported["repositories"]}
    assert "ministere/portail" in names
    assert not {"ministere/dsi/interne", "ministere/dsi/prive"} & names
