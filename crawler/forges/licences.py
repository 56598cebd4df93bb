"""Licence keys as the forges report them → SPDX ids, the only licence vocabulary the index stores.

GitHub already gives `spdx_id` (licensee's detection); its "NOASSERTION" means a licence file it could not match,
which the index calls "Other". GitLab gives only licensee's lower-case `key` (no spdx_id, see forge-api-notes
§2.4), so keys are mapped through the table below. Unknown keys become "Other": a licence exists, unidentified.
"""

from __future__ import annotations

from index.licences import LICENCES, OTHER

_BY_SPDX = {spdx.lower(): spdx for spdx, _ in LICENCES.values()}


def from_github(spdx_id: str | None, key: str | None = None) -> str | None:
    """GitHub `license.spdx_id` (REST) or `licenseInfo.spdxId` (GraphQL) → SPDX id; None when no licence."""
    if spdx_id is None and key is None:
        return None
    if not spdx_id or spdx_id.upper() == "NOASSERTION":
        return from_gitlab(key) if key and key != "other" else OTHER
    return spdx_id


def from_gitlab(key: str | None) -> str | None:
    """GitLab `license.key` (licensee's key, lower case) → SPDX id; unknown keys → "Other"."""
    if key is None:
        return None
    cleaned = key.strip().lower()
    if not cleaned:
        return None
    if cleaned in LICENCES:
        return LICENCES[cleaned][0]
    return _BY_SPDX.get(cleaned, OTHER)
