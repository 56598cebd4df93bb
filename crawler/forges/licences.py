"""Licence keys as the forges report them → SPDX ids, the only licence vocabulary the index stores.

GitHub already gives `spdx_id` (licensee's detection); its "NOASSERTION" means a licence file it could not match,
which the index calls "Other". GitLab gives only licensee's lower-case `key` (no spdx_id, see forge-api-notes
§2.4), so keys are mapped through the table below. Unknown keys become "Other": a licence exists, unidentified.
"""

from __future__ import annotations

OTHER = "Other"

# licensee key -> (SPDX id, display name as GitHub shows it)
LICENCES: dict[str, tuple[str, str]] = {
    "agpl-3.0": ("AGPL-3.0", "GNU Affero General Public License v3.0"),
    "apache-2.0": ("Apache-2.0", "Apache License 2.0"),
    "artistic-2.0": ("Artistic-2.0", "Artistic License 2.0"),
    "bsd-2-clause": ("BSD-2-Clause", 'BSD 2-Clause "Simplified" License'),
    "bsd-3-clause": ("BSD-3-Clause", 'BSD 3-Clause "New" or "Revised" License'),
    "bsd-3-clause-clear": ("BSD-3-Clause-Clear", "BSD 3-Clause Clear License"),
    "bsd-4-clause": ("BSD-4-Clause", 'BSD 4-Clause "Original" or "Old" License'),
    "0bsd": ("0BSD", "BSD Zero Clause License"),
    "bsl-1.0": ("BSL-1.0", "Boost Software License 1.0"),
    "cc-by-4.0": ("CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
    "cc-by-sa-4.0": ("CC-BY-SA-4.0", "Creative Commons Attribution Share Alike 4.0 International"),
    "cc0-1.0": ("CC0-1.0", "Creative Commons Zero v1.0 Universal"),
    "cecill-2.1": ("CECILL-2.1", "CeCILL Free Software License Agreement v2.1"),
    "cecill-b": ("CECILL-B", "CeCILL-B Free Software License Agreement"),
    "cecill-c": ("CECILL-C", "CeCILL-C Free Software License Agreement"),
    "epl-1.0": ("EPL-1.0", "Eclipse Public License 1.0"),
    "epl-2.0": ("EPL-2.0", "Eclipse Public License 2.0"),
    "eupl-1.1": ("EUPL-1.1", "European Union Public License 1.1"),
    "eupl-1.2": ("EUPL-1.2", "European Union Public License 1.2"),
    "gpl-2.0": ("GPL-2.0", "GNU General Public License v2.0"),
    "gpl-3.0": ("GPL-3.0", "GNU General Public License v3.0"),
    "isc": ("ISC", "ISC License"),
    "lgpl-2.1": ("LGPL-2.1", "GNU Lesser General Public License v2.1"),
    "lgpl-3.0": ("LGPL-3.0", "GNU Lesser General Public License v3.0"),
    "mit": ("MIT", "MIT License"),
    "mit-0": ("MIT-0", "MIT No Attribution"),
    "mpl-2.0": ("MPL-2.0", "Mozilla Public License 2.0"),
    "ms-pl": ("MS-PL", "Microsoft Public License"),
    "postgresql": ("PostgreSQL", "PostgreSQL License"),
    "unlicense": ("Unlicense", "The Unlicense"),
    "upl-1.0": ("UPL-1.0", "Universal Permissive License v1.0"),
    "wtfpl": ("WTFPL", "Do What The F*ck You Want To Public License"),
    "zlib": ("Zlib", "zlib License"),
}

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
