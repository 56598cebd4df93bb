"""What only the configuration can tell about referencing: forge URLs parsed, "not in the configuration" with
the YAML lines to propose, and configured accounts the index has not seen yet.

The index side (`index.status.report`) explains everything the index holds; this module covers the rest, so that a
ministry pasting any forge URL gets an answer it can act on.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.config import UNKNOWN_PSO_ID, Config, ForgeConfig, OwnerConfig

_SSH = re.compile(r"^(?:ssh://)?[\w.-]+@([^:/]+)[:/](.*)$")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
# paths a forge serves under a repository, cut off: /tree/main/..., /-/issues, /src/branch/...
_TWO_SEGMENT_KINDS = ("github", "gitea", "gogs", "forgejo", "bitbucket")
# GitLab's group and user pages (https://gitlab.com/groups/cortext, as exported in owner.url): reserved names
# GitLab never gives a namespace, so they are the URL's, not the account's
_GITLAB_PREFIXES = ("groups", "users")


class URLProblem(ValueError):
    """The text is not a forge URL of an account or repository; the message says what was expected."""


@dataclass(frozen=True)
class ForgeURL:
    host: str
    path: str  # "etalab", "etalab/x", "group/sub/project"; never empty

    @property
    def segments(self) -> list[str]:
        return self.path.split("/")

    @property
    def url(self) -> str:
        return f"https://{self.host}/{self.path}"


def guess_kind(host: str) -> str | None:
    if host == "github.com" or "github" in host:
        return "github"
    if "gitlab" in host or host == "framagit.org":
        return "gitlab"
    if host == "codeberg.org" or "forgejo" in host:
        return "forgejo"
    if "gitea" in host:
        return "gitea"
    return None


def parse_forge_url(text: str, kind: str | None = None) -> ForgeURL:
    """https://github.com/etalab/x(.git)(/), http://www.…, github.com/etalab, git@github.com:etalab/x.git,
    https://gitlab.com/groups/cortext (GitLab's group page: the account `cortext`).

    `kind` (the forge's software, from the configuration when known) decides how much of a long path is the
    repository: GitLab paths nest (group/sub/project) and end at "/-/"; GitHub-like forges use owner/repo.
    """
    raw = text.strip()
    ssh = _SSH.match(raw) if "://" not in raw or raw.startswith("ssh://") else None
    if ssh:
        host, path = ssh.group(1), ssh.group(2)
    else:
        parsed = urlsplit(raw if "://" in raw else f"https://{raw}")
        if parsed.scheme not in ("http", "https", "git", "ssh"):
            raise URLProblem(f"{text!r} is not a forge URL: expected https://HOST/ACCOUNT[/REPOSITORY]")
        host, path = parsed.hostname or "", parsed.path
    host = host.lower().rstrip(".")
    host = host[4:] if host.startswith("www.") else host
    if not host or "." not in host and host != "localhost":
        raise URLProblem(f"{text!r} has no forge host: expected https://HOST/ACCOUNT[/REPOSITORY]")
    path = unquote(path).split("/-/")[0]
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1].endswith(".git"):
        segments[-1] = segments[-1][:-4]
    segments = [s for s in segments if s]
    kind = kind or guess_kind(host)
    if kind in _TWO_SEGMENT_KINDS:
        segments = segments[:2]
    elif len(segments) > 1 and segments[0] in _GITLAB_PREFIXES:
        segments = segments[1:]  # GitLab's /groups/NAME and /users/NAME pages: the prefix is not in the path
    if not segments:
        raise URLProblem(f"{text!r} names a forge, not an account or repository (try `codeindex status {host}`)")
    return ForgeURL(host, "/".join(segments))


# configuration coverage -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """Which configuration entry covers a URL: its forge, and the owner (None when the forge is crawled whole)."""

    forge: ForgeConfig | None
    owner: OwnerConfig | None

    @property
    def covered(self) -> bool:
        return self.forge is not None and (self.forge.whole_forge or self.owner is not None)


def coverage(config: Config, url: ForgeURL) -> Coverage:
    forge = next((f for f in config.forges if f.host == url.host), None)
    if forge is None or forge.whole_forge:
        return Coverage(forge, None)
    key = url.path.lower()
    owners = [o for o in forge.owners if key == o.login.lower() or key.startswith(o.login.lower() + "/")]
    return Coverage(forge, max(owners, key=lambda o: len(o.login)) if owners else None)


def _yaml_key(text: str) -> str:
    return text if _PLAIN_KEY.match(text) else json.dumps(text)


@dataclass(frozen=True)
class Proposal:
    """YAML lines to add to the configuration, and where."""

    login: str
    yaml: str
    file: str
    after_line: int | None  # insert after this line (the forge's `owners:`); None: append at the end
    where: str


def propose(config: Config, url: ForgeURL, *, account: bool) -> Proposal:
    """The lines that would reference the account behind `url`, in code.gouv.fr's format.

    For a repository URL the proposed account is the top-level namespace (GitHub organisation or user, GitLab
    top-level group); for an account URL, its whole path (a GitLab subgroup stays a subgroup).
    """
    login = url.path if account else url.segments[0]
    forge = next((f for f in config.forges if f.host == url.host), None)
    owner_lines = [
        f"    {_yaml_key(login)}:",
        f"      pso_id: {UNKNOWN_PSO_ID}  # replace with the body's id on lannuaire.service-public.fr",
    ]
    if forge is not None:
        line = _owners_line(config, forge)
        yaml_text = "\n".join([f"{url.host}:", "  owners:", *owner_lines])
        where = f"under `owners:` of `{url.host}:`" + (f" (after line {line} of {config.path})" if line else "")
        return Proposal(login, yaml_text + "\n", str(config.path), line, where)
    kind = guess_kind(url.host)
    forge_line = f"  forge: {kind}" if kind else (
        "  forge: gitlab  # the forge's software: github, gitlab, gitea, gogs, forgejo, sourcehut or bitbucket")
    yaml_text = "\n".join([f"{url.host}:", forge_line, "  owners:", *owner_lines])
    return Proposal(login, yaml_text + "\n", str(config.path), None, f"as a new forge at the end of {config.path}")


def _owners_line(config: Config, forge: ForgeConfig) -> int | None:
    """The line number of the forge's `owners:` key, found from the forge's own line."""
    try:
        lines = config.path.read_text(encoding="utf-8-sig").splitlines()
    except OSError:
        return None
    for number in range(forge.line, len(lines)):
        text = lines[number]
        if text.strip() and not text.startswith((" ", "\t", "#")):
            return None  # next top-level key: no owners: line
        if re.match(r"^\s+owners:\s*(#.*)?$", text):
            return number + 1
    return None


def apply_proposal(text: str, proposal: Proposal) -> str:
    """The configuration text with the proposal inserted (what a person would paste)."""
    lines = text.splitlines()
    if proposal.after_line is None:
        return text.rstrip("\n") + "\n" + proposal.yaml
    owner_lines = [line for line in proposal.yaml.splitlines() if line.startswith("    ")]
    return "\n".join(lines[:proposal.after_line] + owner_lines + lines[proposal.after_line:]) + "\n"


# entries for the status documents ---------------------------------------------------------------------------------
def not_configured_entry(config: Config, url: ForgeURL, *, account: bool) -> dict[str, Any]:
    """An `unindexed` entry (status.schema.json) for a URL no configuration entry covers."""
    proposal = propose(config, url, account=account)
    forge = next((f for f in config.forges if f.host == url.host), None)
    missing = "the account" if forge is not None else f"the forge {url.host}"
    return {
        "forge": url.host, "login": proposal.login, "url": f"https://{url.host}/{proposal.login}",
        "reason": "not_configured", "label": "not in the configuration",
        "explanation": f"{missing} is not in {config.path}: add these lines {proposal.where}, then crawl",
        "proposed_yaml": proposal.yaml, "config_file": proposal.file, "after_line": proposal.after_line,
    }


def _configured_entry(forge: ForgeConfig, owner: OwnerConfig | None, config: Config) -> dict[str, Any]:
    login = owner.login if owner else forge.host
    line = owner.line if owner else forge.line
    return {
        "forge": forge.host, "login": login, "url": f"https://{forge.host}" + (f"/{login}" if owner else ""),
        "reason": "never_crawled", "label": "never crawled yet",
        "explanation": f"configured ({config.path} line {line}) but not yet in the index: it will be listed "
                       "after the next crawl",
        "proposed_yaml": None, "config_file": str(config.path), "after_line": None,
    }


def unindexed(config: Config, indexed: Iterable[Mapping[str, Any]], day: dt.date) -> list[dict[str, Any]]:
    """Configured, not ignored accounts the index does not hold yet (the configuration changed since the crawl)."""
    known = {(entry["forge"], entry["login"].lower()) for entry in indexed}
    out = []
    for forge, owner in config.accounts(active_on=day):
        login = owner.login if owner else forge.host
        if (forge.host, login.lower()) not in known:
            out.append(_configured_entry(forge, owner, config))
    return out


def configured_but_unindexed(config: Config, url: ForgeURL, day: dt.date) -> dict[str, Any] | None:
    """The entry for a URL the configuration covers but the index does not hold, if so."""
    cover = coverage(config, url)
    if not cover.covered or cover.forge is None:
        return None
    item = cover.owner or cover.forge
    if item.is_ignored(day):
        entry = _configured_entry(cover.forge, cover.owner, config)
        entry.update(reason="ignored", label="ignored",
                     explanation=f"ignored since {item.ignored_since} in {config.path} line {item.line}: "
                                 "neither crawled nor exported")
        return entry
    return _configured_entry(cover.forge, cover.owner, config)
