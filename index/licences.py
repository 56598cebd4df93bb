"""The licence vocabulary shared by the crawler (forge key → SPDX id) and the export (SPDX id → forge key).

Keys are licensee's (https://github.com/licensee/licensee), which GitHub and GitLab both report in `license.key`.
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

# licensee keys that GitHub knows but that are not in the table above (no display name needed here)
EXTRA_KEYS = frozenset({
    "afl-3.0", "ecl-2.0", "lppl-1.3c", "ms-rl", "mulanpsl-2.0", "ncsa", "odbl-1.0", "ofl-1.1", "osl-3.0", "vim",
})
FORGE_LICENCE_KEYS = frozenset(LICENCES) | EXTRA_KEYS

# SPDX ids the OSI approves or the FSF lists as free ("isOsiApproved" or "isFsfLibre" in the SPDX licence list),
# among those the forges report: what "published under a free licence" counts, per ministry, over time
APPROVED_SPDX = frozenset({
    "0BSD", "AFL-3.0", "AGPL-3.0", "Apache-2.0", "Artistic-2.0", "BSD-2-Clause", "BSD-3-Clause",
    "BSD-3-Clause-Clear", "BSD-4-Clause", "BSL-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CECILL-2.1",
    "CECILL-B", "CECILL-C", "ECL-2.0", "EPL-1.0", "EPL-2.0", "EUPL-1.1", "EUPL-1.2", "GPL-2.0", "GPL-3.0", "ISC",
    "LGPL-2.1", "LGPL-3.0", "LPPL-1.3c", "MIT", "MIT-0", "MPL-2.0", "MS-PL", "MS-RL", "MulanPSL-2.0", "NCSA",
    "ODbL-1.0", "OFL-1.1", "OSL-3.0", "PostgreSQL", "Unlicense", "UPL-1.0", "Vim", "WTFPL", "Zlib",
})
# the same, in every spelling the index may hold: GPL-3.0, GPL-3.0-only, GPL-3.0-or-later, GPL-3.0+
APPROVED_SPDX_FORMS = frozenset(
    form for spdx in APPROVED_SPDX for form in (spdx, f"{spdx}-only", f"{spdx}-or-later", f"{spdx}+")
)


def is_approved(spdx: str | None) -> bool:
    """An OSI-approved or FSF-free licence (SPDX id, with or without -only / -or-later / +)."""
    return spdx is not None and spdx.strip() in APPROVED_SPDX_FORMS
