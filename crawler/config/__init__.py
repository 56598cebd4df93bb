"""The accounts configuration: code.gouv.fr's `comptes-organismes-publics.yml`, validated once into typed objects.

The file is read with `yaml.compose` rather than `yaml.safe_load`: nodes keep line numbers, the original text of
scalars (a login `1024` or `on` stays a login) and duplicate keys, which safe_load silently collapses. Every
problem of the file is collected and raised at once in a `ConfigError`; nothing is crawled from a bad file.
The format and our optional extensions are documented in docs/configuration.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from crawler.config.build import Builder, compose, load_ministries
from crawler.config.checks import UNKNOWN_PSO_ID, ConfigError, Problem, Problems
from crawler.config.ministries import (
    EXCERPT_NAME,
    MinistryReport,
    apply_directory,
    excerpt_beside,
    ministry_report,
)
from crawler.config.model import (
    Config,
    ForgeConfig,
    ForgeSchedule,
    OwnerConfig,
    ScheduleConfig,
    default_api_url,
)
from crawler.wording import plural

if TYPE_CHECKING:
    from index.directory import Directory

__all__ = [
    "Config",
    "ConfigError",
    "ForgeConfig",
    "ForgeSchedule",
    "OwnerConfig",
    "Problem",
    "ScheduleConfig",
    "UNKNOWN_PSO_ID",
    "apply_directory",
    "default_api_url",
    "format_summary",
    "load_config",
    "summarize",
]


def load_config(
    path: Path | str, ministries_path: Path | str | None = None, directory: Directory | None = None
) -> Config:
    """Read and validate the configuration; raise ConfigError listing every problem.

    `ministries_path` defaults to ministries.yml beside the configuration file, when there is one. Ministries are
    resolved through `directory` (the official directory stored in the index), else through the excerpt shipped
    beside the configuration (pso-ministry-excerpt.csv), else from the top nodes alone.
    """
    path = Path(path)
    problems = Problems(str(path))
    if (
        ministries_path is None
        and (path.parent / "ministries.yml").is_file()
        and path.name != "ministries.yml"
    ):
        ministries_path = path.parent / "ministries.yml"
    ministry_problems = Problems(str(ministries_path))
    ministries = load_ministries(Path(ministries_path), ministry_problems) if ministries_path else {}
    forges: list[ForgeConfig] = []
    schedule = ScheduleConfig()
    root = compose(path, problems)
    if root is not None:
        forges, schedule = Builder(problems, ministries).build(root)
    if problems.items or ministry_problems.items:
        ordered = sorted(problems.items, key=lambda p: p.line or 0) + sorted(
            ministry_problems.items, key=lambda p: p.line or 0
        )
        raise ConfigError(ordered)
    if directory is None:
        try:
            directory = excerpt_beside(path)
        except (OSError, ValueError) as exc:
            raise ConfigError([Problem(str(path.parent / EXCERPT_NAME), None, "(excerpt)", str(exc),
                                       "the directory excerpt shipped with codeindex")]) from None
    config = Config(path=path, forges=tuple(forges), schedule=schedule, ministries=ministries)
    return apply_directory(config, directory)


# ---------------------------------------------------------------------------------------------------- summary


class ScheduleSummary(TypedDict):
    interval_hours: float
    export_after: bool
    forge_overrides: int


class ConfigSummary(TypedDict):
    """What `codeindex config` prints (format_summary): counts of the file as of `date`."""

    file: str
    date: str
    forges: int
    forges_by_kind: dict[str, int]
    accounts: int
    forges_with_accounts: int
    whole_forge_entries: int
    units: int
    ignored_forges: int
    ignored_accounts: int
    unknown_pso_id: int
    missing_pso_id: int
    without_ministry: int
    ministries: MinistryReport
    schedule: ScheduleSummary


def summarize(config: Config, on: dt.date | None = None) -> ConfigSummary:
    """Counts that tell at a glance whether the file says what its author meant (ignored status as of `on`)."""
    on = on or dt.datetime.now(dt.UTC).date()
    by_kind: dict[str, int] = {}
    for forge in config.forges:
        by_kind[forge.kind] = by_kind.get(forge.kind, 0) + 1
    units = [owner or forge for forge, owner in config.accounts()]
    owners = [o for f in config.forges for o in f.owners]
    return {
        "file": str(config.path),
        "date": on.isoformat(),
        "forges": len(config.forges),
        "forges_by_kind": dict(sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0]))),
        "accounts": len(owners),
        "forges_with_accounts": sum(1 for f in config.forges if not f.whole_forge),
        "whole_forge_entries": sum(1 for f in config.forges if f.whole_forge),
        "units": len(units),
        "ignored_forges": sum(1 for f in config.forges if f.is_ignored(on)),
        "ignored_accounts": sum(1 for o in owners if o.is_ignored(on)),
        "unknown_pso_id": sum(1 for u in units if u.pso_id == UNKNOWN_PSO_ID),
        "missing_pso_id": sum(1 for u in units if u.pso_id is None),
        "without_ministry": sum(1 for u in units if u.ministry is None),
        "ministries": ministry_report(config),
        "schedule": {
            "interval_hours": config.schedule.interval_hours,
            "export_after": config.schedule.export_after,
            "forge_overrides": len(config.schedule.forges),
        },
    }


def format_summary(summary: ConfigSummary) -> str:
    kinds = ", ".join(f"{kind} {n}" for kind, n in summary["forges_by_kind"].items())
    sched = summary["schedule"]
    return "\n".join(
        [
            f"{summary['file']}: OK",
            f"  forges: {summary['forges']} ({kinds})",
            f"  accounts: {summary['accounts']} on {plural(summary['forges_with_accounts'], 'forge')}; "
            f"whole-forge entries: {summary['whole_forge_entries']}; units of work: {summary['units']}",
            f"  ignored on {summary['date']}: {plural(summary['ignored_forges'], 'forge')}, "
            f"{plural(summary['ignored_accounts'], 'account')}",
            f"  pso_id unknown ({UNKNOWN_PSO_ID}): {plural(summary['unknown_pso_id'], 'unit')}; "
            f"missing: {summary['missing_pso_id']}",
            f"  without ministry: {summary['without_ministry']} of {summary['units']} units",
            *_ministry_lines(summary["ministries"]),
            f"  schedule: every {sched['interval_hours']:g} h, export after: {'yes' if sched['export_after'] else 'no'}, "
            f"per-forge overrides: {sched['forge_overrides']}",
        ]
    )


def _ministry_lines(report: MinistryReport) -> list[str]:
    lines = [
        f"  with a ministry: {report['with_ministry']} of {report['units']} units; through the directory "
        f"({report['directory']}, {report['services']} bodies): {report['resolved_by_directory']} of the "
        f"{report['with_real_pso_id']} units with a real pso_id",
    ]
    for label, ids in (("pso_ids unknown to the directory", report["unknown_pso_ids"]),
                       ("pso_ids whose chain reaches no ministry", report["no_ministry_in_directory"])):
        if ids:
            units = sum(ids.values())
            lines.append(f"  {label}: {len(ids)} ({units} units):")
            lines += [f"    {pso_id} ({n} unit{'s' if n > 1 else ''})" for pso_id, n in ids.items()]
    return lines
