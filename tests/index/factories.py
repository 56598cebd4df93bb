"""Small builders of records for index tests."""

from __future__ import annotations

import datetime as dt

from index.records import (
    AccountCrawl,
    AccountKind,
    AccountRecord,
    AccountSpec,
    ForgeSpec,
    OutcomeStatus,
    PubliccodeInfo,
    RepositoryRecord,
    RepositorySignals,
    Visibility,
)

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def repo(forge_id: int, name: str, owner: str = "etalab", host: str = "github.com", **kw) -> RepositoryRecord:
    defaults = dict(
        forge_id=forge_id, full_name=f"{owner}/{name}", name=name, owner_path=owner,
        html_url=f"https://{host}/{owner}/{name}", description=f"{name} does things", language="Python",
        topics=("gouv",), stars=3, forks=1, watchers=2, open_issues=0, created_at=T0 - dt.timedelta(days=400),
        updated_at=T0, pushed_at=T0, license_spdx="MIT", default_branch="main",
        signals=RepositorySignals(commits_365d=12, contributors_365d=2, last_commit_at=T0, releases_count=1,
                                  latest_release_at=T0, has_readme=True, has_license=True, has_contributing=False,
                                  has_changelog=False, has_publiccode=False),
    )
    defaults.update(kw)
    return RepositoryRecord(**defaults)


def signals(commits: int, publiccode: bool) -> RepositorySignals:
    """Signals with `commits` in the last 365 days and a publiccode.yml or not (the rest fixed)."""
    return RepositorySignals(commits_365d=commits, contributors_365d=1, last_commit_at=T0, releases_count=0,
                             latest_release_at=None, has_readme=True, has_license=True, has_contributing=False,
                             has_changelog=False, has_publiccode=publiccode)


def crawl(login: str, repos=(), status=OutcomeStatus.OK, complete=True, host="github.com", **kw) -> AccountCrawl:
    account = AccountRecord(login=login, kind=AccountKind.ORGANIZATION, html_url=f"https://{host}/{login}",
                            name=login.title(), description="An account")
    return AccountCrawl(forge_host=host, login=login, status=status, account=account, repositories=tuple(repos),
                        complete=complete, **kw)


def specs(**accounts_by_host) -> list[ForgeSpec]:
    out = []
    for host, logins in (accounts_by_host or {"github.com": ["etalab"]}).items():
        kind = "github" if "github" in host else "gitlab"
        out.append(ForgeSpec(host=host, kind=kind, accounts=tuple(
            AccountSpec(login=login, pso_id="a515667c-6dc0-4544-a1a8-2cf13d7da23b", ministry="Premier ministre")
            for login in logins)))
    return out


PUBLICCODE = PubliccodeInfo(valid=True, name="App", description="An app", license="EUPL-1.2",
                            maintenance_type="internal", funded_by=("DINUM",))
VIS = Visibility
