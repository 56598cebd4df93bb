"""Licences as the simulated forges show them: GitHub's licence object, and the seed data's display names.

The vocabulary (licensee key -> SPDX id and display name) is the index's own table, `index.licences`.
"""

from __future__ import annotations

from index.licences import LICENCES

__all__ = ["LICENCES", "github_license_object", "key_for_name"]


def github_license_object(key: str | None, api_base: str) -> dict[str, object] | None:
    """The REST `license` (nullable-license-simple) object GitHub shows for a licensee key."""
    if key is None:
        return None
    if key not in LICENCES:
        return {"key": "other", "name": "Other", "spdx_id": "NOASSERTION", "url": None, "node_id": "MDc6TGljZW5zZTA="}
    spdx, name = LICENCES[key]
    return {"key": key, "name": name, "spdx_id": spdx, "url": f"{api_base}/licenses/{key}", "node_id": "MDc6TGljZW5zZTEz"}


def key_for_name(name: str | None) -> str | None:
    """A licence display name (as in code.gouv.fr's 2021 export) → licensee key; "Other"/unknown → "other"."""
    if not name:
        return None
    wanted = name.strip().lower()
    for key, (_, display) in LICENCES.items():
        if display.lower() == wanted:
            return key
    if wanted.startswith("do what the f"):
        return "wtfpl"
    return "other"
