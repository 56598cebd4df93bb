"""`codeindex status` and `codeindex check`: a public body finds out itself whether its code is listed, and why not.

Both read the index (`index.status.report`, `index.status.check`) and, when it loads, the configuration
(`crawler.referencing`): only the configuration can say "not configured" and propose the YAML lines. A broken or
missing configuration file is a warning here, not an error: the index alone still explains most cases.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

import click

from crawler.cli.common import fail, load_config_or_warn, open_index_or_exit, warn
from crawler.referencing import (
    URLProblem,
    configured_but_unindexed,
    guess_kind,
    not_configured_entry,
    parse_forge_url,
    unindexed,
)
from index.status.report import StatusData, document, is_pso_id, normalise, select_accounts


def _kind(config: Any, host: str) -> str | None:
    if config is not None:
        forge = next((f for f in config.forges if f.host == host), None)
        if forge is not None:
            return str(forge.kind)
    return guess_kind(host)


def _accounts_for_url(accounts: list[dict[str, Any]], host: str, path: str) -> list[dict[str, Any]]:
    """The account a URL designates: itself, else the longest account path containing it, else the whole forge."""
    on_host = [a for a in accounts if a["forge"] == host]
    key = path.lower()
    exact = [a for a in on_host if a["login"].lower() == key]
    if exact:
        return exact
    owners = [a for a in on_host if key.startswith(a["login"].lower() + "/")]
    if owners:
        return [max(owners, key=lambda a: len(a["login"]))]
    return [a for a in on_host if a["kind"] == "instance" or a["login"].lower() == host][:1]


def ministry_aliases(accounts: list[dict[str, Any]], config: Any, directory: Any = None) -> dict[str, str]:
    """What names a ministry, normalised (index.status.report.normalise) → its name: the name itself, the pso_id
    of its top node (ministries.yml) and that node's acronym in the official directory (`sigle`), when loaded."""
    aliases = {normalise(a["ministry"]): a["ministry"] for a in accounts if a["ministry"]}
    for pso_id, name in (config.ministries.items() if config is not None else ()):
        aliases[normalise(name)] = name
        aliases[pso_id.lower()] = name
        service = directory.services.get(pso_id.lower()) if directory is not None else None
        if service is not None and service.acronym:
            aliases.setdefault(normalise(service.acronym), name)
    return aliases


def status_report(data: StatusData, config: Any, target: str | None,
                  directory: Any = None) -> tuple[dict[str, Any], int]:
    """The status document for TARGET (or everything) and the exit code: 1 when nothing selected is listed.

    A ministry is named exactly by its name, its top node's pso_id or its acronym (`directory`: the official
    directory stored in the index, for acronyms); any other text matches ministry names as a substring."""
    accounts = data.accounts
    extra: list[dict[str, Any]] = []
    if target is None or not target.strip():
        extra = unindexed(config, accounts, data.day) if config is not None else []
        return document(data, accounts, detail=False, unindexed=extra), 0
    target = target.strip()
    hosts = {a["forge"] for a in accounts} | ({f.host for f in config.forges} if config is not None else set())
    if "/" in target or "@" in target:
        url = parse_forge_url(target, _kind(config, parse_forge_url(target).host))
        selected = _accounts_for_url(accounts, url.host, url.path)
        if not selected and config is not None:
            found = configured_but_unindexed(config, url, data.day)
            account = len(url.segments) == 1 or _kind(config, url.host) == "gitlab"
            extra = [found or not_configured_entry(config, url, account=account)]
        elif not selected:
            extra = [{"forge": url.host, "login": url.path, "url": url.url, "reason": "not_configured",
                      "label": "not in the index", "explanation": "not in the index, and the configuration could "
                      "not be read to say more", "proposed_yaml": None, "config_file": None, "after_line": None}]
        doc = document(data, selected, scope="account", value=url.url, unindexed=extra)
    elif (ministry := ministry_aliases(accounts, config, directory).get(normalise(target))) is not None:
        selected = [dict(a) for a in accounts if a["ministry"] == ministry]
        doc = document(data, selected, scope="ministry", value=ministry)
    elif is_pso_id(target):
        selected = select_accounts(accounts, pso_id=target)
        doc = document(data, selected, scope="pso_id", value=target.lower())
    elif target.lower() in hosts:
        selected = select_accounts(accounts, host=target)
        extra = [e for e in unindexed(config, accounts, data.day) if e["forge"] == target.lower()] if config else []
        doc = document(data, selected, scope="forge", value=target.lower(), unindexed=extra)
    else:
        selected = select_accounts(accounts, ministry=target)
        doc = document(data, selected, scope="ministry", value=target)
    listed = any(a["listed"] for a in doc["accounts"])
    return doc, 0 if listed else 1


def check_report(engine: Any, config: Any, text: str, now: dt.datetime) -> tuple[dict[str, Any], int]:
    """The check document for a URL and its exit code (0 exported, 1 not); URLProblem on a bad URL."""
    from index.status.check import check_path

    host = parse_forge_url(text).host
    url = parse_forge_url(text, _kind(config, host))
    doc = check_path(engine, url.host, url.path, now=now)
    doc["url"] = text.strip()
    if doc["account"] is None and config is not None:
        found = configured_but_unindexed(config, url, now.date())
        if found is not None:
            doc.update(reason=found["reason"], explanation=found["explanation"])
        else:
            entry = not_configured_entry(config, url, account=len(url.segments) == 1)
            doc.update(explanation=entry["explanation"], proposed_yaml=entry["proposed_yaml"])
    return doc, 0 if doc["exported"] else 1


# rendering ---------------------------------------------------------------------------------------------------------
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Forge text is hostile: no escape sequences reach the terminal (ESC, CSI, backspace...)."""
    return _CONTROLS.sub("\ufffd", text.replace("\t", " "))


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return " ".join(text.split())


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns aligned on the widest cell; numbers right-aligned; one line per row."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(r[i].replace(".", "").replace("%", "").isdigit() or r[i] == "—" for r in cells[1:])
               for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        parts = [c.rjust(w) if numeric[i] and n else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def _counts(mapping: dict[str, int]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in mapping.items() if v) or "none"


NAMES_SHOWN = 10  # repository names in one line of `status ACCOUNT` (the JSON has them all)
ROWS_SHOWN = 40  # accounts in the table of `status` (all, a ministry, a forge)
WHY_SHOWN = 20  # accounts explained under "Why", and configured accounts the index has not seen


def _more(hidden: int) -> str:
    return f"… and {hidden} more (see --json)"


def _names(names: Sequence[str]) -> str:
    """At most NAMES_SHOWN names, then how many more."""
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" {_more(len(names) - NAMES_SHOWN)}" if len(names) > NAMES_SHOWN else "")


def _listed(account: dict[str, Any], yes: str = "LISTED", no: str = "NOT LISTED") -> str:
    """"LISTED", or "LISTED, nothing crawled yet" for an account no crawl has ever read (nothing of it shown)."""
    if not account["listed"]:
        return no
    nothing = account["crawl"]["last_success_at"] is None and not account["repositories"]["seen"]
    return f"{yes}, nothing crawled yet" if nothing else yes


def _one_line_error(text: str | None) -> str:
    return " ".join((text or "").split())[:200]


def _summary_lines(doc: dict[str, Any]) -> list[str]:
    s = doc["summary"]
    repos = s["repositories"]
    return [
        f"Referencing status on {doc['day']} ({doc['scope']['kind']}"
        + (f": {doc['scope']['value']}" if doc["scope"]["value"] else "") + ")",
        f"  accounts: {s['accounts']}, listed {s['listed']}; by reason: {_counts(s['by_reason'])}",
        f"  repositories: seen {repos['seen']}, exported {repos['exported']}",
        f"  not exported (export policy): {_counts(repos['excluded'])}",
        f"  exported but flagged: {_counts(repos['flagged'])}",
        f"  licence: {_pct(s['licence_share'])} with an SPDX licence; publiccode.yml: {_counts(s['publiccode'])}; "
        f"without description: {s['without_description']}",
    ]


def _account_detail(a: dict[str, Any]) -> list[str]:
    repos, crawl, lic, pc = a["repositories"], a["crawl"], a["licence"], a["publiccode"]
    lines = [
        f"{a['forge']}/{a['login']} — {a['name'] or '(no name)'} ({a['kind'] or 'kind unknown'})",
        f"  {_listed(a)}: {a['label']} — {a['explanation']}",
        f"  ministry: {a['ministry'] or '—'}   pso_id: {a['pso_id'] or '—'}   url: {a['url']}",
        f"  last successful crawl: {crawl['last_success_at'] or 'never'}; last attempt: "
        f"{crawl['last_attempt_at'] or 'never'} ({crawl['last_status'] or '—'})"
        + (f": {_one_line_error(crawl['last_error'])}" if crawl["last_error"] else ""),
        f"  repositories: seen {repos['seen']}, exported {repos['exported']}; not exported: "
        f"{_counts(repos['excluded'])}; flagged: {_counts(repos['flagged'])}",
        f"  licence: {lic['with_spdx']}/{repos['exported']} ({_pct(lic['share'])}) with an SPDX licence"
        + (f"; without: {_names(lic['without'])}" if lic.get("without") else ""),
        f"  publiccode.yml: {_counts({k: pc[k] for k in ('valid', 'invalid', 'absent', 'unknown')})}",
    ]
    invalid = pc.get("invalid_list", [])
    lines += [f"    invalid: {i['full_name']}: {_one_line_error(i['error'])}" for i in invalid[:NAMES_SHOWN]]
    if len(invalid) > NAMES_SHOWN:
        lines.append(f"    {_more(len(invalid) - NAMES_SHOWN)}")
    if a["description"].get("without"):
        lines.append(f"  without description: {_names(a['description']['without'])}")
    changes = a["changes"]
    if changes:
        lines.append(f"  changes in run {changes['run_id']} ({changes['at']}, {changes['status']}): "
                     f"new: {_names(changes['new']) or '—'}; gone: {_names(changes['gone']) or '—'}; "
                     f"renamed: {_names(changes['renamed']) or '—'}")
    return lines


def render_status(doc: dict[str, Any]) -> str:
    lines = _summary_lines(doc)
    accounts = doc["accounts"]
    if doc["scope"]["kind"] == "account":
        for account in accounts:
            lines += ["", *_account_detail(account)]
    else:
        if len(doc["ministries"]) > 1 or doc["scope"]["kind"] == "all":
            lines += ["", "By ministry", table(
                ("ministry", "accounts", "listed", "repos exported", "licence", "not listed"),
                [(m["name"] or "(none)", m["accounts"], m["listed"], m["repositories"]["exported"],
                  _pct(m["licence_share"]), m["accounts"] - m["listed"]) for m in doc["ministries"]])]
        lines += ["", "Accounts", table(
            ("account", "kind", "listed", "why", "exported/seen", "licence", "last success"),
            [(f"{a['forge']}/{a['login']}", a["kind"], _listed(a, "yes", "NO"),
              a["label"], f"{a['repositories']['exported']}/{a['repositories']['seen']}",
              _pct(a["licence"]["share"]), (a["crawl"]["last_success_at"] or "never")[:10])
             for a in accounts[:ROWS_SHOWN]])]
        if len(accounts) > ROWS_SHOWN:
            lines.append(_more(len(accounts) - ROWS_SHOWN))
        problems = [a for a in accounts if a["reason"] != "ok"]
        if problems:
            lines += ["", "Why"] + [f"  {a['forge']}/{a['login']}: {a['explanation']}" for a in problems[:WHY_SHOWN]]
            if len(problems) > WHY_SHOWN:
                lines.append(f"  {_more(len(problems) - WHY_SHOWN)}")
    unindexed = doc["unindexed"] if doc["scope"]["kind"] == "account" else doc["unindexed"][:WHY_SHOWN]
    if len(doc["unindexed"]) > len(unindexed):
        lines += ["", f"{len(doc['unindexed'])} configured accounts not in the index yet; the first {len(unindexed)}:"]
    for entry in unindexed:
        lines += ["", f"{entry['forge']}/{entry['login']}: NOT LISTED: {entry['label']} — {entry['explanation']}"]
        if entry["proposed_yaml"]:
            lines += ["  proposed lines:", *(f"    {line}" for line in entry["proposed_yaml"].splitlines())]
    if len(doc["unindexed"]) > len(unindexed):
        lines += ["", _more(len(doc["unindexed"]) - len(unindexed))]
    if not accounts and not doc["unindexed"]:
        lines += ["", "no account matches"]
    return "\n".join(lines)


def render_check(doc: dict[str, Any]) -> str:
    verdict = "EXPORTED" if doc["exported"] else ("in the index, NOT exported" if doc["found"] else "NOT in the index")
    lines = [f"{doc['url']}: {verdict} — {doc['explanation']}"]
    if doc["account"]:
        a = doc["account"]
        lines.append(f"  account: {a['forge']}/{a['login']} ({a['kind'] or 'kind unknown'}), ministry "
                     f"{a['ministry'] or '—'}, pso_id {a['pso_id'] or '—'}: {a['label']}")
    if doc["stored"] and not doc["record"]:
        st = doc["stored"]
        lines.append(f"  stored: {st['full_name']} ({st['visibility']}), last seen {st['last_seen']}"
                     + (f", gone since {st['gone_at']}" if st["gone_at"] else ""))
    if doc["record"]:
        flat = sorted(doc["record"].items())
        lines += ["  exported record:", *("    " + line for line in table(("field", "value"), flat).splitlines())]
    if doc["proposed_yaml"]:
        lines += ["  proposed lines for the configuration:",
                  *(f"    {line}" for line in doc["proposed_yaml"].splitlines())]
    return "\n".join(lines)


def _emit(doc: dict[str, Any], as_json: bool, render: Any) -> None:
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        click.echo(terminal_safe(render(doc)))


# commands ----------------------------------------------------------------------------------------------------------
@click.command("status")
@click.argument("target", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON document (index/schemas/status.schema.json).")
@click.pass_obj
def status_command(ctx: Any, target: str | None, as_json: bool) -> None:
    """Is an account listed, and if not, why (exit 1 when nothing of TARGET is listed).

    TARGET is an account URL (https://github.com/etalab), a forge host, a pso_id, or a ministry: its name (any
    case, accents optional, part of the name is enough), its acronym in the official directory, or its pso_id.
    Without TARGET: a summary of every account.
    """
    from index.db import transaction
    from index.directory import load_directory
    from index.records import utcnow
    from index.status.report import load_status

    config, warning = load_config_or_warn(ctx.config_path)
    if warning:
        warn(warning)
    engine = open_index_or_exit(ctx.db_url)
    data = load_status(engine, now=utcnow())
    with transaction(engine) as session:
        directory = load_directory(session)
    try:
        doc, code = status_report(data, config, target, directory)
    except URLProblem as exc:
        fail(str(exc))
        return
    if not doc["accounts"] and not doc["unindexed"] and not as_json:
        fail(f"no account matches {target!r}: give an account URL, a forge host, a pso_id or a ministry name", 1)
    _emit(doc, as_json, render_status)
    sys.exit(code)


@click.command("check")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (index/schemas/check.schema.json).")
@click.pass_obj
def check_command(ctx: Any, url: str, as_json: bool) -> None:
    """Is this account or repository URL in the listing; if not, why (exit 0 exported, 1 not, 2 bad URL).

    Any forge URL: https://github.com/etalab/x, https://gitlab.com/group/sub/project, with or without .git,
    trailing slash, http or www. Shows the exported record, or the reason and, when the account is not
    configured, the lines to add to the configuration.
    """
    from index.records import utcnow

    try:
        parse_forge_url(url)
    except URLProblem as exc:
        fail(str(exc))
    config, warning = load_config_or_warn(ctx.config_path)
    if warning:
        warn(warning)
    engine = open_index_or_exit(ctx.db_url)
    doc, code = check_report(engine, config, url, utcnow())
    _emit(doc, as_json, render_check)
    sys.exit(code)


__all__ = ["check_command", "check_report", "status_command", "status_report"]
