"""GitHub App authentication on the simulated GitHub: installation tokens minted with a JWT signed by the app's
key (checked by the forge with the public key), refreshed before expiry, used in the pool like any token."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crawler.config import load_config
from crawler.forges.github.app import AppConfigError, app_settings, forget_apps
from crawler.runner import run_crawl
from index.db import open_index
from simforge.seed import fixture_world
from simforge.server import SimForge
from tests.support import write_config

APP_ID = 4242
INSTALLATION = 777


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture
def app_forge(tmp_path, monkeypatch):
    private, public = _key_pair()
    key_file = tmp_path / "app.pem"
    key_file.write_text(private)
    monkeypatch.setenv("APPTEST_APP_ID", str(APP_ID))
    monkeypatch.setenv("APPTEST_APP_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.delenv("APPTEST_TOKEN", raising=False)
    forget_apps()
    options = {"github_apps": {APP_ID: public},
               "github_installations": {INSTALLATION: {"app_id": APP_ID, "account": "etalab"}},
               "github_tokens": []}  # no personal token is valid here: only installation tokens
    with SimForge(fixture_world(), options=options) as forge:
        yield forge, private
    forget_apps()


def _crawl(tmp_path, forge, owners=("etalab", "bigorg"), **run):
    config = load_config(write_config(tmp_path, [
        "github.com:", "  forge: github", f"  api_url: {forge.api_url('github.com')}", "  token_env: APPTEST_TOKEN",
        "  owners:", *[f"    {o}:" for o in owners]]))
    engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
    return run_crawl(engine, config, **run)


def test_a_github_app_crawls_with_installation_tokens_found_from_the_organisation(app_forge, tmp_path, caplog):
    forge, private = app_forge
    caplog.set_level(logging.DEBUG)
    summary = _crawl(tmp_path, forge)
    assert summary.status == "ok", summary.failures
    counters = forge.states["github.com"].counters
    assert counters["installation_tokens_minted"] == 1  # one token for the process, valid an hour
    assert counters["status_401"] == 0
    body = private.split("-----")[2].strip().splitlines()[1]
    assert body not in caplog.text and "ghs_" not in caplog.text.replace("ghs_***", "")


def test_installation_tokens_are_minted_again_before_they_expire(app_forge, tmp_path, monkeypatch):
    forge, _ = app_forge
    forge.options["github_installation_token_ttl"] = 0.3
    forge.latency_ms = 60  # one account after the other, page after page: the crawl outlives several tokens
    monkeypatch.setenv("APPTEST_APP_INSTALLATION_ID", str(INSTALLATION))
    summary = _crawl(tmp_path, forge, workers=1, per_host=1)
    assert summary.status == "ok", summary.failures
    counters = forge.states["github.com"].counters
    assert counters["installation_tokens_minted"] >= 2
    assert counters["status_401"] == 0


def test_a_wrong_key_or_a_bad_environment_is_an_auth_outcome_that_says_why(app_forge, tmp_path, monkeypatch):
    forge, _ = app_forge
    other, _ = _key_pair()
    (tmp_path / "other.pem").write_text(other)
    monkeypatch.setenv("APPTEST_APP_PRIVATE_KEY_FILE", str(tmp_path / "other.pem"))
    summary = _crawl(tmp_path, forge, owners=("etalab",))
    assert summary.accounts_failed == 1
    assert "GitHub App 4242" in summary.failures[0] and "auth" in summary.failures[0]
    assert "PRIVATE KEY" not in " ".join(summary.failures)
    with pytest.raises(AppConfigError, match="APPTEST_APP_PRIVATE_KEY_FILE"):
        app_settings("APPTEST_TOKEN", {"APPTEST_APP_ID": "1"})
    assert app_settings("GITHUB_TOKEN", {}) is None
    assert app_settings("GITHUB_TOKEN", {"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY_FILE": "k.pem",
                                         "GITHUB_APP_INSTALLATION_ID": "9"}).installation_id == 9
