"""The export's files under /data/: code.gouv.fr's (export/codegouvfr/) at the paths code.gouv.fr publishes them
(/data/repos_preprod.json), the rest at their own path (/data/repositories.json, /data/status/...).

Validators from the file's size and modification time (as Starlette's FileResponse), 304 on If-None-Match or
If-Modified-Since; the .gz twin the export writes is sent when the client accepts gzip (its own ETag).
"""

from __future__ import annotations

import email.utils
import hashlib
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

CACHE_CONTROL = "public, max-age=300"
TYPES = {".json": "application/json", ".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8",
         ".xml": "application/xml", ".svg": "image/svg+xml"}


def locate(root: Path, path: str) -> Path | None:
    """The file `path` names under the export folder, or None. No hidden part, no '..', no way out of `root`."""
    parts = path.split("/")
    if not path or len(path) > 500 or any(not p or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        return None
    for base in (root / "codegouvfr", root):
        candidate = base.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if resolved.is_file() and resolved.is_relative_to(root.resolve()):
            return resolved
    return None


def _etag(stat: os.stat_result, variant: str) -> str:
    digest = hashlib.md5(f"{stat.st_mtime_ns}-{stat.st_size}{variant}".encode(), usedforsecurity=False).hexdigest()
    return f'"{digest}"'


def _not_modified(request: Request, etag: str, mtime: float) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")] or if_none_match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            parsed = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        return parsed is not None and int(mtime) <= parsed.timestamp()
    return False


def file_response(request: Request, file: Path) -> Response:
    gzipped = file.with_name(file.name + ".gz")
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    send = gzipped if accepts_gzip and file.suffix != ".gz" and gzipped.is_file() else file
    stat = send.stat()
    etag = _etag(stat, "-gz" if send is gzipped else "")
    headers = {"etag": etag, "last-modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
               "cache-control": CACHE_CONTROL, "vary": "Accept-Encoding"}
    if _not_modified(request, etag, stat.st_mtime):
        return Response(status_code=304, headers=headers)
    media = TYPES.get(file.suffix, "application/octet-stream")
    if send is gzipped:
        headers["content-encoding"] = "gzip"
    return FileResponse(send, media_type=media, headers=headers, stat_result=stat)
