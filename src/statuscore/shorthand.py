"""Uptime Kuma's keyword and JSON-query monitors as conditions, for people moving over:

    keyword = "Genesis"               ->  body contains "Genesis"
    keyword = "Error"                 ->  body not contains "Error"
    invert_keyword = true
    json_query = "$.status"           ->  json.status == "ok"
    expected = "ok"

They are sugar: each becomes one more entry of the monitor's `conditions`, parsed and
reported like any other (`condition failed: body contains "Genesis" ...`). `expected`
keeps its TOML type: `expected = 3` compares a number, `expected = "3"` text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

KEYS = ("keyword", "invert_keyword", "json_query", "expected")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\[['\"]([A-Za-z_][A-Za-z0-9_\-]*)['\"]\]")


def expand(table: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """`table` with its shorthand keys turned into conditions (after the monitor's own, or
    [defaults]' when it has none); ConfigError naming the key for a mistake."""
    if not any(key in table for key in KEYS):
        return dict(table)
    rest = {key: value for key, value in table.items() if key not in KEYS}
    conditions = list(table.get("conditions", defaults.get("conditions", [])))
    keyword, invert = table.get("keyword"), table.get("invert_keyword", False)
    if not isinstance(invert, bool):
        raise ConfigError("expected true or false", key="invert_keyword")
    if keyword is not None:
        if not isinstance(keyword, str) or not keyword:
            raise ConfigError("expected the text the page must contain", key="keyword")
        conditions.append(f"body {'not contains' if invert else 'contains'} {_quoted(keyword)}")
    elif invert:
        raise ConfigError("invert_keyword goes with keyword", key="invert_keyword")
    query, expected = table.get("json_query"), table.get("expected")
    if query is not None:
        if "expected" not in table:
            raise ConfigError("json_query needs expected (the value it must have)", key="expected")
        conditions.append(f"{json_path(query)} == {_literal(expected)}")
    elif "expected" in table:
        raise ConfigError("expected goes with json_query", key="expected")
    rest["conditions"] = conditions
    return rest


def json_path(query: Any) -> str:
    """ "$.data.items[0].state" -> "json.data.items[0].state" (a simple path only)."""
    text = query.strip() if isinstance(query, str) else ""
    if not text.startswith("$"):
        raise ConfigError("a JSONPath such as $.status or $.data.items[0].state", key="json_query")
    rest, path = text[1:], "json"
    while rest:
        step = _STEP.match(rest)
        if step is None:
            raise ConfigError(
                f"only simple paths ($.a.b[0]) become conditions; write this one as a condition "
                f"(see conditions in the README): {text!r}",
                key="json_query",
            )
        name, index, quoted = step.groups()
        path += f".{name or quoted}" if index is None else f"[{index}]"
        rest = rest[step.end() :]
    return path


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and "e" not in repr(value) and "n" not in repr(value):
        return repr(value)
    if isinstance(value, str):
        return _quoted(value)
    raise ConfigError("expected text, a plain number or true/false (or write a condition)", key="expected")


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
