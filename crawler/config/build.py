"""From composed YAML nodes to the typed configuration, collecting every problem on the way.

Nodes rather than `yaml.safe_load` values: only nodes keep line numbers, the original text of a scalar (a login
`1024` or `on` stays a login) and duplicate keys, which safe_load silently collapses to the last one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, TypedDict, cast

import yaml

from crawler.config.checks import (
    Problem,
    Problems,
    check_cron,
    check_env_name,
    check_host,
    check_login,
    check_url,
    check_uuid,
    describe,
    is_token_key,
    looks_like_token,
    parse_date,
    suggestion,
)
from crawler.config.model import (
    ANNUAIRE_SCHEDULE_KEYS,
    DEFAULT_INTERVAL_HOURS,
    FORGE_KEYS,
    FORGE_SCHEDULE_KEYS,
    KINDS,
    META_KEYS,
    NEVER_WHOLE,
    OWNER_KEYS,
    RESERVED,
    SCHEDULE_KEYS,
    AnnuaireSchedule,
    ForgeConfig,
    ForgeSchedule,
    OwnerConfig,
    ScheduleConfig,
    default_api_url,
)

_TOKEN_KEY_EXPECTED = (
    "no secret in the configuration: put the token in an environment variable and give its NAME with "
    "`token_env: NAME` on the forge"
)


def compose(path: Path, problems: Problems) -> yaml.Node | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problems.add(None, (), "no such file", "a YAML configuration file")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(None, (), f"an unreadable file ({exc})", "a UTF-8 YAML file")
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        context = exc.context or ""
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            context += f" (from line {exc.context_mark.line + 1})"
        what = ": ".join(filter(None, [context, exc.problem]))
        problems.items.append(Problem(problems.file, line, "(yaml)", f"a syntax error: {what}", "valid YAML"))
        return None
    except yaml.YAMLError as exc:
        problems.add(None, (), f"invalid YAML ({exc})", "valid YAML")
        return None
    if node is None:
        problems.items.append(
            Problem(problems.file, 1, "(top level)", "an empty file", "a mapping of forges")
        )
    return node


def _pairs(
    node: yaml.MappingNode, path: tuple[str, ...], problems: Problems
) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
    """The (key text, key node, value node) of a mapping, reporting duplicate and non-scalar keys."""
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            problems.add(key_node, path, f"{describe(key_node)} as a key", "a plain name as key")
            continue
        key = key_node.value
        if key in seen:
            problems.add(
                key_node,
                (*path, key),
                "a duplicate key",
                f"each key once (first at line {seen[key]}; YAML would silently keep only the last)",
            )
            continue
        seen[key] = key_node.start_mark.line + 1
        yield key, key_node, value_node


class Meta(TypedDict):
    """The metadata of a forge or owner entry, checked (META_KEYS, name and api_url); absent ones are None."""

    pso_id: str | None
    ignored_since: dt.date | None
    floss_policy: str | None
    ospo_url: str | None
    ministry: str | None
    name: str | None
    api_url: str | None


_UrlKey = Literal["floss_policy", "ospo_url", "api_url"]


def _no_meta() -> Meta:
    return {"pso_id": None, "ignored_since": None, "floss_policy": None, "ospo_url": None, "ministry": None,
            "name": None, "api_url": None}


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _text(node: yaml.Node, path: tuple[str, ...], problems: Problems, expected: str) -> str | None:
    """The text of a non-null scalar, or None after reporting what was expected."""
    if isinstance(node, yaml.ScalarNode) and not _is_null(node) and node.value.strip():
        text: str = node.value
        return text
    problems.add(node, path, describe(node), expected)
    return None


class Builder:
    """Turns the composed node tree into typed objects, collecting every problem on the way."""

    def __init__(self, problems: Problems, ministries: dict[str, str]):
        self.p = problems
        self.ministries = ministries

    def build(self, root: yaml.Node) -> tuple[list[ForgeConfig], ScheduleConfig]:
        self._scan_token_values(root, ())
        if not isinstance(root, yaml.MappingNode):
            self.p.add(root, (), describe(root), "a mapping of forge host names (e.g. 'gitlab.example.org:')")
            return [], ScheduleConfig()
        forges: list[ForgeConfig] = []
        schedule_node: yaml.Node | None = None
        for key, key_node, value in _pairs(root, (), self.p):
            if key in RESERVED:
                schedule_node = value
            elif is_token_key(key):
                self.p.add(key_node, (key,), f"a `{key}` key", _TOKEN_KEY_EXPECTED)
            else:
                problem = check_host(key)
                if problem:
                    hint = suggestion(key, RESERVED) if "." not in key else ""
                    self.p.add(key_node, (key,), repr(key), problem + hint)
                forge = self._forge(key, key_node, value)
                if forge is not None:
                    forges.append(forge)
        schedule = ScheduleConfig()
        if schedule_node is not None:
            schedule = self._schedule(schedule_node, [f.host for f in forges])
        return forges, schedule

    def _scan_token_values(self, node: yaml.Node, path: tuple[str, ...]) -> None:
        """A token pasted anywhere in the file is reported, without ever being echoed."""
        if isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                if key != "token_env" and not is_token_key(key):  # both are reported in context
                    self._scan_token_values(value, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._scan_token_values(item, (*path, str(i)))
        elif looks_like_token(node.value):
            self.p.add(node, path, "a value that looks like a token (not shown)", _TOKEN_KEY_EXPECTED)

    def _fields(
        self, node: yaml.MappingNode, path: tuple[str, ...], known: tuple[str, ...]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        fields = {}
        for key, key_node, value in _pairs(node, path, self.p):
            if key in known:
                fields[key] = (key_node, value)
            elif is_token_key(key):
                self.p.add(key_node, (*path, key), f"a `{key}` key", _TOKEN_KEY_EXPECTED)
            else:
                self.p.add(
                    key_node,
                    (*path, key),
                    "an unknown key",
                    "one of " + ", ".join(known) + suggestion(key, known),
                )
        return fields

    def _meta(self, fields: dict[str, tuple[yaml.Node, yaml.Node]], path: tuple[str, ...]) -> Meta:
        """pso_id, ignored_since, floss_policy, ospo_url, ministry and name, checked; absent ones are None."""
        meta = _no_meta()
        for key, (_, node) in fields.items():
            where = (*path, key)
            if key == "pso_id":
                text = _text(node, where, self.p, "a single UUID from lannuaire.service-public.fr")
                if text is not None and (expected := check_uuid(text)):
                    self.p.add(node, where, describe(node), expected)
                meta["pso_id"] = text
            elif key == "ignored_since":
                text = _text(node, where, self.p, "a date YYYY-MM-DD")
                if text is not None:
                    meta["ignored_since"], expected = parse_date(text)
                    if expected:
                        self.p.add(node, where, describe(node), expected)
            elif key in ("floss_policy", "ospo_url", "api_url"):
                text = _text(node, where, self.p, "an http(s) URL")
                if text is not None and (expected := check_url(text)):
                    self.p.add(node, where, describe(node), expected)
                meta[cast(_UrlKey, key)] = text.rstrip("/") if key == "api_url" and text else text
            elif key == "name":
                meta["name"] = _text(node, where, self.p, "a readable name")
            elif key == "ministry":
                meta["ministry"] = self._ministry(node, where)
        return meta

    def _ministry(self, node: yaml.Node, where: tuple[str, ...]) -> str | None:
        text = _text(node, where, self.p, "a ministry name, or the pso_id of a top node in ministries.yml")
        if text is None or check_uuid(text) is not None:
            return text
        if text in self.ministries:
            return self.ministries[text]
        self.p.add(
            node, where, describe(node), "a ministry name, or the pso_id of a top node in ministries.yml"
        )
        return None

    def _forge(self, host: str, key_node: yaml.Node, node: yaml.Node) -> ForgeConfig | None:
        path = (host,)
        if not isinstance(node, yaml.MappingNode):
            self.p.add(node, path, describe(node), "a mapping with at least `forge: KIND`")
            return None
        fields = self._fields(node, path, FORGE_KEYS)
        meta = self._meta({k: v for k, v in fields.items() if k in (*META_KEYS, "api_url")}, path)
        kind = "?"
        if "forge" not in fields:
            self.p.add(key_node, (host, "forge"), "no `forge` key", "`forge:` one of " + ", ".join(KINDS))
        else:
            kind_node = fields["forge"][1]
            text = _text(kind_node, (host, "forge"), self.p, "one of " + ", ".join(KINDS))
            if text is not None and text not in KINDS:
                self.p.add(
                    kind_node,
                    (host, "forge"),
                    describe(kind_node),
                    "one of " + ", ".join(KINDS) + suggestion(text, KINDS),
                )
            kind = text or "?"
        token_env = None
        if "token_env" in fields:
            env_node = fields["token_env"][1]
            token_env = _text(env_node, (host, "token_env"), self.p, "an environment variable name")
            if token_env is not None and (expected := check_env_name(token_env)):
                self.p.add(env_node, (host, "token_env"), describe(env_node), expected)
        owners: tuple[OwnerConfig, ...] = ()
        if "owners" in fields:
            owners = self._owners(fields["owners"][1], host, kind, meta)
        elif host in NEVER_WHOLE:
            self.p.add(
                key_node,
                path,
                "no `owners`",
                f"`owners:` listing the public-sector accounts ({host} cannot be crawled whole)",
            )
        forge_ministry = meta["ministry"] or self.ministries.get(meta["pso_id"] or "")
        return ForgeConfig(
            host=host,
            kind=kind,
            api_url=meta["api_url"] or default_api_url(kind, host),
            token_env=token_env,
            owners=owners,
            pso_id=meta["pso_id"],
            ministry=forge_ministry,
            ministry_override=meta["ministry"],
            ignored_since=meta["ignored_since"],
            floss_policy=meta["floss_policy"],
            ospo_url=meta["ospo_url"],
            line=key_node.start_mark.line + 1,
        )

    def _owners(self, node: yaml.Node, host: str, kind: str, forge_meta: Meta) -> tuple[OwnerConfig, ...]:
        path = (host, "owners")
        expected = "a mapping of account login or group path to its metadata (or nothing), e.g. 'etalab:'"
        if _is_null(node) or (isinstance(node, yaml.MappingNode) and not node.value):
            self.p.add(
                node, path, "an empty `owners`", expected + " (omit `owners` to crawl the whole forge)"
            )
            return ()
        if not isinstance(node, yaml.MappingNode):
            self.p.add(node, path, describe(node), expected)
            return ()
        owners: list[OwnerConfig] = []
        seen: dict[str, tuple[str, int]] = {}
        for login, key_node, value in _pairs(node, path, self.p):
            where = (*path, login)
            line = key_node.start_mark.line + 1
            if login_expected := check_login(login, kind):
                self.p.add(key_node, where, repr(login), login_expected)
            first = seen.get(login.lower())
            if first is not None:
                self.p.add(
                    key_node,
                    where,
                    f"{login!r} again",
                    f"each account once; {first[0]!r} is at line {first[1]} (account names ignore case)",
                )
                continue
            seen[login.lower()] = (login, line)
            meta = _no_meta()
            if isinstance(value, yaml.MappingNode):
                meta = self._meta(self._fields(value, where, OWNER_KEYS), where)
            elif not _is_null(value):
                self.p.add(
                    value, where, describe(value), "a mapping of owner metadata (pso_id, name...) or nothing"
                )
            owners.append(self._owner(login, line, meta, forge_meta))
        return tuple(owners)

    def _owner(self, login: str, line: int, meta: Meta, forge_meta: Meta) -> OwnerConfig:
        """Inheritance: what the owner lacks comes from its forge; it is ignored from the earlier of both dates."""
        pso_id = meta["pso_id"] or forge_meta["pso_id"]
        ministry = meta["ministry"] or self.ministries.get(pso_id or "") or forge_meta["ministry"]
        dates = [d for d in (meta["ignored_since"], forge_meta["ignored_since"]) if d is not None]
        return OwnerConfig(
            login=login,
            name=meta["name"],
            pso_id=pso_id,
            ministry=ministry,
            ministry_override=meta["ministry"],
            ignored_since=min(dates, default=None),
            floss_policy=meta["floss_policy"] or forge_meta["floss_policy"],
            ospo_url=meta["ospo_url"] or forge_meta["ospo_url"],
            line=line,
        )

    def _schedule(self, node: yaml.Node, hosts: list[str]) -> ScheduleConfig:
        path = ("schedule",)
        if not isinstance(node, yaml.MappingNode):
            self.p.add(node, path, describe(node), "a mapping with interval_hours, export_after, forges")
            return ScheduleConfig()
        fields = self._fields(node, path, SCHEDULE_KEYS)
        interval = DEFAULT_INTERVAL_HOURS
        if "interval_hours" in fields:
            interval = self._hours(fields["interval_hours"][1], (*path, "interval_hours")) or interval
        export_after = True
        if "export_after" in fields:
            flag = fields["export_after"][1]
            if isinstance(flag, yaml.ScalarNode) and flag.tag.endswith(":bool"):
                export_after = flag.value.lower() in ("true", "yes", "on", "y")
            else:
                self.p.add(flag, (*path, "export_after"), describe(flag), "true or false")
        overrides: list[ForgeSchedule] = []
        if "forges" in fields:
            forges_node = fields["forges"][1]
            if not isinstance(forges_node, yaml.MappingNode):
                self.p.add(
                    forges_node,
                    (*path, "forges"),
                    describe(forges_node),
                    "a mapping of forge host to {cron: '0 */4 * * *'} or {interval_hours: N}",
                )
            else:
                for host, key_node, value in _pairs(forges_node, (*path, "forges"), self.p):
                    overrides.extend(self._forge_schedule(host, key_node, value, hosts))
        annuaire: AnnuaireSchedule | None = AnnuaireSchedule()
        if "annuaire" in fields:
            annuaire = self._annuaire_schedule(fields["annuaire"][1])
        return ScheduleConfig(interval_hours=interval, export_after=export_after, forges=tuple(overrides),
                              annuaire=annuaire)

    def _annuaire_schedule(self, node: yaml.Node) -> AnnuaireSchedule | None:
        """`annuaire: false`, or {cron: ...} / {interval_hours: N}, optionally with `source: URL_OR_PATH`."""
        where = ("schedule", "annuaire")
        expected = "false, or a mapping with one of cron or interval_hours, and optionally source"
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":bool"):
            return AnnuaireSchedule() if node.value.lower() in ("true", "yes", "on", "y") else None
        if not isinstance(node, yaml.MappingNode):
            self.p.add(node, where, describe(node), expected)
            return AnnuaireSchedule()
        fields = self._fields(node, where, ANNUAIRE_SCHEDULE_KEYS)
        if "cron" in fields and "interval_hours" in fields:
            self.p.add(node, where, "both cron and interval_hours", "at most one of them")
        cron = None
        hours: float | None = AnnuaireSchedule().interval_hours
        if "cron" in fields:
            cron_node = fields["cron"][1]
            cron = _text(cron_node, (*where, "cron"), self.p, "a cron expression such as '0 3 * * 1'")
            if cron is not None and (problem := check_cron(cron)):
                self.p.add(cron_node, (*where, "cron"), describe(cron_node), problem)
            hours = None
        elif "interval_hours" in fields:
            hours = self._hours(fields["interval_hours"][1], (*where, "interval_hours")) or hours
        source = None
        if "source" in fields:
            source = _text(fields["source"][1], (*where, "source"), self.p, "a URL or a file path")
        return AnnuaireSchedule(cron=cron, interval_hours=hours, source=source)

    def _forge_schedule(
        self, host: str, key_node: yaml.Node, node: yaml.Node, hosts: list[str]
    ) -> list[ForgeSchedule]:
        where = ("schedule", "forges", host)
        if host not in hosts:
            close = suggestion(host, hosts, cutoff=0.9).replace("`", "'")
            self.p.add(key_node, where, repr(host), "a forge host listed in this file" + close)
        if not isinstance(node, yaml.MappingNode):
            self.p.add(node, where, describe(node), "{cron: '0 */4 * * *'} or {interval_hours: N}")
            return []
        fields = self._fields(node, where, FORGE_SCHEDULE_KEYS)
        if len(fields) != 1:
            self.p.add(
                node, where, f"{len(fields)} of cron/interval_hours", "exactly one of cron or interval_hours"
            )
            return []
        cron = hours = None
        if "cron" in fields:
            cron_node = fields["cron"][1]
            cron = _text(cron_node, (*where, "cron"), self.p, "a cron expression such as '0 */4 * * *'")
            if cron is not None and (expected := check_cron(cron)):
                self.p.add(cron_node, (*where, "cron"), describe(cron_node), expected)
        else:
            hours = self._hours(fields["interval_hours"][1], (*where, "interval_hours"))
        return [ForgeSchedule(host, cron, hours, key_node.start_mark.line + 1)]

    def _hours(self, node: yaml.Node, where: tuple[str, ...]) -> float | None:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith((":int", ":float")):
            value = float(yaml.safe_load(node.value))
            if 0 < value < float("inf"):
                return value
        self.p.add(node, where, describe(node), "a positive number of hours")
        return None


def load_ministries(path: Path, problems: Problems) -> dict[str, str]:
    """ministries.yml: `pso_id: name` for the top nodes of the official directory."""
    root = compose(path, problems)
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        problems.add(root, (), describe(root), "a mapping of pso_id to ministry name")
        return {}
    ministries = {}
    for key, key_node, value in _pairs(root, (), problems):
        if expected := check_uuid(key):
            problems.add(key_node, (key,), repr(key), expected)
        name = _text(value, (key,), problems, "a ministry name")
        if name is not None:
            ministries[key] = name
    return ministries
