"""`codeindex export`: write the JSON/CSV files a frontend fetches (index.export does the work)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


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
        click.echo(f"codeindex: warning: {path} unreadable ({exc}); ministries get no pso_id", err=True)
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
    from index.db import IndexDatabaseError, open_index
    from index.export import export_index

    settings = ctx.obj
    try:
        engine = open_index(settings.db_url)
    except IndexDatabaseError as exc:
        click.echo(f"codeindex: error: {exc}", err=True)
        sys.exit(2)
    try:
        report = export_index(engine, out_dir, gzip=use_gzip,
                              ministry_ids=_ministry_ids(getattr(settings, "config_path", None)))
    except IndexDatabaseError as exc:
        click.echo(f"codeindex: error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(f"codeindex: error: cannot write the export into {out_dir}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()
    click.echo(f"exported to {out_dir}/: {report.summary()}")
