"""`codeindex export`: write the JSON/CSV files a frontend fetches (index.export.build does the work)."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.common import fail, open_index_or_exit, warn


def _ministry_ids(config_path: Path | None) -> dict[str, str]:
    """Ministry name -> pso_id, from the ministries.yml beside the configuration (pso_id: name), if any."""
    if config_path is None:
        return {}
    path = Path(config_path).parent / "ministries.yml"
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        warn(f"{path} unreadable ({exc}); ministries get no pso_id")
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(name): str(pso_id) for pso_id, name in sorted(data.items(), key=str) if name}


@click.command("export")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("export"),
              show_default=True, help="Folder to write into (created if needed); files are replaced atomically.")
@click.option("--gzip/--no-gzip", "use_gzip", default=True, show_default=True,
              help="Also write a .json.gz beside each JSON file.")
@click.pass_context
def export_command(ctx: click.Context, out_dir: Path, use_gzip: bool) -> None:
    """Export the index: repositories, organisations, ministries, stats, and code.gouv.fr's formats.

    Only public, present repositories of configured, not ignored accounts and forges are written. Every file
    is replaced atomically, so a frontend reading the folder never sees half a file. See docs/export.md.
    """
    from crawler.demo import export_folder_problem, mark_demo_export
    from index.db import IndexDatabaseError
    from index.export.build import export_index
    from index.runs import index_purpose

    settings = ctx.obj
    engine = open_index_or_exit(settings.db_url)
    demo = index_purpose(engine) in ("demo", "mixed")
    problem = export_folder_problem(out_dir, demo)
    if problem:
        engine.dispose()
        fail(problem)
    try:
        report = export_index(engine, out_dir, gzip=use_gzip,
                              ministry_ids=_ministry_ids(getattr(settings, "config_path", None)))
    except IndexDatabaseError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the export into {out_dir}: {exc.strerror or exc}")  # the environment's: exit 2
    finally:
        engine.dispose()
    if demo:
        mark_demo_export(out_dir)
    click.echo(f"exported to {out_dir}/: {report.summary()}"
               + (f" (the demo's simulated data: {out_dir / 'DEMO-DATA.txt'})" if demo else ""))
