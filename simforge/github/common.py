"""What GitHub's REST and GraphQL front ends share: the caller's identity, its rate-limit budgets, errors."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from simforge.exchange import SimRequest, SimResponse
from simforge.github import render as r

WINDOW_S = 3600


def options(req: SimRequest) -> dict[str, Any]:
    """SimForge.options (front-end knobs such as "github_rest_limit")."""
    return getattr(req, "options", None) or {}


def user_id(token: str | None) -> int:
    return int(hashlib.sha1((token or "").encode()).hexdigest()[:6], 16) if token else 0


def budget(req: SimRequest, resource: str) -> dict[str, int]:
    """The caller's budget for `resource` ("core" or "graphql"), refilled when its hour has passed. Caller holds
    req.state.lock."""
    opts = options(req)
    token = req.token
    if token is None:
        limit = int(opts.get("github_anon_limit", 60))
    elif resource == "graphql":
        limit = int(opts.get("github_graphql_limit", 5000))
    else:
        limit = int(opts.get("github_rest_limit", 5000))
    key = f"{resource}:{token or 'anonymous'}"
    now = int(time.time())
    entry = req.state.budgets.get(key)
    if entry is None or entry["reset"] <= now:
        entry = req.state.budgets[key] = {"limit": limit, "used": 0, "reset": now + WINDOW_S}
    entry["limit"] = limit
    return entry


def rate_headers(entry: dict[str, int], resource: str) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(entry["limit"]),
        "x-ratelimit-remaining": str(max(0, entry["limit"] - entry["used"])),
        "x-ratelimit-used": str(entry["used"]),
        "x-ratelimit-reset": str(entry["reset"]),
        "x-ratelimit-resource": resource,
    }


def error(status: int, message: str, doc: str = r.DOCS) -> SimResponse:
    return SimResponse(status, {"message": message, "documentation_url": doc, "status": str(status)})


INSTALLATION_TOKENS = "installation_tokens"  # HostState.extra key: token -> expiry (epoch seconds)


def token_valid(req: SimRequest, token: str) -> bool:
    """An installation token minted by `simforge.github.app`, not yet expired."""
    with req.state.lock:
        expiry = req.state.extra.setdefault(INSTALLATION_TOKENS, {}).get(token)
    return expiry is not None and expiry > time.time()


def auth_refused(req: SimRequest) -> bool:
    token = req.token
    if token is None:
        return False
    if token.startswith("ghs_"):  # a GitHub App's installation token (simforge.github.app): until it expires
        return not token_valid(req, token)
    valid = options(req).get("github_tokens")
    return token.startswith("bad") if valid is None else token not in valid
