"""Simulated GitLab GraphQL (`POST /<host>/api/graphql`): GitLab 16's whole schema, executed by graphql-core over
the World, so any valid query runs; fields the simulator does not model resolve to null (or a neutral value
where the schema forbids null).

The schema is the one dumped from a GitLab 16.x instance (`data/schema-gitlab-16.graphql`, see data/README.md).
Option `gitlab_graphql` picks what the instance is:
* "recent" (default) — that schema plus `Project.isForked`, which GitLab added in 16.9;
* "16" — the schema as dumped (no `isForked`);
* "old" — an instance from before ~15.5: no `Project.languages` either;
* "none" — no GraphQL at all: `/api/graphql` answers 404, as on instances that disabled it.

GitLab's limits (app/graphql/gitlab_schema.rb, docs/api/graphql/index.md#limits), applied here:
* complexity at most 250 authenticated / 200 anonymous (option `gitlab_graphql_max_complexity` lowers it). Each field costs 1 plus its children; a field that calls
  Gitaly (tree, blobs, languages, lastCommit) costs 1 more; a connection adds 1% of its complexity per requested
  item (100 items double it). Over the limit: HTTP 200 with `errors: [{message: "Query has complexity of N,
  which exceeds max complexity of M"}]` and no data;
* at most 100 items per page (larger `first` values are cut to 100);
* a query that asks the repository tree of more projects than option `gitlab_graphql_tree_limit` (default: no
  limit) times out: HTTP 503 with GitLab's "Request timed out" error, as a real instance does under load;
* each POST counts as one request against the same throttle as REST (option `gitlab_limit_per_min`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import threading
from importlib import resources
from typing import Any

from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_schema,
    execute,
    get_named_type,
    is_enum_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    is_scalar_type,
    parse,
    validate,
)

from simforge.exchange import SimRequest, SimResponse
from simforge.gitlab.render import Index, host_index, languages, option, ts, web_url
from simforge.graphql_support import argument
from simforge.world import SimAccount, SimHost, SimRepo

MODES = ("recent", "16", "old", "none")
MAX_PAGE = 100
LIMIT_AUTHENTICATED, LIMIT_ANONYMOUS = 250, 200
GITALY_FIELDS = frozenset({("Repository", "tree"), ("Repository", "blobs"), ("Repository", "paginatedTree"),
                           ("Tree", "lastCommit"), ("Project", "languages")})
TIMEOUT_MESSAGE = "Request timed out. Please try a less complex query or a smaller set of records."
_SCHEMAS: dict[str, GraphQLSchema] = {}
_SCHEMA_LOCK = threading.Lock()


def schema(mode: str = "recent") -> GraphQLSchema:
    """The schema an instance of this mode serves, built once per process (about 1 s each)."""
    with _SCHEMA_LOCK:
        if mode not in _SCHEMAS:
            text = resources.files("simforge").joinpath("data", "schema-gitlab-16.graphql").read_text("utf-8")
            if mode == "old":
                text = _without_field(text, "Project", "languages")
            if mode == "recent":
                text += '\nextend type Project {\n  "Project is forked."\n  isForked: Boolean!\n}\n'
            _SCHEMAS[mode] = build_schema(text, assume_valid=True)
        return _SCHEMAS[mode]


def _without_field(text: str, type_name: str, field: str) -> str:
    """The SDL without one field of one type (with its description), as an older GitLab lacks it."""
    start = text.index(f"\ntype {type_name} ")
    end = text.index("\n}\n", start)
    block = re.sub(rf'\n  """(?:(?!""").)*"""\n  {field}(\([^)]*\))?: [^\n]*|\n  "[^"\n]*"\n  {field}: [^\n]*'
                   rf'|\n  {field}: [^\n]*', "", text[start:end], count=1, flags=re.S)
    return text[:start] + block + text[end:]


# complexity ----------------------------------------------------------------------------------------------------
def query_complexity(sch: GraphQLSchema, document: Any, variables: dict[str, Any],
                     operation_name: str | None) -> tuple[int, int]:
    """(complexity, projects whose tree is asked) of the operation, by GitLab's rules (see the module docstring)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    op = next((o for o in ops if o.name and o.name.value == operation_name), ops[0] if ops else None)
    trees = 0

    def walk(selection_set: Any, parent: Any, depth: int, items: int) -> float:
        nonlocal trees
        total = 0.0
        if selection_set is None or depth > 30:
            return total
        for sel in selection_set.selections:
            if isinstance(sel, FragmentSpreadNode):
                frag = fragments.get(sel.name.value)
                if frag:
                    total += walk(frag.selection_set, sch.get_type(frag.type_condition.name.value) or parent,
                                  depth + 1, items)
                continue
            if isinstance(sel, InlineFragmentNode):
                target = sch.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                total += walk(sel.selection_set, target or parent, depth + 1, items)
                continue
            definition = (getattr(parent, "fields", None) or {}).get(sel.name.value)
            if definition is None:
                continue
            named = get_named_type(definition.type)
            size = 1
            if named.name.endswith("Connection"):
                first, last = argument(sel, "first", variables), argument(sel, "last", variables)
                wanted = first if isinstance(first, int) else last if isinstance(last, int) else MAX_PAGE
                size = max(0, min(wanted, MAX_PAGE))
            if (getattr(parent, "name", ""), sel.name.value) == ("Repository", "tree"):
                trees += items
            cost = 1.0 + walk(sel.selection_set, named, depth + 1, items * size)
            if (getattr(parent, "name", ""), sel.name.value) in GITALY_FIELDS:
                cost += 1
            if named.name.endswith("Connection"):
                cost += cost * 0.01 * size
            total += int(cost)
        return total

    if op is None:
        return 0, 0
    root = sch.mutation_type if op.operation.value == "mutation" else sch.query_type
    return int(walk(op.selection_set, root, 0, 1)), trees


# request -------------------------------------------------------------------------------------------------------
def handle_graphql(req: SimRequest, authorised: bool) -> SimResponse:
    mode = str(option(req, "gitlab_graphql", "recent"))
    if mode == "none":
        return SimResponse(404, {"error": "404 Not Found"})
    if req.method != "POST":
        return SimResponse(200, {"errors": [{"message": "Unexpected end of document"}]})
    sch = schema(mode)
    try:
        payload = req.json() or {}
        document = parse(payload.get("query") or "")
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
    except (ValueError, AttributeError) as exc:
        return SimResponse(400, {"errors": [{"message": f"Invalid JSON: {exc}"}]})
    except GraphQLError as exc:
        return SimResponse(200, {"errors": [{"message": exc.message}]})
    problems = validate(sch, document)
    if problems:
        return SimResponse(200, {"errors": [{"message": e.message} for e in problems[:10]]})
    complexity, trees = query_complexity(sch, document, variables, operation_name)
    limit = int(option(req, "gitlab_graphql_max_complexity", LIMIT_AUTHENTICATED if authorised else LIMIT_ANONYMOUS))
    with req.state.lock:
        req.state.counters["graphql_queries"] += 1
    if complexity > limit:
        return SimResponse(200, {"errors": [{"message": f"Query has complexity of {complexity}, which exceeds max "
                                                        f"complexity of {limit}"}]})
    tree_limit = option(req, "gitlab_graphql_tree_limit")
    if tree_limit is not None and trees > int(tree_limit):
        return SimResponse(503, {"errors": [{"message": TIMEOUT_MESSAGE}]})
    context = {"req": req, "sim": req.world.host(req.host), "index": host_index(req), "authorised": authorised,
               "complexity": complexity, "limit": limit}
    result = execute(sch, document, root_value={}, context_value=context, variable_values=variables,
                     operation_name=operation_name, field_resolver=_resolve)
    assert isinstance(result, ExecutionResult)  # every resolver is synchronous
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [{"message": e.message, "path": e.path} for e in result.errors]
    return SimResponse(200, body)


# resolvers: values are dicts; domain objects ride along under "_repo", "_ns" ------------------------------------
def _neutral(type_: Any) -> Any:
    if is_list_type(type_):
        return []
    named = get_named_type(type_)
    if is_scalar_type(named):
        return {"Boolean": False, "Int": 0, "Float": 0.0}.get(named.name, "")
    if is_enum_type(named):
        return next(iter(named.values))
    if named.name.endswith("Connection"):
        return _connection([], {}, lambda x: x)
    if is_object_type(named):
        return {}
    return None


def _resolve(source: Any, info: Any, **args: Any) -> Any:
    fn = RESOLVERS.get((info.parent_type.name, info.field_name))
    value = fn(source, info, **args) if fn else (source.get(info.field_name) if isinstance(source, dict) else None)
    if value is None and is_non_null_type(info.return_type):
        return _neutral(info.return_type.of_type)
    return value


def _cursor(offset: int) -> str:
    return base64.b64encode(f'{{"id":"{offset}"}}'.encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().split('"id":"', 1)[1].split('"', 1)[0])
    except (ValueError, IndexError, UnicodeDecodeError):
        raise GraphQLError("Please provide a valid cursor") from None


def _connection(items: list[Any], args: dict[str, Any], wrap: Any) -> dict[str, Any]:
    total = len(items)
    start = min(_offset(args.get("after")), total)
    end = total
    if args.get("first") is not None:
        end = min(total, start + min(int(args["first"]), MAX_PAGE))
    elif args.get("last") is not None:
        start = max(start, end - min(int(args["last"]), MAX_PAGE))
    nodes = [wrap(item) for item in items[start:end]]
    return {"count": total, "nodes": nodes,
            "edges": [{"cursor": _cursor(start + i + 1), "node": n} for i, n in enumerate(nodes)],
            "pageInfo": {"hasNextPage": end < total, "hasPreviousPage": start > 0,
                         "startCursor": _cursor(start + 1) if nodes else None,
                         "endCursor": _cursor(start + len(nodes)) if nodes else None}}


def _ctx(info: Any) -> tuple[SimRequest, SimHost, Index]:
    return info.context["req"], info.context["sim"], info.context["index"]


def _gid(kind: str, ident: int) -> str:
    return f"gid://gitlab/{kind}/{ident}"


def _visible(info: Any, repo: SimRepo) -> bool:
    return bool(info.context["authorised"]) or repo.visibility == "public"


def _namespace(info: Any, ns: str) -> dict[str, Any] | None:
    req, sim, index = _ctx(info)
    low = ns.lower()
    if low not in index.ns_path:
        return None
    path = index.ns_path[low]
    account: SimAccount | None = sim.account(path)
    if account is not None and not (info.context["authorised"] or account.visibility == "public"):
        return None
    is_user = account is not None and account.kind == "user"
    return {"_ns": low, "id": _gid("Namespaces::UserNamespace" if is_user else "Group", index.ns_id[low]),
            "fullPath": path, "path": path.rsplit("/", 1)[-1], "fullName": path,
            "name": account.name if account and account.name else path.rsplit("/", 1)[-1],
            "description": (account.description if account else None) or "",
            "visibility": account.visibility if account else "public",
            "webUrl": web_url(req, path if is_user else f"groups/{path}"),
            "avatarUrl": account.avatar_url if account else None, "_user": is_user}


def q_group(source: Any, info: Any, fullPath: str, **_: Any) -> Any:  # noqa: N803 - GraphQL argument name
    found = _namespace(info, fullPath)
    return None if found is None or found["_user"] else found


def q_namespace(source: Any, info: Any, fullPath: str, **_: Any) -> Any:  # noqa: N803 - GraphQL argument name
    return _namespace(info, fullPath)


def ns_projects(source: Any, info: Any, **args: Any) -> Any:
    _req, sim, index = _ctx(info)
    ns = source["_ns"]
    spaces = index.subtree(ns) if args.get("includeSubgroups") and not source["_user"] else [ns]
    ids = sorted(pid for space in spaces for pid in index.by_ns.get(space, ()))
    own = set(spaces)
    repos = [sim.repos[pid] for pid in ids if pid in sim.repos]
    repos = [r for r in repos if r.namespace.lower() in own and _visible(info, r)]
    return _connection(repos, args, _project)


def q_projects(source: Any, info: Any, **args: Any) -> Any:
    _req, sim, _index = _ctx(info)
    repos = [sim.repos[pid] for pid in sorted(sim.repos) if _visible(info, sim.repos[pid])]
    if args.get("sort") == "id_desc":
        repos.reverse()
    return _connection(repos, args, _project)


def _project(repo: SimRepo) -> dict[str, Any]:
    return {"_repo": repo}


def _p(fn: Any) -> Any:
    return lambda source, info, **args: fn(source["_repo"], info, **args)


def _repository(repo: SimRepo, info: Any) -> dict[str, Any]:
    return {"_repo": repo, "empty": repo.empty, "exists": True,
            "rootRef": None if repo.empty else repo.default_branch}


def _blob_sha(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _tree(repo: SimRepo, info: Any, **args: Any) -> Any:
    if repo.empty or (args.get("path") or "") not in ("", "/"):
        return None
    return {"_repo": repo}


def _blobs(source: Any, info: Any, **args: Any) -> Any:
    repo: SimRepo = source["_repo"]
    names = sorted(repo.files)
    return _connection(names, args, lambda n: {
        "id": _gid("Blob", int(_blob_sha(repo.files[n])[:8], 16)), "sha": _blob_sha(repo.files[n]), "name": n,
        "path": n, "flatPath": n, "type": "blob", "mode": "100644",
        "webUrl": web_url(_ctx(info)[0], f"{repo.full_name}/-/blob/{repo.default_branch}/{n}")})


def _last_commit(source: Any, info: Any, **_: Any) -> Any:
    repo: SimRepo = source["_repo"]
    if not repo.commits:
        return None
    c = repo.commits[0]
    return {"id": _gid("CommitPresenter", int(c.sha[:8], 16)), "sha": c.sha, "shortId": c.sha[:8],
            "authoredDate": ts(c.authored_at), "authorName": c.author_name, "authorEmail": c.author_email,
            "title": c.message.splitlines()[0] if c.message else "", "message": c.message,
            "webPath": f"/{repo.full_name}/-/commit/{c.sha}"}


def _languages(repo: SimRepo, info: Any) -> Any:
    return [{"name": name, "share": share} for name, share in languages(repo).items()]


def _releases(repo: SimRepo, info: Any, **args: Any) -> Any:
    order = list(range(len(repo.releases)))  # newest first
    if args.get("sort") in ("RELEASED_AT_ASC", "CREATED_ASC"):
        order.reverse()

    def wrap(i: int) -> dict[str, Any]:
        rel = repo.releases[i]
        return {"tagName": rel.tag, "name": rel.name or rel.tag, "releasedAt": ts(rel.published_at),
                "createdAt": ts(rel.published_at), "upcomingRelease": False}

    return _connection(order, args, wrap)


def _ts_or_none(value: dt.datetime | None) -> str | None:
    return ts(value) if value is not None else None


RESOLVERS: dict[tuple[str, str], Any] = {
    ("Query", "group"): q_group,
    ("Query", "namespace"): q_namespace,
    ("Query", "projects"): q_projects,
    ("Query", "queryComplexity"): lambda s, info, **_: {"score": info.context["complexity"],
                                                       "limit": info.context["limit"]},
    ("Group", "projects"): ns_projects,
    ("Namespace", "projects"): ns_projects,
    ("Project", "id"): _p(lambda x, i: _gid("Project", x.id)),
    ("Project", "name"): _p(lambda x, i: x.name),
    ("Project", "path"): _p(lambda x, i: x.name),
    ("Project", "fullPath"): _p(lambda x, i: x.full_name),
    ("Project", "nameWithNamespace"): _p(lambda x, i: f"{x.namespace} / {x.name}"),
    ("Project", "description"): _p(lambda x, i: x.description),
    ("Project", "webUrl"): _p(lambda x, i: web_url(_ctx(i)[0], x.full_name)),
    ("Project", "visibility"): _p(lambda x, i: x.visibility),
    ("Project", "archived"): _p(lambda x, i: x.archived),
    ("Project", "starCount"): _p(lambda x, i: x.stars),
    ("Project", "forksCount"): _p(lambda x, i: x.forks),
    ("Project", "openIssuesCount"): _p(lambda x, i: x.open_issues),
    ("Project", "createdAt"): _p(lambda x, i: _ts_or_none(x.created_at)),
    ("Project", "lastActivityAt"): _p(lambda x, i: _ts_or_none(x.pushed_at or x.updated_at)),
    ("Project", "topics"): _p(lambda x, i: list(x.topics)),
    ("Project", "tagList"): _p(lambda x, i: ", ".join(x.topics)),
    ("Project", "isForked"): _p(lambda x, i: x.fork),
    ("Project", "namespace"): _p(lambda x, i: _namespace(i, x.namespace)),
    ("Project", "repository"): _p(_repository),
    ("Project", "languages"): _p(_languages),
    ("Project", "releases"): _p(_releases),
    ("Repository", "tree"): lambda s, info, **a: _tree(s["_repo"], info, **a),
    ("Tree", "blobs"): _blobs,
    ("Tree", "trees"): lambda s, info, **a: _connection([], a, lambda x: x),
    ("Tree", "lastCommit"): _last_commit,
}
__all__ = ["MODES", "handle_graphql", "query_complexity", "schema"]
