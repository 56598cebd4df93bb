"""The search page at /: server-rendered HTML from the API's own reads (index.serve.query), so every page (the
first, a search, a facet, the next page) reads without JavaScript; forms and links carry the filters as the API's
query parameters. Every text from the index is escaped. Labels on every field, visible focus, contrast >= 7:1.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from index.serve.params import SORTS, Listing

FACET_TITLES = {"ministry": "Ministry", "forge": "Forge", "license": "Licence", "language": "Language",
                "archived": "Archived", "fork": "Fork", "publiccode": "publiccode.yml"}
STYLE = """
body{font:16px/1.5 system-ui,sans-serif;color:#161616;background:#fff;margin:0}
header,main{max-width:72rem;margin:0 auto;padding:0 1rem}
a{color:#000091}a:focus,input:focus,select:focus,button:focus{outline:3px solid #0a76f6;outline-offset:2px}
.layout{display:grid;grid-template-columns:16rem 1fr;gap:2rem}
@media (max-width:48rem){.layout{grid-template-columns:1fr}}
form.search{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:1rem 0}
label{display:block;font-weight:600}input,select,button{font:inherit;padding:.3rem .5rem}
button{background:#000091;color:#fff;border:0;cursor:pointer}
ol.results{list-style:none;padding:0}ol.results li{border-bottom:1px solid #ddd;padding:.6rem 0}
ol.results h3{margin:0;font-size:1.05rem}.meta{color:#3a3a3a;font-size:.9rem;margin:.2rem 0 0}
.facets h2{font-size:1rem;margin:1rem 0 .3rem}.facets ul{list-style:none;padding:0;margin:0}
.chosen{font-weight:700}.error{color:#ce0500;font-weight:600}nav.pages a{margin-right:1rem}
"""


def _href(params: dict[str, str]) -> str:
    return "/?" + urlencode(sorted(params.items())) if params else "/"


def _facet(name: str, entries: list[dict[str, Any]], current: dict[str, str]) -> str:
    if not entries:
        return ""
    items = []
    for entry in entries:
        value = entry["value"]
        shown = ("yes" if value else "no") if isinstance(value, bool) else (value if value is not None else "none")
        param = ("true" if value else "false") if isinstance(value, bool) else (value if value is not None else "none")
        chosen = current.get(name) == param
        params = {k: v for k, v in current.items() if k != name}
        if not chosen:
            params[name] = param
        label = f"{escape(str(shown))} ({entry['count']:,})"
        items.append(f'<li><a href="{escape(_href(params))}"' + (' class="chosen" aria-current="true"' if chosen else "")
                     + f' data-facet="{escape(name)}">{label}</a></li>')
    return f'<section><h2 id="facet-{name}">{FACET_TITLES[name]}</h2><ul aria-labelledby="facet-{name}">' \
           + "".join(items) + "</ul></section>"


def _item(item: dict[str, Any]) -> str:
    account = item["account"]
    meta = [f'<a class="account" href="{escape(account["status"])}" title="referencing status of this account">'
            f'{escape(account["login"])}</a> on {escape(item["forge"]["host"])}']
    for key in ("ministry", "language", "license"):
        if item.get(key):
            meta.append(escape(str(item[key])))
    meta.append(f'★ {item["stars"]:,}')
    if item["archived"]:
        meta.append("archived")
    if item["fork"]:
        meta.append("fork")
    description = f"<p>{escape(item['description'])}</p>" if item.get("description") else ""
    return (f'<li><h3><a class="repo" href="{escape(item["url"])}">{escape(item["full_name"])}</a></h3>'
            f'{description}<p class="meta">{" · ".join(meta)}</p></li>')


def render_page(data: dict[str, Any], listing: Listing, error: str | None = None) -> str:
    current = dict(listing.filters.query_string())
    if listing.sort != "stars":
        current["sort"] = listing.sort
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                     for k, v in sorted(current.items()) if k not in ("q", "sort"))
    sorts = "".join(f'<option value="{s}"' + (" selected" if s == listing.sort else "") + f">{s}</option>"
                    for s in SORTS)
    facets = "".join(_facet(name, entries, current) for name, entries in data.get("facets", {}).items())
    total = data.get("total")
    count = f"{total:,} repositories" if total is not None else ""
    pages = []
    if listing.cursor is not None:
        pages.append(f'<a href="{escape(_href(current))}">First page</a>')
    if data["next_cursor"]:
        pages.append(f'<a rel="next" id="next" href="{escape(_href({**current, "cursor": data["next_cursor"]}))}">'
                     "Next page</a>")
    items = "".join(_item(i) for i in data["items"]) or "<li>No repository matches.</li>"
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Public-sector source code</title><link rel="icon" href="data:,"><style>{STYLE}</style></head>
<body><header><h1>Public-sector source code</h1>
<form class="search" role="search" method="get" action="/">
<div><label for="q">Search names, descriptions, topics</label>
<input id="q" name="q" type="search" maxlength="200" value="{escape(listing.filters.q)}"></div>
<div><label for="sort">Sort by</label><select id="sort" name="sort">{sorts}</select></div>{hidden}
<button type="submit">Search</button></form>{problem}
<p id="total" aria-live="polite">{count}</p></header>
<main class="layout"><nav class="facets" aria-label="Filters">{facets}</nav>
<div><ol class="results" id="results">{items}</ol><nav class="pages" aria-label="Pages">{"".join(pages)}</nav>
<p><a href="/api/v1/openapi.json">API</a> · <a href="/data/repositories.json">repositories.json</a></p></div>
</main></body></html>
"""
