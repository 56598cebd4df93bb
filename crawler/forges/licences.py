"""Every forge's licence key → the current SPDX id, the only licence vocabulary the index stores: `normalise`.

What forges answer, all handled by the one function:
- GitHub: `spdx_id` ("MIT", the deprecated GNU ids "GPL-3.0", "AGPL-3.0", "LGPL-2.1"; "NOASSERTION" for a licence
  file licensee could not match) and licensee's `key` ("agpl-3.0", "other").
- GitLab before Gitaly's detection (< 16.x): licensee's lower-case `key` ("gpl-3.0", "mit", "other").
- GitLab with Gitaly's detection (recent instances): the SPDX id in lower case ("gpl-3.0-or-later",
  "agpl-3.0-only", "etalab-2.0", "cecill-2.1"), "other" when unidentified, "no-license" / "NONE" when none.
- Gitea, Forgejo: SPDX ids in `licenses` ("GPL-3.0-or-later", "LicenseRef-..." for an unmatched text).

Ids are looked up in the SPDX licence list (license-expression, offline) and written as SPDX spells them now: a
deprecated id becomes its successor ("GPL-3.0" → "GPL-3.0-only", as the SPDX list defines it; a forge that says
only "GPL-3.0" did not say "or later"). "Other": a licence exists, unidentified. None: no licence.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from license_expression import ExpressionError, LicenseSymbol, get_spdx_licensing

from index.licences import LICENCES, OTHER

NO_LICENCE = frozenset({"no-license", "none", "no_license"})
UNIDENTIFIED = frozenset({"other", "noassertion", "unknown"})
_BY_NAME = {name.lower(): key for key, (_, name) in LICENCES.items()}
# license-expression's parser keeps state while it parses: two threads (GitLab's detail pool) at once corrupt each
# other's result, so every use goes through this lock
LICENSING_LOCK = threading.Lock()


@functools.cache
def licensing() -> Any:
    """The SPDX licence list as license-expression bundles it (no network)."""
    return get_spdx_licensing()


@functools.lru_cache(maxsize=4096)
def spdx_id(text: str | None) -> str | None:
    """One licence of the SPDX list, any case, deprecated or not → its current SPDX id; None for anything else
    (unknown ids, expressions such as "MIT OR Apache-2.0", LicenseRef-...)."""
    if not text or not text.strip() or len(text) > 200:
        return None
    try:
        with LICENSING_LOCK:
            parsed = licensing().parse(text.strip(), validate=True, strict=True)
    except ExpressionError:
        return None
    return str(parsed.key) if isinstance(parsed, LicenseSymbol) else None


def normalise(key: str | None, *, name: str | None = None) -> str | None:
    """A forge's licence key (any of the forms in the module docstring) → SPDX id, "Other", or None (no licence).

    `name` (the display name GitLab and GitHub send next to the key) identifies a licence whose key is unknown."""
    cleaned = key.strip() if isinstance(key, str) else ""
    if not cleaned or cleaned.lower() in NO_LICENCE:
        return None
    lowered = cleaned.lower()
    if lowered in UNIDENTIFIED or lowered.startswith("licenseref-"):
        return OTHER
    found = spdx_id(cleaned)
    if found is None and name:
        found = spdx_id(name) or spdx_id(_BY_NAME.get(name.strip().lower()))
    return found or OTHER


def from_github(spdx: str | None, key: str | None = None) -> str | None:
    """GitHub `license.spdx_id` (REST) or `licenseInfo.spdxId` (GraphQL), with `key` → SPDX id; None when none."""
    if spdx is None and key is None:
        return None
    if not spdx or spdx.strip().upper() == "NOASSERTION":
        return normalise(key) if key else OTHER
    return normalise(spdx)
