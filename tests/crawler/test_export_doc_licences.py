"""docs/export.md's table of licence forms is what the crawler stores, forge by forge, and what the export shows."""

from __future__ import annotations

import re
from pathlib import Path

from crawler.forges.gitea.mapping import licence_of as gitea_licence
from crawler.forges.github.mapping import repo_from_rest
from crawler.forges.gitlab.mapping import licence_of as gitlab_licence

DOC = Path(__file__).resolve().parents[2] / "docs" / "export.md"


def table_lines(text: str) -> list[str]:
    table = text.split("<!-- licence forms: forge | the forge says | license -->")[1].split("<!-- end of")[0]
    return [line for line in table.splitlines() if line.startswith("|")][2:]


def documented_forms() -> list[tuple[str, str, str, str | None]]:
    text = DOC.read_text("utf-8")
    rows = []
    for line in table_lines(text):
        forge, says, stored = [cell.strip() for cell in line.strip("|").split("|")]
        field, value = re.findall(r"`([^`]+)`", says)[:2]
        rows.append((forge, field, value, None if stored == "null" else stored.strip("`")))
    return rows


def stored_by_the_crawler(forge: str, field: str, value: str, says: str) -> str | None:
    if forge == "GitHub":
        key = re.search(r"`key` `([^`]+)`", says)
        licence = {"spdx_id": value, "key": key.group(1) if key else value.lower()}
        return repo_from_rest({"id": 1, "full_name": "a/b", "name": "b", "html_url": "https://github.com/a/b",
                               "license": licence}).license_spdx
    if forge.startswith("GitLab"):
        return gitlab_licence({"license": {"key": value, "name": None}})
    return gitea_licence({"licenses": [value]})


def test_every_documented_licence_form_is_what_is_stored():
    text = DOC.read_text("utf-8")
    forms = documented_forms()
    assert len(forms) >= 15
    assert {forge.split(" ")[0] for forge, *_ in forms} == {"GitHub", "GitLab", "Gitea,"}
    for (forge, field, value, stored), line in zip(forms, table_lines(text), strict=True):
        assert stored_by_the_crawler(forge, field, value, line) == stored, line


def test_the_documented_forms_cover_what_the_issue_lists():
    values = {value for _, _, value, _ in documented_forms()}
    assert {"gpl-3.0-or-later", "agpl-3.0-only", "etalab-2.0", "cecill-2.1", "lgpl-2.1-or-later", "no-license",
            "NONE", "NOASSERTION", "other", "GPL-3.0"} <= values
