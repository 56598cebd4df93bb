"""The API's OpenAPI 3.1 description, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from index.serve.params import DEFAULT_LIMIT, MAX_DAYS, MAX_LIMIT, MAX_QUERY, SORTS


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


BOOLEAN = {"type": "string", "enum": ["true", "false"]}
FILTERS = [
    _param("ministry", 'ministry name as in ministries.json, or "none"', {"type": "string", "maxLength": 300}),
    _param("account", "host/login of an account, e.g. github.com/etalab", {"type": "string", "maxLength": 300}),
    _param("forge", "forge host, e.g. gitlab.com", {"type": "string", "maxLength": 300}),
]
REPOSITORY_FILTERS = FILTERS + [
    _param("q", "words searched in name, description and topics (word prefixes, all required)",
           {"type": "string", "maxLength": MAX_QUERY}),
    _param("license", 'SPDX id (MIT, EUPL-1.2...), or "none"', {"type": "string", "maxLength": 100}),
    _param("language", "main language (case-insensitive)", {"type": "string", "maxLength": 300}),
    _param("archived", "archived or not", BOOLEAN),
    _param("fork", "fork or not", BOOLEAN),
    _param("publiccode", "has a publiccode.yml or not", BOOLEAN),
    _param("active_days", "last push (else update) in the last N days",
           {"type": "integer", "minimum": 1, "maximum": MAX_DAYS}),
    _param("sort", "stars, activity, score (largest first) or name", {"type": "string", "enum": list(SORTS)}),
    _param("limit", "page size", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    _param("cursor", "next_cursor of the previous page", {"type": "string", "maxLength": 1000}),
    _param("facets", "facet counts (always on the first page)", BOOLEAN),
]
ERROR = {"description": "a parameter is invalid: `error` names it, `parameter` is its name",
         "content": {"application/json": {"schema": {"type": "object", "properties": {
             "error": {"type": "string"}, "parameter": {"type": "string"}}}}}}


def _get(summary: str, parameters: list[dict[str, Any]], description: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters,
                    "responses": {"200": {"description": description}, "400": ERROR}}}


def openapi() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "codeindex", "version": "1",
                 "description": "Public-sector repositories from the index, as the export publishes them. "
                                "Read-only; the exported files are under /data/."},
        "paths": {
            "/api/v1/repositories": _get(
                "Repositories, filtered, searched, sorted, paginated by cursor", REPOSITORY_FILTERS,
                "`items`, `next_cursor` (null on the last page), `total` and `facets` (counts per ministry, forge, "
                "license, language, archived, fork, publiccode for the current filter) on the first page"),
            "/api/v1/repository": _get("One repository by its web address", [
                {"name": "url", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 1000}}],
                "the repository (404 when no published repository has this address)"),
            "/api/v1/accounts": _get("Configured accounts with their status", FILTERS,
                                     "`accounts`: listed or not, repositories, last crawl, status page"),
            "/api/v1/ministries": _get("Ministries with their accounts and repositories", [],
                                       "`ministries`: counts and status page"),
        },
    }
