"""The typed configuration: what `crawler.config.load_config` returns, frozen, with inheritance already applied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.directory import Directory

KINDS = ("github", "gitlab", "gitea", "gogs", "forgejo", "sourcehut", "bitbucket")
META_KEYS = ("pso_id", "ignored_since", "floss_policy", "ospo_url", "ministry")
FORGE_KEYS = ("forge", "owners", "api_url", "token_env", *META_KEYS)
OWNER_KEYS = ("name", *META_KEYS)
SCHEDULE_KEYS = ("interval_hours", "export_after", "forges", "annuaire")
ANNUAIRE_SCHEDULE_KEYS = ("cron", "interval_hours", "source")
FORGE_SCHEDULE_KEYS = ("cron", "interval_hours")
RESERVED = ("schedule",)
DEFAULT_INTERVAL_HOURS = 6.0
DEFAULT_ANNUAIRE_INTERVAL_HOURS = 168.0  # DILA publishes the directory daily; ministries change rarely: weekly
# shared public forges that must be listed by account: crawling them whole would index the world
NEVER_WHOLE = frozenset({"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "git.sr.ht"})


def _on_date(when: dt.date | dt.datetime) -> dt.date:
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise ValueError("is_ignored needs a UTC-aware datetime or a date")
        return when.astimezone(dt.UTC).date()
    return when


def _ignored(since: dt.date | None, when: dt.date | dt.datetime) -> bool:
    return since is not None and since <= _on_date(when)


@dataclass(frozen=True)
class OwnerConfig:
    """One account (organisation, user, or GitLab group path) with its own-or-inherited metadata resolved."""

    login: str
    name: str | None
    pso_id: str | None
    ministry: str | None
    ignored_since: dt.date | None
    floss_policy: str | None
    ospo_url: str | None
    line: int
    ministry_override: str | None = None  # the `ministry:` key itself, which wins over the directory
    organisation: str | None = None  # the body's name in the official directory (of its own-or-inherited pso_id)

    def is_ignored(self, when: dt.date | dt.datetime) -> bool:
        """No longer crawled nor exported from `ignored_since` on (code.gouv.fr's filter runs it backwards)."""
        return _ignored(self.ignored_since, when)


@dataclass(frozen=True)
class ForgeConfig:
    host: str
    kind: str
    api_url: str
    token_env: str | None
    owners: tuple[OwnerConfig, ...]
    pso_id: str | None
    ministry: str | None
    ignored_since: dt.date | None
    floss_policy: str | None
    ospo_url: str | None
    line: int
    ministry_override: str | None = None
    organisation: str | None = None

    @property
    def whole_forge(self) -> bool:
        """A forge dedicated to the public sector: every public project of the instance counts."""
        return not self.owners

    def is_ignored(self, when: dt.date | dt.datetime) -> bool:
        return _ignored(self.ignored_since, when)

    def owner(self, login: str) -> OwnerConfig | None:
        """Account names are unique case-insensitively on every supported forge."""
        wanted = login.lower()
        return next((o for o in self.owners if o.login.lower() == wanted), None)


@dataclass(frozen=True)
class ForgeSchedule:
    host: str
    cron: str | None
    interval_hours: float | None
    line: int | None = None


@dataclass(frozen=True)
class AnnuaireSchedule:
    """When `codeindex schedule` reloads the official directory: a cron or an interval, from `source`."""

    cron: str | None = None
    interval_hours: float | None = DEFAULT_ANNUAIRE_INTERVAL_HOURS
    source: str | None = None  # a URL or a file; None: DILA's official download address


@dataclass(frozen=True)
class ScheduleConfig:
    """When the scheduler runs crawls: a default interval, and per-forge cron or interval overrides."""

    interval_hours: float = DEFAULT_INTERVAL_HOURS
    export_after: bool = True
    forges: tuple[ForgeSchedule, ...] = ()
    annuaire: AnnuaireSchedule | None = field(default_factory=AnnuaireSchedule)  # None: `annuaire: false`

    def for_forge(self, host: str) -> ForgeSchedule:
        override = next((f for f in self.forges if f.host == host), None)
        return override or ForgeSchedule(host, None, self.interval_hours)


@dataclass(frozen=True)
class Config:
    path: Path
    forges: tuple[ForgeConfig, ...]
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    ministries: dict[str, str] = field(default_factory=dict, hash=False)
    directory: Directory | None = field(default=None, hash=False, compare=False)  # what resolved the ministries

    def forge(self, host: str) -> ForgeConfig:
        for forge in self.forges:
            if forge.host == host:
                return forge
        raise KeyError(f"no forge {host!r} in {self.path}")

    def accounts(
        self, active_on: dt.date | dt.datetime | None = None
    ) -> Iterator[tuple[ForgeConfig, OwnerConfig | None]]:
        """The units of work, in file order: (forge, owner), or (forge, None) for a whole forge.

        With `active_on`, units ignored on that date are left out.
        """
        for forge in self.forges:
            units: tuple[OwnerConfig | None, ...] = (None,) if forge.whole_forge else forge.owners
            for owner in units:
                item = owner if owner is not None else forge
                if active_on is None or not item.is_ignored(active_on):
                    yield forge, owner


def default_api_url(kind: str, host: str) -> str:
    """The API root each forge software serves by default (GitHub Enterprise, GitLab and Gitea conventions)."""
    if kind == "github":
        return "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    if kind == "gitlab":
        return f"https://{host}/api/v4"
    if kind == "sourcehut":
        return f"https://{host}/query"
    if kind == "bitbucket":
        return "https://api.bitbucket.org/2.0" if host == "bitbucket.org" else f"https://{host}/rest/api/1.0"
    return f"https://{host}/api/v1"  # gitea, forgejo, gogs
