"""Simulated GitHub GraphQL (`POST /<host>/api/graphql`): GitHub's whole public schema, executed by graphql-core
over the World, so any valid query runs; fields the simulator does not model resolve to null (or to a neutral
value — false, 0, "", empty connection — where the schema forbids null).

Limits as documented (forge-api-notes §1.6, https://docs.github.com/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api):
every connection needs `first` or `last` in 1..100, ≤500,000 nodes per call; cost = sum over connections of the
requests needed assuming every first/last is maxed, /100, rounded, minimum 1; out of points → HTTP 200 with
`errors[type=RATE_LIMITED]` and `x-ratelimit-remaining: 0`.
"""

from __future__ import annotations

import base64
import datetime as dt
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
    is_abstract_type,
    is_enum_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    is_scalar_type,
    parse,
    validate,
)

from simforge.exchange import SimRequest, SimResponse
from simforge.github import render as r
from simforge.github.common import auth_refused, budget, error, options, rate_headers, user_id
from simforge.graphql_support import argument
from simforge.licences import LICENCES
from simforge.world import SimAccount, SimHost, SimRepo

MAX_NODES = 500_000
_SCHEMA: GraphQLSchema | None = None
_SCHEMA_LOCK = threading.Lock()


def schema() -> GraphQLSchema:
    """GitHub's schema, built once per process (about 1 s)."""
    global _SCHEMA
    with _SCHEMA_LOCK:
        if _SCHEMA is None:
            text = resources.files("simforge").joinpath("data", "schema-github.graphql").read_text("utf-8")
            _SCHEMA = build_schema(text, assume_valid=True)
        return _SCHEMA


class NotFound(Exception):
    pass


# --------------------------------------------------------------------------------------------------------------
# cost and node limits


def query_cost(document: Any, variables: dict[str, Any], operation_name: str | None) -> tuple[int, int, list[str]]:
    """(cost points, node count, node-limit errors) of the operation, by GitHub's documented formula."""
    sch = schema()
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    op = next((o for o in ops if o.name and o.name.value == operation_name), ops[0] if ops else None)
    requests, nodes, problems = 0, 0, []

    def walk(selection_set: Any, parent: Any, multiplier: int, depth: int) -> None:
        nonlocal requests, nodes
        if selection_set is None or depth > 30:
            return
        for sel in selection_set.selections:
            if isinstance(sel, FragmentSpreadNode):
                frag = fragments.get(sel.name.value)
                if frag:
                    walk(frag.selection_set, sch.get_type(frag.type_condition.name.value) or parent, multiplier, depth + 1)
                continue
            if isinstance(sel, InlineFragmentNode):
                target = sch.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                walk(sel.selection_set, target or parent, multiplier, depth + 1)
                continue
            fields = getattr(parent, "fields", None) or {}
            definition = fields.get(sel.name.value)
            if definition is None:
                continue
            named = get_named_type(definition.type)
            child_multiplier = multiplier
            if named.name.endswith("Connection"):
                first, last = argument(sel, "first", variables), argument(sel, "last", variables)
                size = first if first is not None else last
                if size is None:
                    problems.append(f"You must provide a `first` or `last` value to properly paginate the "
                                    f"`{sel.name.value}` connection.")
                    size = 100
                elif not isinstance(size, int) or size < 1 or size > 100:
                    which = "first" if first is not None else "last"
                    problems.append(f"Requesting {size} records on the `{sel.name.value}` connection exceeds the "
                                    f"`{which}` limit of 100 records." if isinstance(size, int) and size > 100 else
                                    f"`{which}` on the `{sel.name.value}` connection must be between 1 and 100.")
                    size = 100
                requests += multiplier
                child_multiplier = multiplier * size
                nodes += child_multiplier
            walk(sel.selection_set, named, child_multiplier, depth + 1)

    if op is not None:
        root = sch.mutation_type if op.operation.value == "mutation" else sch.query_type
        walk(op.selection_set, root, 1, 0)
    cost = max(1, round(requests / 100))
    if op is not None and op.operation.value == "mutation":
        cost = max(cost, 5)
    if nodes > MAX_NODES:
        problems.append(f"By the time this query traverses to the nodes, it requests up to {nodes} possible nodes "
                        f"which exceeds the maximum limit of {MAX_NODES}.")
    return cost, nodes, problems


# --------------------------------------------------------------------------------------------------------------
# request


def handle_graphql(req: SimRequest) -> SimResponse:
    if req.token is None:
        return error(401, "This endpoint requires you to be authenticated.",
                     "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql")
    if auth_refused(req):
        return error(401, "Bad credentials", "https://docs.github.com/graphql")
    try:
        payload = req.json() or {}
        source = payload.get("query") or ""
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        document = parse(source)
    except (ValueError, AttributeError) as exc:
        return SimResponse(200, {"errors": [{"message": f"Problems parsing JSON: {exc}"}]})
    except GraphQLError as exc:
        return SimResponse(200, {"errors": [{"message": exc.message, "locations": _locations(exc)}]})
    problems = validate(schema(), document)
    if problems:
        return SimResponse(200, {"errors": [{"message": e.message, "locations": _locations(e)} for e in problems[:10]]})
    cost, node_count, limit_errors = query_cost(document, variables, operation_name)
    if limit_errors:
        return SimResponse(200, {"errors": [{"type": "MAX_NODE_LIMIT_EXCEEDED" if "maximum" in m else "EXCESSIVE_PAGINATION",
                                             "message": m} for m in limit_errors]})
    with req.state.lock:
        entry = budget(req, "graphql")
        if entry["limit"] - entry["used"] < cost:
            entry["used"] = max(entry["used"], entry["limit"])
            body: dict[str, Any] = {"errors": [{"type": "RATE_LIMITED",
                                                "message": f"API rate limit exceeded for user ID {user_id(req.token)}."}]}
            return SimResponse(200, body, rate_headers(entry, "graphql"))
        entry["used"] += cost
        req.state.counters["graphql_points"] += cost
        snapshot = dict(entry)
    context = {"req": req, "sim": req.world.host(req.host), "cost": cost, "nodes": node_count, "budget": snapshot}
    result = execute(schema(), document, root_value={}, context_value=context, variable_values=variables,
                     operation_name=operation_name, field_resolver=_resolve, type_resolver=_type_of)
    assert isinstance(result, ExecutionResult)  # every resolver is synchronous: never an awaitable
    body = {"data": result.data}
    if result.errors:
        body["errors"] = [_format_error(e) for e in result.errors]
    return SimResponse(200, body, rate_headers(snapshot, "graphql"))


def _locations(exc: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in exc.locations or ()]


def _format_error(exc: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = {"path": exc.path, "locations": _locations(exc), "message": exc.message}
    if isinstance(exc.original_error, NotFound):
        out = {"type": "NOT_FOUND", **out}
    return out


# --------------------------------------------------------------------------------------------------------------
# resolvers: values are dicts with "__typename"; domain objects ride along under "_repo", "_account", ...


def _type_of(value: Any, info: Any, abstract: Any) -> str | None:
    if isinstance(value, dict) and value.get("__typename"):
        typename: str = value["__typename"]
        return typename
    possible = info.schema.get_possible_types(abstract)
    return possible[0].name if possible else None


def _neutral(type_: Any, info: Any) -> Any:
    """A value for a non-null field the simulator does not model."""
    if is_list_type(type_):
        return []
    named = get_named_type(type_)
    if is_scalar_type(named):
        return {"Boolean": False, "Int": 0, "Float": 0.0, "DateTime": "1970-01-01T00:00:00Z"}.get(named.name, "")
    if is_enum_type(named):
        return next(iter(named.values))
    if is_abstract_type(named):
        possible = info.schema.get_possible_types(named)
        return {"__typename": possible[0].name} if possible else None
    if named.name.endswith("Connection"):
        return _connection(named.name, [], {}, lambda x: x)
    if is_object_type(named):
        return {"__typename": named.name}
    return None


def _resolve(source: Any, info: Any, **args: Any) -> Any:
    parent = info.parent_type.name
    fn = RESOLVERS.get((parent, info.field_name))
    value = fn(source, info, **args) if fn else (source.get(info.field_name) if isinstance(source, dict) else None)
    if value is None and is_non_null_type(info.return_type):
        return _neutral(info.return_type.of_type, info)
    return value


def _ctx(info: Any) -> tuple[SimRequest, SimHost]:
    return info.context["req"], info.context["sim"]


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError, UnicodeDecodeError):
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def _connection(typename: str, items: list[Any], args: dict[str, Any], wrap: Any) -> dict[str, Any]:
    total = len(items)
    first, last = args.get("first"), args.get("last")
    start = _offset(args.get("after")) if args.get("after") else 0
    end = min(total, _offset(args.get("before")) - 1) if args.get("before") else total
    start = min(start, total)
    if first is not None:
        end = min(end, start + first)
    elif last is not None:
        start = max(start, end - last)
    window = items[start:end]
    nodes = [wrap(item) for item in window]
    edges = [{"__typename": typename.replace("Connection", "Edge"), "cursor": _cursor(start + i + 1), "node": node}
             for i, node in enumerate(nodes)]
    return {
        "__typename": typename, "totalCount": total, "nodes": nodes, "edges": edges, "totalDiskUsage": 0,
        "pageInfo": {"__typename": "PageInfo", "hasNextPage": end < total, "hasPreviousPage": start > 0,
                     "startCursor": _cursor(start + 1) if nodes else None,
                     "endCursor": _cursor(start + len(nodes)) if nodes else None},
    }


def _ts(value: Any) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.UTC)


def _owner(sim: SimHost, account: SimAccount) -> dict[str, Any]:
    return {"__typename": "Organization" if account.kind == "org" else "User", "_account": account}


def _repo(repo: SimRepo) -> dict[str, Any]:
    return {"__typename": "Repository", "_repo": repo}


def q_account(kind: str | None) -> Any:
    def resolve(source: Any, info: Any, login: str, **_: Any) -> Any:
        _req, sim = _ctx(info)
        account = sim.account(login)
        if account is None or (kind and account.kind != kind):
            label = {"org": "an Organization", "user": "a User"}.get(kind or "", "a RepositoryOwner")
            raise NotFound(f"Could not resolve to {label} with the login of '{login}'.")
        return _owner(sim, account)
    return resolve


def q_repository(source: Any, info: Any, owner: str, name: str, **_: Any) -> Any:
    req, sim = _ctx(info)
    repo, _moved = r.find_repo(req.world, sim, f"{owner}/{name}")  # GraphQL follows renames silently
    if repo is None:
        raise NotFound(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
    return _repo(repo)


def q_rate_limit(source: Any, info: Any, **_: Any) -> Any:
    entry = info.context["budget"]
    reset = dt.datetime.fromtimestamp(entry["reset"], dt.UTC)
    return {"__typename": "RateLimit", "cost": info.context["cost"], "limit": entry["limit"],
            "remaining": max(0, entry["limit"] - entry["used"]), "used": entry["used"],
            "resetAt": r.iso(reset), "nodeCount": info.context["nodes"]}


def a_repositories(source: Any, info: Any, **args: Any) -> Any:
    req, sim = _ctx(info)
    account: SimAccount = source["_account"]
    items = list(r.repos_in(req.world, sim, account.path))
    if args.get("privacy") == "PUBLIC":
        items = [x for x in items if x.visibility == "public"]
    elif args.get("privacy") == "PRIVATE":
        items = [x for x in items if x.visibility != "public"]
    if args.get("visibility"):
        items = [x for x in items if x.visibility.upper() == args["visibility"]]
    if args.get("isFork") is not None:
        items = [x for x in items if x.fork == args["isFork"]]
    if args.get("isArchived") is not None:
        items = [x for x in items if x.archived == args["isArchived"]]
    order = args.get("orderBy") or {}
    keys = {
        "NAME": lambda x: (x.name.lower(), x.id), "CREATED_AT": lambda x: (x.created_at, x.id),
        "UPDATED_AT": lambda x: (x.updated_at, x.id), "PUSHED_AT": lambda x: (x.pushed_at or x.created_at, x.id),
        "STARGAZERS": lambda x: (x.stars, x.id),
    }
    items.sort(key=keys.get(order.get("field", ""), lambda x: (x.id,)), reverse=order.get("direction") == "DESC")
    return _connection("RepositoryConnection", items, args, _repo)


def _acc(attr: str) -> Any:
    return lambda source, info, **_: getattr(source["_account"], attr)


def _rep(fn: Any) -> Any:
    return lambda source, info, **args: fn(source["_repo"], info, **args)


def _licence(repo: SimRepo) -> Any:
    if repo.license_key is None:
        return None
    spdx, name = LICENCES.get(repo.license_key, (None, "Other"))
    key = repo.license_key if spdx else "other"
    return {"__typename": "License", "key": key, "spdxId": spdx or "NOASSERTION", "name": name,
            "nickname": None, "url": f"http://choosealicense.com/licenses/{key}/" if spdx else None,
            "pseudoLicense": spdx is None, "id": r.node_id("License", key)}


def _commit(repo: SimRepo, index: int) -> dict[str, Any]:
    commit = repo.commits[index]
    person = {"__typename": "GitActor", "name": commit.author_name, "email": commit.author_email,
              "date": r.iso(commit.authored_at)}
    return {"__typename": "Commit", "_repo": repo, "_index": index, "oid": commit.sha, "abbreviatedOid": commit.sha[:7],
            "committedDate": r.iso(commit.authored_at), "authoredDate": r.iso(commit.authored_at),
            "pushedDate": r.iso(commit.authored_at),
            "message": commit.message, "messageHeadline": commit.message, "author": person, "committer": person,
            "id": r.node_id("Commit", commit.sha[:12])}


def c_history(source: Any, info: Any, **args: Any) -> Any:
    repo: SimRepo = source["_repo"]
    since, until = _ts(args.get("since")), _ts(args.get("until"))
    indexes = [i for i in range(source["_index"], len(repo.commits))
               if (since is None or repo.commits[i].authored_at >= since)
               and (until is None or repo.commits[i].authored_at <= until)]
    return _connection("CommitHistoryConnection", indexes, args, lambda i: _commit(repo, i))


def _branch_ref(repo: SimRepo) -> Any:
    if repo.empty or not repo.commits:
        return None
    return {"__typename": "Ref", "name": repo.default_branch or "main", "prefix": "refs/heads/",
            "target": _commit(repo, 0), "id": r.node_id("Ref", repo.id)}


def r_object(repo: SimRepo, info: Any, expression: str | None = None, oid: str | None = None, **_: Any) -> Any:
    if repo.empty or not repo.commits:
        return None
    rev, sep, path = (expression or "HEAD").partition(":")
    if rev not in ("HEAD", repo.default_branch or "main"):
        return None
    if not sep:
        return _commit(repo, 0)
    path = path.strip("/")
    if path == "":
        entries = [{"__typename": "TreeEntry", "name": n, "path": n, "type": "blob", "mode": 33188,
                    "oid": r.blob_sha(t), "extension": ("." + n.rsplit(".", 1)[1]) if "." in n else "",
                    "isGenerated": False, "size": len(t.encode())} for n, t in sorted(repo.files.items())]
        return {"__typename": "Tree", "entries": entries, "oid": "0" * 40, "abbreviatedOid": "0000000"}
    text = repo.files.get(path)
    if text is None:
        return None
    return {"__typename": "Blob", "text": text, "byteSize": len(text.encode()), "isBinary": False,
            "isTruncated": False, "oid": r.blob_sha(text), "abbreviatedOid": r.blob_sha(text)[:7]}


def _release(repo: SimRepo, index: int) -> dict[str, Any]:
    rel = repo.releases[index]
    return {"__typename": "Release", "tagName": rel.tag, "name": rel.name or rel.tag,
            "publishedAt": r.iso(rel.published_at), "createdAt": r.iso(rel.published_at), "isDraft": False,
            "isPrerelease": False, "isLatest": index == 0, "id": r.node_id("Release", f"{repo.id}-{index}")}


def _parent(repo: SimRepo, info: Any) -> Any:
    if not (repo.fork and repo.parent_full_name):
        return None
    req, sim = _ctx(info)
    parent, _ = r.find_repo(req.world, sim, repo.parent_full_name)
    if parent is None:
        owner, _, name = repo.parent_full_name.partition("/")
        parent = SimRepo(id=0, namespace=owner, name=name)
    return _repo(parent)


def _total(n: int) -> dict[str, Any]:
    return {"totalCount": n, "nodes": [], "edges": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}}


def _html(info: Any, path: str) -> str:
    return f"{r.html_base(_ctx(info)[1].host)}/{path}"


_GENERIC_PARENTS = {"Organization", "User"}
RESOLVERS: dict[tuple[str, str], Any] = {
    ("Query", "organization"): q_account("org"),
    ("Query", "user"): q_account("user"),
    ("Query", "repositoryOwner"): q_account(None),
    ("Query", "repository"): q_repository,
    ("Query", "rateLimit"): q_rate_limit,
    ("Query", "viewer"): lambda s, info, **_: {"__typename": "User", "login": f"sim-user-{user_id(_ctx(info)[0].token)}",
                                              "_account": SimAccount(user_id(_ctx(info)[0].token), "viewer", "user")},
    ("Query", "licenses"): lambda s, info, **_: [_licence(SimRepo(0, "x", "y", license_key=k)) for k in LICENCES],
}
for _field, _attr in (("login", "path"), ("name", "name"), ("description", "description"), ("bio", "description"),
                      ("websiteUrl", "website"), ("email", "email"), ("location", "location"),
                      ("isVerified", "verified"), ("databaseId", "id")):
    for _type in _GENERIC_PARENTS:
        RESOLVERS[(_type, _field)] = _acc(_attr)
for _type in _GENERIC_PARENTS:
    RESOLVERS[(_type, "repositories")] = a_repositories
    RESOLVERS[(_type, "createdAt")] = lambda s, info, **_: r.iso(s["_account"].created_at)
    RESOLVERS[(_type, "avatarUrl")] = lambda s, info, **_: (
        s["_account"].avatar_url or f"https://avatars.githubusercontent.com/u/{s['_account'].id}?v=4")
    RESOLVERS[(_type, "url")] = lambda s, info, **_: _html(info, s["_account"].path)
    RESOLVERS[(_type, "id")] = lambda s, info, **_: r.node_id(info.parent_type.name, s["_account"].id)
    RESOLVERS[(_type, "followers")] = lambda s, info, **_: _total(s["_account"].followers)
RESOLVERS.update({
    ("Repository", "databaseId"): _rep(lambda x, i: x.id),
    ("Repository", "id"): _rep(lambda x, i: r.node_id("Repository", x.id)),
    ("Repository", "name"): _rep(lambda x, i: x.name),
    ("Repository", "nameWithOwner"): _rep(lambda x, i: x.full_name),
    ("Repository", "url"): _rep(lambda x, i: _html(i, x.full_name)),
    ("Repository", "homepageUrl"): _rep(lambda x, i: x.homepage),
    ("Repository", "description"): _rep(lambda x, i: x.description),
    ("Repository", "visibility"): _rep(lambda x, i: x.visibility.upper()),
    ("Repository", "isArchived"): _rep(lambda x, i: x.archived),
    ("Repository", "isFork"): _rep(lambda x, i: x.fork),
    ("Repository", "isTemplate"): _rep(lambda x, i: x.template),
    ("Repository", "isEmpty"): _rep(lambda x, i: x.empty),
    ("Repository", "isPrivate"): _rep(lambda x, i: x.visibility != "public"),
    ("Repository", "pushedAt"): _rep(lambda x, i: r.iso(x.pushed_at)),
    ("Repository", "createdAt"): _rep(lambda x, i: r.iso(x.created_at)),
    ("Repository", "updatedAt"): _rep(lambda x, i: r.iso(x.updated_at)),
    ("Repository", "stargazerCount"): _rep(lambda x, i: x.stars),
    ("Repository", "forkCount"): _rep(lambda x, i: x.forks),
    ("Repository", "stargazers"): _rep(lambda x, i, **a: _total(x.stars)),
    ("Repository", "watchers"): _rep(lambda x, i, **a: _total(x.watchers)),
    ("Repository", "issues"): _rep(lambda x, i, **a: _total(x.open_issues if a.get("states") in (["OPEN"], "OPEN") else 0)),
    ("Repository", "primaryLanguage"): _rep(lambda x, i: {"__typename": "Language", "name": x.language} if x.language else None),
    ("Repository", "licenseInfo"): _rep(lambda x, i: _licence(x)),
    ("Repository", "repositoryTopics"): _rep(lambda x, i, **a: _connection(
        "RepositoryTopicConnection", x.topics, a,
        lambda t: {"__typename": "RepositoryTopic", "topic": {"__typename": "Topic", "name": t}, "url": _html(i, f"topics/{t}")})),
    ("Repository", "parent"): _rep(_parent),
    ("Repository", "owner"): _rep(lambda x, i: (lambda acc: _owner(_ctx(i)[1], acc) if acc else None)(_ctx(i)[1].account(x.namespace))),
    ("Repository", "defaultBranchRef"): _rep(lambda x, i: _branch_ref(x)),
    ("Repository", "object"): _rep(r_object),
    ("Repository", "releases"): _rep(lambda x, i, **a: _connection("ReleaseConnection", list(range(len(x.releases))), a,
                                                                   lambda n: _release(x, n))),
    ("Repository", "latestRelease"): _rep(lambda x, i: _release(x, 0) if x.releases else None),
    ("Repository", "diskUsage"): _rep(lambda x, i: 0 if x.empty else 100),
    ("Commit", "history"): c_history,
})
del _field, _attr, _type
__all__ = ["handle_graphql", "query_cost", "schema", "options"]
