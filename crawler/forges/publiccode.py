"""Read a root publiccode.yml (https://yml.publiccode.tools) into `PubliccodeInfo`.

The file comes from strangers' repositories: input is size-capped, parsed with `yaml.safe_load` only, and every
access is type-checked, so hostile or broken files yield `valid=False` with a reason instead of an exception.
"""

from __future__ import annotations

from typing import Any

import yaml

from index.records import PubliccodeInfo

MAX_BYTES = 512 * 1024
REQUIRED = ("publiccodeYmlVersion", "name", "url")
LANG_PREFERENCE = ("fr", "en")


def _text(value: Any, limit: int = 10_000) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = " ".join(str(value).split())
        return text[:limit] or None
    return None


def _description(desc: Any) -> str | None:
    if not isinstance(desc, dict) or not desc:
        return None
    langs = [lang for lang in LANG_PREFERENCE if lang in desc] + sorted(str(k) for k in desc if k not in LANG_PREFERENCE)
    for lang in langs:
        block = desc.get(lang)
        if isinstance(block, dict):
            for key in ("shortDescription", "longDescription"):
                text = _text(block.get(key))
                if text:
                    return text
    return None


def _funded_by(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = []
    for item in value[:50]:
        name = _text(item.get("name"), 300) if isinstance(item, dict) else _text(item, 300)
        if name:
            names.append(name)
    return tuple(names)


def parse_publiccode(text: str | bytes | None) -> PubliccodeInfo:
    """Parse publiccode.yml text; never raises."""
    if text is None:
        return PubliccodeInfo(valid=False, error="empty file")
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            return PubliccodeInfo(valid=False, error=f"file larger than {MAX_BYTES} bytes")
        text = text.decode("utf-8", errors="replace")
    if len(text) > MAX_BYTES:
        return PubliccodeInfo(valid=False, error=f"file larger than {MAX_BYTES} bytes")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return PubliccodeInfo(valid=False, error=f"invalid YAML: {reason}"[:300])
    except (RecursionError, ValueError, TypeError, MemoryError) as exc:
        return PubliccodeInfo(valid=False, error=f"invalid YAML: {type(exc).__name__}")
    if not isinstance(data, dict):
        return PubliccodeInfo(valid=False, error="not a YAML mapping")
    try:
        legal = data.get("legal")
        legal = legal if isinstance(legal, dict) else {}
        maintenance = data.get("maintenance")
        maintenance = maintenance if isinstance(maintenance, dict) else {}
        name = _text(data.get("name"), 300)
        description = _description(data.get("description"))
        licence = _text(legal.get("license"), 300)
        maintenance_type = _text(maintenance.get("type"), 100)
        funded_by = _funded_by(data.get("fundedBy"))
        missing = [key for key in REQUIRED if data.get(key) in (None, "")]
        if not licence:
            missing.append("legal.license")
        if not maintenance_type:
            missing.append("maintenance.type")
    except (RecursionError, TypeError, ValueError, AttributeError) as exc:  # keys of exotic YAML types
        return PubliccodeInfo(valid=False, error=f"unreadable structure: {type(exc).__name__}")
    return PubliccodeInfo(
        valid=not missing, error="missing required keys: " + ", ".join(missing) if missing else None, name=name,
        description=description, license=licence, maintenance_type=maintenance_type, funded_by=funded_by,
    )
