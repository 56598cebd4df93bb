"""What a simulated forge's front end sees and answers: one request, one response, and its host's state.

The front ends (`simforge.github`, `simforge.gitlab`, `simforge.gitea`) are functions
`handle(req: SimRequest) -> SimResponse`; the server (`simforge.server`) builds the requests and sends the answers.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simforge.world import World


@dataclass
class HostState:
    """Per-host mutable state: rate-limit budgets and counters. Front ends read and update it under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counters: Counter[str] = field(default_factory=Counter)  # requests, not_modified, rest_points, graphql_points...
    budgets: dict[str, dict[str, Any]] = field(default_factory=dict)  # free-form, owned by the front end
    extra: dict[str, Any] = field(default_factory=dict)



@dataclass
class SimRequest:
    method: str
    host: str  # the simulated forge host, e.g. "github.com"
    path: str  # raw path after the host prefix, e.g. "/api/v3/orgs/etalab/repos" or "/api/v4/groups/a%2Fb"
    query: dict[str, list[str]]  # form-decoded ("+" is a space, as python-gitlab's datetimes need)
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str  # "http://127.0.0.1:PORT/<host>": absolute URLs in answers start with it
    world: World
    state: HostState
    options: dict[str, Any] = field(default_factory=dict)  # SimForge.options: front-end knobs

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        return default if value is None else value.lower() in ("1", "true", "yes")

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith(("token ", "bearer ")):
            return auth.split(" ", 1)[1].strip()
        return self.headers.get("private-token")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class SimResponse:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes/str sent as-is
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


Handler = Callable[[SimRequest], SimResponse]
