"""Seeds for the simulated forges: a small hand-made world for tests, and the real 2021 code.gouv.fr export.

`fixture_world()` holds one instance of every quirk the crawlers must handle (pagination past 250 repos, empty
repo, unidentified licence, renames, forks, templates, archived/private/internal repos, publiccode.yml good and
bad, hostile descriptions); `_gitlab_fixture()` is the GitLab part, owned jointly with the GitLab engineer.

`seed_from_codegouvfr()` turns every row of the export into a repository on its real host, with dates shifted so
that the export date becomes `now` (activity "in the last year" stays meaningful). Commits are drawn from a shared
pool of immutable `SimCommit` objects so that ×10 scale (~91k repos) stays well under 500 MB.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import json
import random
from collections import Counter
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from simforge.licences import key_for_name
from simforge.world import SimAccount, SimCommit, SimHost, SimRelease, SimRepo, World

EXPORT_DATE = dt.datetime(2021, 11, 15, tzinfo=dt.UTC)
AUTHORS = [f"{first} {last}" for first in ("Alice", "Bruno", "Chloé", "David", "Élodie", "Farid", "Gaëlle", "Hugo",
                                            "Inès", "Jules") for last in ("Martin", "Bernard", "Dubois", "Thomas",
                                                                          "Robert", "Richard", "Petit", "Durand")]


@functools.cache
def _data(name: str) -> str:
    return resources.files("simforge").joinpath("data", name).read_text(encoding="utf-8")


def _full_publiccode() -> str:
    """The standard's full example with a video URL an oEmbed provider serves: as published, its placeholder video
    (https://youtube.com/xxxxxxxx) makes it invalid for the reference parser; the seed wants a valid full file."""
    return _data("publiccode.full.yml").replace("https://youtube.com/xxxxxxxx",
                                                "https://www.youtube.com/watch?v=RaHmGbBOP84")


def _today() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class _CommitPool:
    """Shares SimCommit objects between repositories: (day, author) → one commit object."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self._pool: dict[tuple[int, int], SimCommit] = {}

    def get(self, days_ago: int, author: int) -> SimCommit:
        key = (days_ago, author)
        commit = self._pool.get(key)
        if commit is None:
            name = AUTHORS[author % len(AUTHORS)]
            email = name.lower().replace(" ", ".").replace("é", "e").replace("ë", "e").replace("É", "e") + "@example.org"
            sha = hashlib.sha1(f"{days_ago}:{author}".encode()).hexdigest()
            when = self.now - dt.timedelta(days=days_ago, hours=author % 9, minutes=author % 53)
            commit = SimCommit(sha, when, name, email, f"Update ({days_ago}d)")
            self._pool[key] = commit
        return commit

    def history(self, rng: random.Random, last: dt.datetime | None, first: dt.datetime, count: int) -> list[SimCommit]:
        """`count` commits between `first` and `last` (newest first), by 1-5 authors; the newest is at `last`."""
        if last is None or count <= 0:
            return []
        newest = max(0, (self.now - last).days)
        oldest = max(newest, (self.now - first).days)
        authors = [rng.randrange(len(AUTHORS)) for _ in range(rng.randint(1, 5))]
        days = {newest} | {rng.randint(newest, min(oldest, newest + 365)) for _ in range(count - 1)}
        return [self.get(day, rng.choice(authors)) for day in sorted(days)]


# --------------------------------------------------------------------------------------------------------------
# fixture world


def fixture_world(now: dt.datetime | None = None) -> World:
    """A small world holding every quirk; times are relative to `now` (default: today, midnight UTC)."""
    now = now or _today()
    world = World()
    pool = _CommitPool(now)
    rng = random.Random(7)
    gh = world.add_host("github.com", "github")

    def repo(owner: str, name: str, days_ago: int = 10, **kw: object) -> SimRepo:
        pushed = now - dt.timedelta(days=days_ago)
        created = now - dt.timedelta(days=900)
        defaults: dict[str, object] = {
            "created_at": created, "updated_at": pushed, "pushed_at": pushed,
            "files": {"README.md": f"# {name}\n"},
            "commits": pool.history(rng, pushed, created, 3),
        }
        defaults.update(kw)
        return gh.add_repo(SimRepo(id=world.new_id(), namespace=owner, name=name, **defaults))  # type: ignore[arg-type]

    # a big organisation: pagination over 3 pages of 100
    gh.add_account(SimAccount(world.new_id(), "bigorg", "org", name="Big Organisation", description="Many repos",
                              website="https://big.example.org", email="contact@big.example.org",
                              location="Paris", verified=True, followers=120,
                              avatar_url="https://avatars.example.org/u/1"))
    languages = ["Python", "JavaScript", "Java", None, "PHP", "TypeScript"]
    licences = ["mit", "agpl-3.0", None, "apache-2.0", "eupl-1.2", "gpl-3.0"]
    for i in range(260):
        repo("bigorg", f"repo-{i:03d}", days_ago=1 + i, language=languages[i % 6], license_key=licences[i % 6],
             stars=i % 17, forks=i % 5, watchers=i % 4, open_issues=i % 3, topics=["etat", f"t{i % 4}"],
             description=f"Dépôt numéro {i}",
             releases=[SimRelease(f"v1.{i % 3}", now - dt.timedelta(days=20))] if i % 4 == 0 else [])

    # a small organisation with one repository per quirk
    gh.add_account(SimAccount(world.new_id(), "etalab", "org", name="Etalab", description="Administrateur général des données",
                              website="https://etalab.gouv.fr", verified=True, followers=300))
    repo("etalab", "empty-repo", pushed_at=None, commits=[], files={}, description=None)
    repo("etalab", "odd-licence", license_key="other", files={"README.md": "x", "LICENSE": "Custom licence"})
    repo("etalab", "new-name", previous_full_names=["etalab/old-name"], license_key="mit",
         files={"README.md": "renamed", "LICENSE": "MIT"})
    repo("etalab", "forked-lib", fork=True, parent_full_name="bigorg/repo-001")
    repo("etalab", "template-repo", template=True)
    repo("etalab", "archived-repo", days_ago=800, archived=True)
    repo("etalab", "secret-repo", visibility="private")
    repo("etalab", "internal-repo", visibility="internal")
    repo("etalab", "with-publiccode", license_key="eupl-1.2",
         files={"README.md": "hi", "LICENSE": "EUPL", "CONTRIBUTING.md": "PRs welcome", "CHANGELOG.md": "## 1.0",
                "publiccode.yml": _full_publiccode()},
         releases=[SimRelease("v2.0", now - dt.timedelta(days=3)), SimRelease("v1.0", now - dt.timedelta(days=400))])
    repo("etalab", "minimal-publiccode", files={"README.md": "hi", "publiccode.yml": _data("publiccode.minimal.yml")})
    repo("etalab", "bad-publiccode", files={"README.md": "hi", "publiccode.yml": "name: [unclosed\n  - : :"})
    repo("etalab", "xss-repo", description="Outil <script>alert(1)</script> — données publiques ✓ 日本語 🇫🇷",
         topics=["sécurité", "xss"], homepage="https://example.org/?a=1&b=<2>")

    # a renamed organisation: old login answers 301
    gh.add_account(SimAccount(world.new_id(), "dinum", "org", name="DINUM", previous_paths=["disic"]))
    repo("dinum", "franceconnect", license_key="agpl-3.0", stars=42)
    repo("dinum", "tchap", license_key="apache-2.0")

    # a user
    gh.add_account(SimAccount(world.new_id(), "jdupont", "user", name="Jeanne Dupont", location="Lyon", followers=3,
                              email="jeanne@example.org"))
    repo("jdupont", "dotfiles")
    repo("jdupont", "thesis", language="TeX", license_key="cc-by-4.0")

    _gitlab_fixture(world, now, pool, rng)
    _gitea_fixture(world, now, pool, rng)
    return world


def _gitlab_fixture(world: World, now: dt.datetime, pool: _CommitPool, rng: random.Random) -> None:
    """GitLab part of the fixture (the GitLab engineer may extend it): nested groups, shared, empty, private."""
    gl = world.add_host("gitlab.example.org", "gitlab")

    def project(namespace: str, name: str, **kw: object) -> SimRepo:
        pushed = now - dt.timedelta(days=5)
        created = now - dt.timedelta(days=700)
        defaults: dict[str, object] = {
            "created_at": created, "updated_at": pushed, "pushed_at": pushed, "default_branch": "main",
            "files": {"README.md": f"# {name}\n"}, "commits": pool.history(rng, pushed, created, 4),
        }
        defaults.update(kw)
        return gl.add_repo(SimRepo(id=world.new_id(), namespace=namespace, name=name, **defaults))  # type: ignore[arg-type]

    for path, name in (("ministere", "Ministère"), ("ministere/dsi", "DSI"), ("ministere/dsi/apps", "Applications"),
                       ("partenaire", "Partenaire")):
        gl.add_account(SimAccount(world.new_id(), path, "group", name=name, description=f"Groupe {name}"))
    gl.add_account(SimAccount(world.new_id(), "jean.dupont", "user", name="Jean Dupont"))
    project("ministere", "portail", license_key="eupl-1.2", language="Python", topics=["portail"])
    project("ministere/dsi", "outils", license_key="mit", language="Go")
    project("ministere/dsi/apps", "app-mobile", license_key="agpl-3.0", language="Kotlin",
            files={"README.md": "x", "publiccode.yml": _data("publiccode.minimal.yml")})
    project("ministere/dsi/apps", "vide", pushed_at=None, commits=[], files={}, default_branch=None)
    project("ministere/dsi", "interne", visibility="internal")
    project("ministere/dsi", "prive", visibility="private")
    shared = project("partenaire", "bibliotheque-commune", license_key="lgpl-2.1")
    gl.accounts["ministere"].shared_project_ids.append(shared.id)
    project("jean.dupont", "notes")


def _gitea_fixture(world: World, now: dt.datetime, pool: _CommitPool, rng: random.Random) -> None:
    """A Gogs instance listed without owners (like gogs.univ-littoral.fr): an organisation of 120 repositories
    (pages of 50), a user, and one repository per quirk. Tests switch `kind` to "gitea" for the Gitea dialect."""
    gt = world.add_host("git.example.fr", "gogs")

    def repo(namespace: str, name: str, days_ago: int = 12, **kw: object) -> SimRepo:
        pushed = now - dt.timedelta(days=days_ago)
        created = now - dt.timedelta(days=800)
        defaults: dict[str, object] = {
            "created_at": created, "updated_at": pushed, "pushed_at": pushed, "default_branch": "main",
            "files": {"README.md": f"# {name}\n"}, "commits": pool.history(rng, pushed, created, 3),
        }
        defaults.update(kw)
        return gt.add_repo(SimRepo(id=world.new_id(), namespace=namespace, name=name, **defaults))  # type: ignore[arg-type]

    gt.add_account(SimAccount(world.new_id(), "univ", "org", name="Université du Littoral", website="https://univ.example.fr",
                              description="Dépôts de l'université", location="Dunkerque"))
    gt.add_account(SimAccount(world.new_id(), "mdupuis", "user", name="Marie Dupuis", email="marie@example.fr"))
    languages = ["Python", "Java", None, "C", "JavaScript"]
    licences = ["mit", "gpl-3.0", None, "cecill-2.1", "apache-2.0"]
    for i in range(120):
        repo("univ", f"projet-{i:03d}", days_ago=2 + i * 3, language=languages[i % 5], license_key=licences[i % 5],
             stars=i % 7, forks=i % 3, open_issues=i % 4, description=f"Projet {i}",
             topics=["recherche"] if i % 2 else [],
             releases=[SimRelease("v1.0", now - dt.timedelta(days=30 + i))] if i % 10 == 0 else [])
    repo("univ", "vide", pushed_at=None, commits=[], files={}, description=None)
    repo("univ", "archive", days_ago=900, archived=True)
    repo("univ", "prive", visibility="private", license_key="mit")
    repo("univ", "miroir-upstream", parent_full_name="https://github.com/etalab/codegouvfr", license_key="agpl-3.0")
    repo("univ", "catalogue", license_key="eupl-1.2", language="Python",
         files={"README.md": "hi", "LICENSE": "EUPL", "CONTRIBUTING.md": "PRs", "CHANGELOG.md": "## 1.0",
                "publiccode.yml": _full_publiccode()},
         releases=[SimRelease("v2.0", now - dt.timedelta(days=3)), SimRelease("v1.0", now - dt.timedelta(days=400))])
    repo("mdupuis", "projet-000", fork=True, parent_full_name="univ/projet-000")
    repo("mdupuis", "these", language="TeX", license_key="cc-by-4.0")


# --------------------------------------------------------------------------------------------------------------
# the code.gouv.fr 2021 export


def _parse_time(value: str) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def _suffix(path: str, k: int) -> str:
    if k == 1:
        return path
    head, _, rest = path.partition("/")
    return f"{head}-x{k}" + (f"/{rest}" if rest else "")


SEED_CSV = Path(__file__).parent / "data" / "repositories-2021-11-15.csv"


def seed_from_codegouvfr(csv_path: str | Path = SEED_CSV, scale: int = 1, seed: int = 42, now: dt.datetime | None = None,
                         orgs_path: str | Path | None = None) -> World:
    """Every distinct repository URL of the export → a SimRepo on its host (github.com or the GitLab instance).

    `scale=K` adds K-1 copies of every account and repository under suffixed top-level paths ("etalab-x2").
    Deterministic for given (file, scale, seed, now); `now` defaults to today at midnight UTC.
    """
    now = now or _today()
    shift = now - EXPORT_DATE
    csv_path = Path(csv_path)
    orgs_path = Path(orgs_path) if orgs_path else csv_path.with_name("organizations-2021-11-15.json")
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    seen: set[str] = set()
    unique = []
    for row in rows:
        url = row["repository_url"].rstrip("/")
        if url not in seen:
            seen.add(url)
            unique.append(row)
    orgs: dict[tuple[str, str], dict[str, object]] = {}
    if orgs_path.exists():
        for org in json.loads(orgs_path.read_text(encoding="utf-8")):
            parts = urlsplit(str(org.get("organization_url") or ""))
            path = parts.path.strip("/").removeprefix("groups/")
            if parts.netloc and path:
                orgs[(parts.netloc, path.lower())] = org

    github_rows = [r for r in unique if r["platform"] == "GitHub"]
    lic_pool = [key_for_name(r["license"]) for r in github_rows]
    lang_pool = [r["language"] or None for r in github_rows]
    fork_pool = [r["is_fork"] == "True" for r in github_rows]
    owner_repo_count = Counter(
        (urlsplit(r["repository_url"]).netloc, urlsplit(r["repository_url"]).path.strip("/").split("/")[0].lower())
        for r in unique
    )

    world = World()
    pool = _CommitPool(now)
    for k in range(1, scale + 1):
        rng = random.Random(f"{seed}:{k}")
        for row in unique:
            _add_row(world, row, k, rng, pool, shift, now, orgs, owner_repo_count, lic_pool, lang_pool, fork_pool)
    # GitLab instances of both generations: every other one (by name) detects licences with Gitaly and answers the
    # lower-case SPDX id ("gpl-3.0-or-later", "etalab-2.0"), the others licensee's key ("gpl-3.0", "other")
    gitlabs = sorted(h for h, sim in world.hosts.items() if sim.kind == "gitlab")
    for host in gitlabs[::2]:
        world.hosts[host].licence_keys = "gitaly"
    return world


def _account_for(world: World, sim: SimHost, path: str, kind: str, org: dict[str, object] | None,
                 shift: dt.timedelta) -> None:
    if sim.account(path) is not None:
        return
    created = _parse_time(str(org.get("creation_date") or "")) if org else None
    sim.add_account(SimAccount(
        world.new_id(), path, kind,
        name=(org or {}).get("name") or None,  # type: ignore[arg-type]
        description=(org or {}).get("description") or None,  # type: ignore[arg-type]
        website=(org or {}).get("website") or None,  # type: ignore[arg-type]
        email=(org or {}).get("email") or None,  # type: ignore[arg-type]
        location=(org or {}).get("location") or None,  # type: ignore[arg-type]
        avatar_url=(org or {}).get("avatar_url") or None,  # type: ignore[arg-type]
        verified=bool((org or {}).get("is_verified")),
        created_at=(created + shift) if created else dt.datetime(2015, 1, 1, tzinfo=dt.UTC) + shift,
    ))


def _add_row(world: World, row: dict[str, str], k: int, rng: random.Random, pool: _CommitPool,
             shift: dt.timedelta, now: dt.datetime, orgs: dict[tuple[str, str], dict[str, object]],
             owner_repo_count: Counter[tuple[str, str]], lic_pool: list[str | None],
             lang_pool: list[str | None], fork_pool: list[bool]) -> None:
    url = urlsplit(row["repository_url"].rstrip("/"))
    host = url.netloc
    segments = url.path.strip("/").split("/")
    github = row["platform"] == "GitHub"
    sim = world.add_host(host, "github" if github else "gitlab")
    namespace = _suffix("/".join(segments[:-1]), k)
    top = segments[0].lower()
    if github:
        org = orgs.get((host, top))
        kind = "org" if org or owner_repo_count[(host, top)] > 2 else "user"
        _account_for(world, sim, namespace, kind, org, shift)
        licence = key_for_name(row["license"])
        language = row["language"] or None
        fork = row["is_fork"] == "True"
    else:
        for depth in range(1, len(segments)):
            raw = "/".join(segments[:depth])
            _account_for(world, sim, _suffix(raw, k), "group", orgs.get((host, raw.lower())), shift)
        licence = rng.choice(lic_pool)
        if licence in ("eupl-1.2", "mit") and len(segments[-1]) % 3 == 0:  # the French public sector's own licences
            licence = "etalab-2.0" if licence == "eupl-1.2" else "cecill-2.1"
        language = rng.choice(lang_pool)
        fork = rng.choice(fork_pool)

    created = (_parse_time(row["creation_date"]) or EXPORT_DATE - dt.timedelta(days=400)) + shift
    updated = (_parse_time(row["last_update"]) or created) + shift
    modified = _parse_time(row["last_modification"])
    pushed = min(now, (modified + shift) if modified else updated)
    empty = rng.random() < 0.01
    stars = int(row["stars_count"] or 0)
    files: dict[str, str] = {}
    if not empty:
        if rng.random() < 0.9:
            files["README.md"] = f"# {segments[-1]}\n\n{row['description'] or ''}\n"
        if licence:
            files["LICENSE"] = licence
        if rng.random() < 0.15:
            files["CONTRIBUTING.md"] = "Contributions welcome.\n"
        if rng.random() < 0.2:
            files["CHANGELOG.md"] = "# Changelog\n"
        if rng.random() < 0.03:
            files["publiccode.yml"] = _data("publiccode.minimal.yml") if rng.random() < 0.8 else "name: [broken"
    releases = []
    if not empty and rng.random() < 0.3:
        for i in range(rng.randint(1, 5)):
            releases.append(SimRelease(f"v{i + 1}.0", max(created, pushed - dt.timedelta(days=60 * i))))
        releases.reverse()
        releases.sort(key=lambda r: r.published_at, reverse=True)
    parent = None
    if fork:
        parent = "upstream-project/" + segments[-1] if github else None
    sim.add_repo(SimRepo(
        id=world.new_id(), namespace=namespace, name=segments[-1],
        description=row["description"].strip() or None, homepage=row["homepage"] or None,
        language=language, topics=[t for t in row["topics"].split(",") if t],
        stars=stars, forks=int(row["forks_count"] or 0), watchers=max(0, stars // 8) if github else 0,
        open_issues=int(row["open_issues_count"] or 0), created_at=created, updated_at=max(updated, pushed),
        pushed_at=None if empty else pushed, archived=row["is_archived"] == "True", fork=fork,
        parent_full_name=parent, default_branch=None if (empty and not github) else "main",
        license_key=licence, files=files,
        commits=[] if empty else pool.history(rng, pushed, created, rng.randint(1, 6)),
        releases=releases,
    ))
