"""Each unit's ministry and organisation name, from the official directory (or the shipped excerpt of it).

Order, for an owner: its own `ministry:` key; else the ministry reached by walking the directory up from its
own-or-inherited `pso_id` (index.directory); else its forge's `ministry:` key; else none. For a whole forge: its
`ministry:`, else the walk from its `pso_id`. The organisation is the directory's name of that `pso_id`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from crawler.config.model import Config, ForgeConfig, OwnerConfig
from index.directory import UNKNOWN_PSO_ID, Directory, empty_directory, read_excerpt

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EXCERPT_NAME = "pso-ministry-excerpt.csv"


def excerpt_beside(config_path: Path) -> Directory | None:
    """The shipped excerpt next to the configuration (config/pso-ministry-excerpt.csv), when there is one."""
    path = config_path.parent / EXCERPT_NAME
    return read_excerpt(path) if path.is_file() else None


def with_stored_directory(session: Session, config: Config) -> Config:
    """`config` resolved through the directory stored in the index, if one was loaded (else unchanged)."""
    from index.directory import load_directory

    directory = load_directory(session)
    return config if directory is None else apply_directory(config, directory)


def apply_directory(config: Config, directory: Directory | None) -> Config:
    """The same configuration with every ministry and organisation resolved through `directory`."""
    directory = directory or empty_directory()
    forges = []
    for forge in config.forges:
        resolution = directory.resolve(forge.pso_id, config.ministries)
        forge_ministry = forge.ministry_override or (resolution.ministry if resolution else None)
        owners = tuple(_owner(owner, forge, directory, config) for owner in forge.owners)
        forges.append(dataclasses.replace(forge, ministry=forge_ministry, owners=owners,
                                          organisation=directory.name(forge.pso_id)))
    return dataclasses.replace(config, forges=tuple(forges), directory=directory)


def _owner(owner: OwnerConfig, forge: ForgeConfig, directory: Directory, config: Config) -> OwnerConfig:
    resolution = directory.resolve(owner.pso_id, config.ministries)
    ministry = owner.ministry_override or (resolution.ministry if resolution else None) or forge.ministry_override
    return dataclasses.replace(owner, ministry=ministry, organisation=directory.name(owner.pso_id))


class MinistryReport(TypedDict):
    """How many units the directory places, and which pso_ids it does not know (with how many units each)."""

    directory: str
    services: int
    units: int
    with_ministry: int
    with_real_pso_id: int
    resolved_by_directory: int
    unknown_pso_ids: dict[str, int]
    no_ministry_in_directory: dict[str, int]


def ministry_report(config: Config) -> MinistryReport:
    directory = config.directory or empty_directory()
    units = [owner or forge for forge, owner in config.accounts()]
    real = [u for u in units if u.pso_id and u.pso_id != UNKNOWN_PSO_ID]
    unknown: Counter[str] = Counter()
    dead_end: Counter[str] = Counter()
    resolved = 0
    for unit in real:
        resolution = directory.resolve(unit.pso_id, config.ministries)
        if resolution is not None and resolution.ministry is not None:
            resolved += 1
        elif unit.pso_id in directory:
            dead_end[str(unit.pso_id)] += 1
        else:
            unknown[str(unit.pso_id)] += 1
    return {
        "directory": directory.source,
        "services": len(directory),
        "units": len(units),
        "with_ministry": sum(1 for u in units if u.ministry),
        "with_real_pso_id": len(real),
        "resolved_by_directory": resolved,
        "unknown_pso_ids": dict(sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))),
        "no_ministry_in_directory": dict(sorted(dead_end.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
