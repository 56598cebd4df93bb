"""Read a root publiccode.yml (https://yml.publiccode.tools) into `PubliccodeInfo`, validated by the standard.

`valid` is the reference parser's verdict (italia/publiccode-parser-go, network and file checks off): see
`standard.py` for the rules and `rules.py` for what is not checked. `problems` and `warnings` are (key path,
message) pairs. The file comes from strangers' repositories: input is size-capped, must be UTF-8, is parsed by a
safe YAML 1.2 loader only, and every access is type-checked, so hostile or broken files yield `valid=False` with
a reason instead of an exception.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from crawler.forges.licences import spdx_id
from crawler.forges.publiccode import vocab
from crawler.forges.publiccode.rules import Issue
from crawler.forges.publiccode.standard import check_v0
from index.records import PubliccodeInfo

MAX_BYTES = 512 * 1024
MAX_ISSUES = 50  # kept per file; the first ones are what a maintainer fixes first
LANG_PREFERENCE = ("fr", "en")


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 scalars, as the parser reads them: only true/false are booleans ("yes", "on" stay text) and dates
    stay text; a key given twice is an error, not a silent overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f'mapping key "{key}" already defined',
                                                        key_node.start_mark)
            if isinstance(key, (str, int, float, bool)):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:bool",
                                                                      "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _text(value: Any, limit: int = 10_000) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = " ".join(str(value).split())
        return text[:limit] or None
    return None


def _description(desc: Any) -> str | None:
    if not isinstance(desc, dict) or not desc:
        return None
    langs = [lang for lang in LANG_PREFERENCE if lang in desc] + sorted(str(k) for k in desc if k not in LANG_PREFERENCE)
    for lang in langs:
        block = desc.get(lang)
        if isinstance(block, dict):
            for key in ("shortDescription", "longDescription"):
                text = _text(block.get(key))
                if text:
                    return text
    return None


def _funded_by(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = []
    for item in value[:50]:
        name = _text(item.get("name"), 300) if isinstance(item, dict) else _text(item, 300)
        if name:
            names.append(name)
    return tuple(names)


def _invalid(key: str, message: str) -> PubliccodeInfo:
    return PubliccodeInfo(valid=False, error=_summary([(key, message)]), problems=((key, message[:300]),))


def _summary(problems: list[Issue]) -> str:
    key, message = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return (f"{key}: {message}" if key else message)[:300] + more


def _load(text: str | bytes | None) -> tuple[Any, PubliccodeInfo | None]:
    """The decoded document, or the verdict when it cannot be decoded."""
    if text is None:
        return None, _invalid("publiccodeYmlVersion", "publiccodeYmlVersion is a required field")
    if len(text) > MAX_BYTES:
        return None, _invalid("", f"file larger than {MAX_BYTES} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None, _invalid("", "Invalid UTF-8")
    try:
        documents = list(yaml.load_all(text, Loader=_Yaml12Loader))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, _invalid("", f"invalid YAML: {reason}"[:300])
    except (RecursionError, ValueError, TypeError, MemoryError) as exc:
        return None, _invalid("", f"invalid YAML: {type(exc).__name__}")
    if len(documents) > 1:
        return None, _invalid("", "multiple YAML documents in one file are not supported")
    return (documents[0] if documents else None), None


def parse_publiccode(text: str | bytes | None) -> PubliccodeInfo:
    """Parse and validate publiccode.yml text; never raises."""
    data, failed = _load(text)
    if failed is not None:
        return failed
    if not isinstance(data, dict) or "publiccodeYmlVersion" not in data or data["publiccodeYmlVersion"] is None:
        return _invalid("publiccodeYmlVersion", "publiccodeYmlVersion is a required field")
    version = data["publiccodeYmlVersion"]
    if not isinstance(version, str):
        return _invalid("publiccodeYmlVersion", "wrong type for this field")
    if version not in vocab.SUPPORTED_VERSIONS:
        return _invalid("publiccodeYmlVersion", f"unsupported version: '{version[:50]}'. Supported versions: "
                        + ", ".join(vocab.SUPPORTED_VERSIONS))
    try:
        checked = check_v0(data, version)
        legal = data["legal"] if isinstance(data.get("legal"), dict) else {}
        maintenance = data["maintenance"] if isinstance(data.get("maintenance"), dict) else {}
        name, description = _text(data.get("name"), 300), _description(data.get("description"))
        licence, maintenance_type = _text(legal.get("license"), 300), _text(maintenance.get("type"), 100)
        funded_by = _funded_by(data.get("fundedBy"))
    except (RecursionError, TypeError, ValueError, AttributeError) as exc:  # keys of exotic YAML types
        return _invalid("", f"unreadable structure: {type(exc).__name__}")
    problems = [(key[:200], message[:300]) for key, message in checked.errors]
    return PubliccodeInfo(
        valid=not problems, error=_summary(problems) if problems else None,
        problems=tuple(problems[:MAX_ISSUES]),
        warnings=tuple((key[:200], message[:300]) for key, message in checked.warnings[:MAX_ISSUES]),
        license_spdx=spdx_id(licence), name=name, description=description, license=licence, maintenance_type=maintenance_type, funded_by=funded_by,
    )
