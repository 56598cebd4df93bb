"""`codeindex serve`: the index read over HTTP, read-only (index.serve.app builds the ASGI application).

- `/data/...`: the exported files (index.serve.files), code.gouv.fr's at the paths code.gouv.fr publishes them;
- `/api/v1/...`: repositories filtered, searched, sorted, paginated, with facet counts (index.serve.query);
- `/`: a search page on that API (index.serve.page), server-rendered, readable without JavaScript.
docs/serve.md describes it all.
"""
