"""Authenticating as a GitHub App, the way GitHub recommends for services: installation tokens (an hour each,
their own rate limit per installation) minted with a JWT signed by the app's private key, and minted again before
they expire. The signing and minting are PyGithub's (`Auth.AppAuth`, `GithubIntegration`).

Configured from the environment only, next to the forge's token variable (`GITHUB_TOKEN` for github.com, else the
forge's `token_env`; its `_TOKEN` suffix dropped: `GITHUB`):

- `GITHUB_APP_ID`: the app's id;
- `GITHUB_APP_PRIVATE_KEY_FILE`: the path of its private key (PEM). The key itself is never in YAML, never in an
  environment variable's value, never logged;
- `GITHUB_APP_INSTALLATION_ID` (optional): the installation whose tokens are used; without it, the installation
  on the crawled organisation (`GET /orgs/{org}/installation`), else the app's first installation (an
  installation token reads every public repository).

An installation token is used in the forge's token pool like a personal token (first, before any in
`GITHUB_TOKEN`); docs: docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.forges.base import CredentialsError
from crawler.secrets import remember

REFRESH_BEFORE = dt.timedelta(minutes=5)  # a token this close to its expiry is replaced before use


class AppConfigError(CredentialsError):
    """The environment describes a GitHub App incompletely or wrongly (never quoting the key)."""


@dataclass(frozen=True)
class AppSettings:
    app_id: str
    key_file: Path
    installation_id: int | None
    prefix: str  # the environment variables' prefix, for messages


def app_settings(token_env: str, environ: dict[str, str] | None = None) -> AppSettings | None:
    """The GitHub App the environment names for a forge whose token variable is `token_env`, or None."""
    env = os.environ if environ is None else environ
    prefix = token_env.removesuffix("_TOKEN")
    app_id = (env.get(f"{prefix}_APP_ID") or "").strip()
    key_file = (env.get(f"{prefix}_APP_PRIVATE_KEY_FILE") or "").strip()
    installation = (env.get(f"{prefix}_APP_INSTALLATION_ID") or "").strip()
    if not app_id and not key_file:
        return None
    if not app_id or not key_file:
        raise AppConfigError(f"a GitHub App needs both {prefix}_APP_ID and {prefix}_APP_PRIVATE_KEY_FILE")
    if not app_id.isdigit():
        raise AppConfigError(f"{prefix}_APP_ID must be the app's numeric id")
    if installation and not installation.isdigit():
        raise AppConfigError(f"{prefix}_APP_INSTALLATION_ID must be a numeric installation id")
    return AppSettings(app_id, Path(key_file), int(installation) if installation else None, prefix)


class InstallationTokens:
    """One app's installation tokens on one GitHub API, minted on demand and refreshed before expiry. Shared by
    the threads of a process (a lock guards it); the private key is read once and kept in PyGithub's signer."""

    def __init__(self, settings: AppSettings, api_url: str, clock: Callable[[], dt.datetime] | None = None):
        from github import Auth, GithubIntegration

        self.settings = settings
        try:
            key = settings.key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise AppConfigError(f"{settings.prefix}_APP_PRIVATE_KEY_FILE: cannot read {settings.key_file}: "
                                 f"{exc.strerror or type(exc).__name__}") from None
        if "PRIVATE KEY" not in key:
            raise AppConfigError(f"{settings.prefix}_APP_PRIVATE_KEY_FILE: {settings.key_file} is not a PEM "
                                 "private key")
        self._integration: Any = GithubIntegration(auth=Auth.AppAuth(int(settings.app_id), key),
                                                   base_url=api_url.rstrip("/"), timeout=20)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.Lock()
        self._installations: dict[str, int] = {}  # organisation (lower-case, "" for any) -> installation id
        self._tokens: dict[int, tuple[str, dt.datetime]] = {}
        self.minted = 0

    def installation_for(self, login: str | None) -> int:
        from github import GithubException

        if self.settings.installation_id is not None:
            return self.settings.installation_id
        key = (login or "").lower()
        if key in self._installations:
            return self._installations[key]
        found: int | None = None
        try:
            if login:
                try:
                    found = int(self._integration.get_org_installation(login).id)
                except GithubException as exc:
                    if exc.status != 404:
                        raise
            if found is None:
                installations = list(self._integration.get_installations())
                if not installations:
                    raise CredentialsError(f"GitHub App {self.settings.app_id} has no installation")
                found = int(installations[0].id)
        except GithubException as exc:
            raise CredentialsError(f"GitHub App {self.settings.app_id}: cannot find its installation "
                                   f"(HTTP {exc.status})") from None
        self._installations[key] = found
        return found

    def token(self, login: str | None) -> str:
        """A valid installation token (minted again when within REFRESH_BEFORE of its expiry)."""
        from github import GithubException

        with self._lock:
            installation = self.installation_for(login)
            current = self._tokens.get(installation)
            now = self._clock()
            if current is not None:
                value, expires = current
                margin = min(REFRESH_BEFORE, (expires - now) / 2) if expires > now else dt.timedelta(0)
                if expires - now > margin and expires > now:
                    return value
            try:
                minted = self._integration.get_access_token(installation)
            except GithubException as exc:
                raise CredentialsError(f"GitHub App {self.settings.app_id}: installation token refused "
                                       f"(HTTP {exc.status})") from None
            expires = minted.expires_at
            expires = expires.replace(tzinfo=dt.UTC) if expires.tzinfo is None else expires
            self._tokens[installation] = (remember(minted.token), expires)
            self.minted += 1
            return str(minted.token)


_APPS: dict[tuple[str, str, str], InstallationTokens] = {}
_APPS_LOCK = threading.Lock()


def token_source(token_env: str, api_url: str, login: str | None) -> Callable[[], str] | None:
    """What the forge's token pool calls before each request when a GitHub App is configured, else None."""
    settings = app_settings(token_env)
    if settings is None:
        return None
    key = (settings.app_id, str(settings.key_file), api_url)
    with _APPS_LOCK:
        tokens = _APPS.get(key)
        if tokens is None:
            tokens = _APPS[key] = InstallationTokens(settings, api_url)
    return lambda: tokens.token(login)


def forget_apps() -> None:
    """Drop the cached apps (tests; a changed key file)."""
    with _APPS_LOCK:
        _APPS.clear()
