"""Licences as the simulated forges show them: GitHub's licence object, and the seed data's display names.

The vocabulary (licensee key -> SPDX id and display name) is the index's own table, `index.licences`.
"""

from __future__ import annotations

from index.licences import FORGE_LICENCE_KEYS, LICENCES

__all__ = ["GNU_IDS", "LICENCES", "github_license_object", "gitlab_license_key", "key_for_name"]

# the current SPDX id a detector that tells them apart (Gitaly, Gitea) gives the GNU licences of the seed
GNU_IDS = {"gpl-3.0": "GPL-3.0-or-later", "agpl-3.0": "AGPL-3.0-only", "lgpl-2.1": "LGPL-2.1-only"}
# a licence licensee (GitHub, GitLab before Gitaly) does not know, by its SPDX id: "other" for them
SPDX_ONLY = {"etalab-2.0": "etalab-2.0"}


def gitlab_license_key(key: str, style: str) -> tuple[str, str]:
    """(`license.key`, `license.name`) a GitLab shows for the seed's licence `key`, in the host's `style`:
    "licensee" (older GitLab: licensee's key, "other" for a licence it does not know) or "gitaly" (recent GitLab:
    the current SPDX id in lower case)."""
    name = LICENCES[key][1] if key in LICENCES else SPDX_ONLY.get(key, key.upper())
    if style == "gitaly":
        if key in GNU_IDS:
            return GNU_IDS[key].lower(), name
        if key in LICENCES or key in SPDX_ONLY:
            return (LICENCES[key][0] if key in LICENCES else SPDX_ONLY[key]).lower(), name
    if key in FORGE_LICENCE_KEYS:
        return key, name
    return "other", "Other"


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
