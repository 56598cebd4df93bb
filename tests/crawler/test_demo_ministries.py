"""The demo's accounts take the pso_ids the real list gives the same account URLs, so they fall under their real
ministries (the 2021 seed data has no pso_id of its own)."""

from __future__ import annotations

from crawler.config import load_config
from crawler.config.ministries import excerpt_beside
from crawler.demo import REAL_CONFIG, real_pso_ids
from simforge.seed import seed_from_codegouvfr
from simforge.server import SimForge


def test_demo_accounts_carry_the_real_pso_ids_and_ministries(tmp_path):
    pso_ids = real_pso_ids(REAL_CONFIG)
    assert pso_ids[("github.com", "culturecommunication")] == "da1d6275-6710-485d-a249-282cac69dfe7"
    assert pso_ids[("gitlab.inria.fr", "")] == "1774a61b-42e1-4272-b6bb-7ba4cc44b8ac"  # a whole forge
    assert "00000000-0000-0000-0000-000000000000" not in pso_ids.values()
    path = tmp_path / "organisations.yml"
    with SimForge(seed_from_codegouvfr()) as forge:
        path.write_text(forge.config_yaml(token_env="T", pso_ids=pso_ids), encoding="utf-8")
    config = load_config(path, REAL_CONFIG.parent / "ministries.yml", excerpt_beside(REAL_CONFIG))
    units = {(f.host, o.login if o else ""): o or f for f, o in config.accounts()}
    assert units[("github.com", "culturecommunication")].ministry == "Ministère de la Culture"
    assert units[("github.com", "INRIA")].organisation.startswith("Institut national de recherche")
    ministries = {u.ministry for u in units.values() if u.ministry}
    assert len(ministries) >= 10, ministries
    with_pso = [u for u in units.values() if u.pso_id]
    assert len(with_pso) >= len(units) * 3 // 4  # most of the 2021 accounts are still on the list
