"""The published status: `status/` JSON files and a static HTML report, readable without JavaScript.

Everything that comes from a forge (names, descriptions, errors, URLs) is hostile: every piece of text goes
through `h()` (html.escape, quotes included) and only http(s) URLs become links. Files are put in place together
by `index.export.atomic.AtomicFileSet`; files of an earlier run that are no longer produced (a ministry renamed) are
removed afterwards.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from index.export.atomic import AtomicFileSet
from index.export.format import EncodedJSON, json_document_chunks, json_shares_bytes
from index.status.chart import STYLE as CHART_STYLE
from index.status.chart import progress_section
from index.status.report import LABELS, Reason, StatusData, document, load_status, ministries

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:78rem;padding:0 1rem;color:#161616}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}h3{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#eef}td.n{text-align:right;font-variant-numeric:tabular-nums}
.no{color:#b00020;font-weight:600}.yes{color:#18753c;font-weight:600}.why{max-width:32rem}
.muted{color:#666}.box{display:flex;gap:1rem;flex-wrap:wrap}.box div{border:1px solid #ccc;padding:.5rem 1rem}
code{background:#f4f4f4;padding:0 .2rem}
""" + CHART_STYLE


_ESCAPED = re.compile("[&<>\"']")  # what html.escape(quote=True) replaces


def h(value: Any) -> str:
    """Text for HTML, escaped (None shows as a dash). Most text (repository names) holds nothing to escape:
    a search is cheaper than html.escape's five replacements, ~600,000 times per x10 export."""
    if value is None:
        return "—"
    text = value if type(value) is str else str(value)
    return html.escape(text, quote=True) if _ESCAPED.search(text) else text


def is_web_url(url: str | None) -> bool:
    """http(s) only, by a strict prefix test (a forge could hand us javascript:…): stricter than urlsplit, which
    skips leading blanks and control characters first, and ~8x cheaper (a link per repository)."""
    return bool(url) and url[:8].lower().startswith(("http://", "https://"))  # type: ignore[index]


def link(url: str | None, text: Any) -> str:
    """A link only for http(s) URLs; plain escaped text otherwise."""
    if is_web_url(url):
        return f'<a href="{h(url)}">{h(text)}</a>'
    return h(text)


def local(href: str, text: Any) -> str:
    """A link to one of our own relative files (names made safe by index.status.report.safe_name / slug)."""
    return f'<a href="{h(href)}">{h(text)}</a>'


def pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def _page(title: str, body: str, generated_at: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\">"
        f"<title>{h(title)}</title><style>{STYLE}</style></head><body>\n{body}\n"
        f"<p class=\"muted\">Generated {h(generated_at)} by codeindex. Reasons are explained in docs/status.md; "
        "the same data is in the JSON files beside this page.</p>\n</body></html>\n"
    )


def _table(header: list[str], rows: list[list[str]], numeric: frozenset[int] = frozenset()) -> str:
    head = "".join(f"<th>{h(c)}</th>" for c in header)
    if numeric:
        body = "\n".join(
            "<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
            + "</tr>"
            for row in rows
        )
    else:  # the same cells, joined at once (a table row per repository)
        body = "\n".join("<tr><td>" + "</td><td>".join(row) + "</td></tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _summary(summary: dict[str, Any]) -> str:
    repos = summary["repositories"]
    items = [
        ("accounts", summary["accounts"]), ("listed", summary["listed"]),
        ("not listed", summary["accounts"] - summary["listed"]),
        ("repositories exported", f"{repos['exported']} / {repos['seen']} seen"),
        ("with an SPDX licence", pct(summary["licence_share"])),
        ("valid publiccode.yml", summary["publiccode"]["valid"]),
        ("without description", summary["without_description"]),
    ]
    boxes = "".join(f"<div><strong>{h(v)}</strong><br>{h(k)}</div>" for k, v in items)
    excluded = ", ".join(f"{h(k.replace('_', ' '))} {v}" for k, v in repos["excluded"].items()) or "none"
    flagged = ", ".join(f"{h(k)} {v}" for k, v in repos["flagged"].items())
    return (f'<div class="box">{boxes}</div>\n<p>Not exported (export policy): {excluded}. '
            f"Exported but flagged: {flagged}.</p>")


def _listed(flag: bool) -> str:
    return '<span class="yes">yes</span>' if flag else '<span class="no">NO</span>'


def _why(entry: dict[str, Any]) -> str:
    return f"<strong>{h(entry['label'])}</strong> <code>{h(entry['reason'])}</code><br>{h(entry['explanation'])}"


def _crawl(entry: dict[str, Any]) -> str:
    crawl = entry["crawl"]
    error = f"<br><span class=\"muted\">{h(crawl['last_error'])}</span>" if crawl["last_error"] else ""
    return (f"last success: {h(crawl['last_success_at'] or 'never')}<br>last attempt: "
            f"{h(crawl['last_attempt_at'] or 'never')} ({h(crawl['last_status'])}){error}")


def render_index(doc: dict[str, Any]) -> str:
    reasons = doc["summary"]["by_reason"]
    reason_rows = [[h(LABELS[Reason(code)]), f"<code>{h(code)}</code>", str(n)] for code, n in reasons.items()]
    ministry_rows = [
        [local(m["page"], m["name"] or "(no ministry)"), str(m["accounts"]), str(m["listed"]),
         str(m["accounts"] - m["listed"]), str(m["repositories"]["exported"]), pct(m["licence_share"]),
         str(m["publiccode"]["valid"]), str(m["without_description"])]
        for m in doc["ministries"]
    ]
    by_slug = {m["name"]: m for m in doc["ministries"]}
    problem_rows = [
        [link(a["url"], f"{a['forge']}/{a['login']}"), local(by_slug[a["ministry"]]["page"], a["ministry"] or "(no ministry)"),
         _listed(a["listed"]), f'<div class="why">{_why(a)}</div>', _crawl(a)]
        for a in doc["accounts"] if a["reason"] != "ok"
    ]
    body = [
        "<h1>Referencing status</h1>",
        f"<p>What the index lists on {h(doc['day'])}, what it does not, and why. "
        "Find your ministry below, or run <code>codeindex status YOUR-ACCOUNT-URL</code>.</p>",
        _summary(doc["summary"]),
        "<h2 id=\"ministries\">Ministries</h2>",
        _table(["ministry", "accounts", "listed", "not listed", "repositories exported", "SPDX licence",
                "valid publiccode.yml", "without description"], ministry_rows, frozenset(range(1, 8))),
        "<h2 id=\"reasons\">Accounts by reason</h2>",
        _table(["reason", "code", "accounts"], reason_rows, frozenset({2})),
        "<h2 id=\"problems\">Accounts not listed, or listed with a problem</h2>",
        _table(["account", "ministry", "listed", "why not referenced", "crawl"], problem_rows)
        if problem_rows else "<p>None.</p>",
    ]
    return _page("Referencing status", "\n".join(body), doc["generated_at"])


def _repo_rows(entry: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in entry["repository_list"]:
        why = "" if r["exported"] else h((r["excluded"] or "").replace("_", " "))
        if r["gone_at"]:
            why += f" since {h(r['gone_at'])}"
        publiccode = h(r["publiccode"]) + (f": {h(r['publiccode_error'])}" if r["publiccode_error"] else "")
        rows.append([link(r["html_url"], r["full_name"]), _listed(r["exported"]), why, h(", ".join(r["flags"])),
                     h(r["licence"]), publiccode,
                     h(r["description"][:300]) if r["description"] else '<span class="no">missing</span>'])
    return rows


def _account_section(entry: dict[str, Any]) -> str:
    anchor = h(entry["status_file"])
    repos = entry["repositories"]
    parts = [
        f'<h3 id="{anchor}">{link(entry["url"], entry["forge"] + "/" + entry["login"])} '
        f'<span class="muted">{h(entry["name"])}</span></h3>',
        f"<p>{_listed(entry['listed'])} — {_why(entry)}</p>",
        f"<p>{_crawl(entry)}. Repositories: {repos['seen']} seen, {repos['exported']} exported. "
        f'<a href="../{h(entry["status_file"])}">JSON</a></p>',
    ]
    changes = entry["changes"]
    if changes:
        listed = "; ".join(f"{k}: {h(', '.join(changes[k]) or '—')}" for k in ("new", "gone", "renamed"))
        parts.append(f"<p>Changes in run {h(changes['run_id'])} ({h(changes['at'])}): {listed}</p>")
    if entry["repository_list"]:
        parts.append(_table(["repository", "exported", "not exported because", "flags", "licence", "publiccode.yml",
                             "description"], _repo_rows(entry)))
    return "\n".join(parts)


def render_ministry(doc: dict[str, Any], ministry: dict[str, Any],
                    history: list[dict[str, Any]] | None = None) -> str:
    rows = [
        [local(f"#{a['status_file']}", f"{a['forge']}/{a['login']}"), h(a["kind"]), _listed(a["listed"]),
         f'<div class="why">{_why(a)}</div>',
         f"{a['repositories']['exported']} / {a['repositories']['seen']}", pct(a["licence"]["share"]),
         str(a["publiccode"]["valid"]), _crawl(a)]
        for a in doc["accounts"]
    ]
    name = ministry["name"] or "Accounts without a ministry"
    body = [
        '<p><a href="../index.html">← all ministries</a></p>',
        f"<h1>{h(name)}</h1>",
        _summary(ministry_summary(ministry)),
        progress_section(history or [], name, ministry["slug"]),
        "<h2>Accounts</h2>",
        _table(["account", "kind", "listed", "why not referenced", "exported / seen", "SPDX licence",
                "valid publiccode.yml", "crawl"], rows),
        "<h2>Repositories, account by account</h2>",
        *(_account_section(a) for a in doc["accounts"]),
    ]
    return _page(f"Referencing status — {name}", "\n".join(body), doc["generated_at"])


def ministry_summary(ministry: dict[str, Any]) -> dict[str, Any]:
    keys = ("accounts", "listed", "repositories", "licence_share", "publiccode", "without_description", "by_reason")
    return {k: ministry[k] for k in keys}


def build_files(data: StatusData) -> dict[str, bytes]:
    """Every file of status/, relative path -> bytes. Pure: no I/O."""
    return {name: content if isinstance(content, bytes) else b"".join(content) for name, content in iter_files(data)}


def iter_files(data: StatusData) -> Iterator[tuple[str, bytes | Iterator[bytes]]]:
    """The files of status/ one at a time, as bytes or as pieces of bytes to consume before asking for the next
    file (the export writes each as it comes: a ministry's JSON holds all its repositories). Pure: no I/O."""
    overview = document(data, data.accounts, detail=False)
    yield "index.json", json_document_chunks(overview)
    yield "index.html", render_index(overview).encode("utf-8")
    del overview
    encoded: dict[int, EncodedJSON] = {}  # each account's entry, encoded once for its file and its ministry's
    for entry in data.accounts:
        doc = document(data, [entry], scope="account", value=entry["url"])
        raw = encoded[id(entry)] = json_shares_bytes(doc["accounts"][0])
        doc["accounts"] = [raw]
        yield entry["status_file"], json_document_chunks(doc)
    for ministry in ministries(data.accounts):
        members = [a for a in data.accounts if a["ministry"] == ministry["name"]]
        doc = document(data, members, scope="ministry", value=ministry["name"])
        doc["ministries"] = [ministry]  # the slug chosen among all ministries
        history = [dict(day) for day in data.history.get(ministry["name"], [])]
        html = render_ministry(doc, ministry, history).encode("utf-8")
        doc["accounts"] = [encoded[id(a)] for a in members]
        yield ministry["file"], json_document_chunks(doc)
        yield ministry["page"], html


def write_status_files(data: StatusData, out_dir: Path) -> list[Path]:
    """Write status/ under `out_dir` atomically; remove our earlier files that are no longer produced."""
    root = out_dir / "status"
    files = build_files(data)
    targets = [root / name for name in sorted(files)]
    before = {p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".html")} if root.is_dir() else set()
    with AtomicFileSet() as file_set:
        for name, target in zip(sorted(files), targets, strict=True):
            file_set.write_bytes(target, files[name])
    for stale in before - set(targets):
        stale.unlink(missing_ok=True)
    return targets


def write_status(engine: Engine, out_dir: Path, *, now: dt.datetime) -> list[Path]:
    """Write `out_dir/status/` straight from the index, outside an export (tests, and a report on its own)."""
    return write_status_files(load_status(engine, now=now), Path(out_dir))
