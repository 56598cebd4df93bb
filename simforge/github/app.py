"""Simulated GitHub Apps: installation tokens minted for a JWT signed by the app's private key, as GitHub does.

Options (`SimForge.options`): `github_apps` {app id: PEM public key}, `github_installations` {installation id:
{"app_id": id, "account": login}}, `github_installation_token_ttl` (seconds, default 3600: GitHub's hour).

- `POST /app/installations/{id}/access_tokens` (JWT): a new `ghs_…` token and its `expires_at`;
- `GET /orgs/{org}/installation`, `GET /app/installations` (JWT): the app's installations;
- a `ghs_…` token is accepted until it expires, then refused with 401 like a bad token.

The JWT is checked as GitHub checks it: RS256 with the app's public key, `iss` the app id, `exp` at most ten
minutes after `iat` (docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from typing import Any

from simforge.exchange import SimRequest, SimResponse
from simforge.github.common import INSTALLATION_TOKENS, error, options

MINTED = "installation_tokens_minted"  # HostState.counters key


def _installations(req: SimRequest) -> dict[int, dict[str, Any]]:
    return {int(k): v for k, v in (options(req).get("github_installations") or {}).items()}


def _app_of(req: SimRequest) -> int | None:
    """The app whose valid JWT authenticates the request, or None."""
    import jwt

    token = req.token
    if not token or token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        app_id = int(claims["iss"])
        key = (options(req).get("github_apps") or {}).get(app_id) or (options(req).get("github_apps") or {}).get(
            str(app_id))
        if key is None:
            return None
        claims = jwt.decode(token, key, algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]},
                            leeway=60)
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
    if int(claims["exp"]) - int(claims["iat"]) > 660:
        return None
    return app_id


def _installation(req: SimRequest, installation_id: int, install: dict[str, Any]) -> dict[str, Any]:
    return {"id": installation_id, "app_id": install["app_id"], "target_type": "Organization",
            "account": {"login": install["account"], "type": "Organization"},
            "access_tokens_url": f"{req.base_url}/api/v3/app/installations/{installation_id}/access_tokens",
            "permissions": {"metadata": "read", "contents": "read"}, "repository_selection": "all"}


def handle(req: SimRequest, path: str) -> SimResponse | None:
    """The App endpoints, or None when `path` is not one of them."""
    mint = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
    org = re.fullmatch(r"/orgs/([^/]+)/installation", path)
    if not mint and not org and path.rstrip("/") != "/app/installations":
        return None
    app_id = _app_of(req)
    if app_id is None:
        return error(401, "A JSON web token could not be decoded")
    installations = {i: v for i, v in _installations(req).items() if int(v["app_id"]) == app_id}
    if mint:
        if req.method != "POST":
            return error(404, "Not Found")
        installation_id = int(mint.group(1))
        if installation_id not in installations:
            return error(404, "Not Found")
        ttl = float(options(req).get("github_installation_token_ttl", 3600))
        token = "ghs_" + secrets.token_hex(18)
        expires = time.time() + ttl
        with req.state.lock:
            req.state.extra.setdefault(INSTALLATION_TOKENS, {})[token] = expires
            req.state.counters[MINTED] += 1
        when = dt.datetime.fromtimestamp(expires, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return SimResponse(201, {"token": token, "expires_at": when,
                                 "permissions": {"metadata": "read", "contents": "read"},
                                 "repository_selection": "all"})
    if org:
        for installation_id, install in installations.items():
            if install["account"].lower() == org.group(1).lower():
                return SimResponse(200, _installation(req, installation_id, install))
        return error(404, "Not Found")
    return SimResponse(200, [_installation(req, i, v) for i, v in sorted(installations.items())])
