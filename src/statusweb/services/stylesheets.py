"""A page's own stylesheet, made safe to serve as the page's: parsed with tinycss2 and
written out again without what could load from, or leak to, another host.

Dropped, each said in a note: `@import` and `@namespace` rules; any declaration (or
`@font-face`) whose url(), image() or image-set() names anything but a path on this
host (a scheme such as https:, data: or javascript:, or `//host`); IE's expression()
and `behavior`, Firefox's old `-moz-binding`; and rules that do not parse. Relative
paths stay: they resolve on this host, which the Content-Security-Policy allows.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import tinycss2
from tinycss2 import ast

# At-rules whose block holds rules (the others' blocks hold declarations)
RULE_BLOCKS = {"media", "supports", "container", "layer", "scope", "starting-style", "document"}
KEYFRAMES = re.compile(r"(-[a-z]+-)?keyframes")
DROPPED_AT_RULES = {"import", "namespace", "charset"}
URL_FUNCTIONS = {"url", "src", "image", "image-set", "-webkit-image-set", "cross-fade", "element"}
BAD_PROPERTIES = {"behavior", "-moz-binding"}
BAD_FUNCTIONS = {"expression"}
ELSEWHERE = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|[/\\]{2})", re.IGNORECASE)  # a scheme, or //host


@dataclass
class Sanitised:
    """The stylesheet as it will be served, and a note for each thing taken out."""

    css: str
    notes: list[str] = field(default_factory=list)


def sanitise(source: str) -> Sanitised:
    """`source` with every rule that reaches beyond this host taken out."""
    notes: list[str] = []
    rules = tinycss2.parse_stylesheet(source, skip_comments=True, skip_whitespace=True)
    kept = _rules(rules, notes)
    return Sanitised("\n".join(kept) + ("\n" if kept else ""), notes)


def _rules(rules: list[Any], notes: list[str]) -> list[str]:
    kept = []
    for rule in rules:
        if isinstance(rule, ast.ParseError):
            notes.append(f"line {rule.source_line}: {rule.message} (left out)")
        elif isinstance(rule, ast.AtRule):
            written = _at_rule(rule, notes)
            if written:
                kept.append(written)
        elif isinstance(rule, ast.QualifiedRule):
            if _is_garbled(rule.prelude):
                notes.append(f"line {rule.source_line}: a selector that does not parse (left out)")
                continue
            written = _block(rule.prelude, rule.content, notes)
            if written:
                kept.append(written)
    return kept


def _is_garbled(prelude: list[Any]) -> bool:
    """A selector holding a stray brace or an at-keyword: what a browser makes of it
    may differ from what was checked, so it is not written out at all."""
    return any(
        isinstance(node, ast.AtKeywordToken) or (isinstance(node, ast.LiteralToken) and node.value in "{};")
        for node in prelude
    )


def _at_rule(rule: ast.AtRule, notes: list[str]) -> str:
    name = rule.lower_at_keyword
    where = f"line {rule.source_line}"
    if name in DROPPED_AT_RULES:
        notes.append(f"{where}: @{name} left out (a page's stylesheet loads nothing else)")
        return ""
    if _reaches_out(rule.prelude):
        notes.append(f"{where}: @{name} left out (it names another host)")
        return ""
    prelude = f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}".rstrip()
    if rule.content is None:
        return prelude + ";"
    if name in RULE_BLOCKS or KEYFRAMES.fullmatch(name):
        inner = _rules(tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True), notes)
        return _written(prelude, inner)
    if name == "font-face" and _reaches_out(rule.content):
        notes.append(f"{where}: @font-face left out (its font is on another host)")
        return ""
    return _block(rule.prelude, rule.content, notes, head=prelude)


def _block(prelude: list[Any], content: list[Any], notes: list[str], head: str = "") -> str:
    """A rule with declarations: those that reach out are left out, the rest kept."""
    head = head or tinycss2.serialize(prelude).strip()
    kept = []
    for item in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
        if isinstance(item, ast.Declaration):
            value = tinycss2.serialize(item.value).strip()
            problem = _declaration_problem(item)
            if problem:
                notes.append(f"line {item.source_line}: {item.name} left out ({problem})")
            elif value:
                kept.append(f"{item.name}: {value}{' !important' if item.important else ''};")
        elif isinstance(item, ast.QualifiedRule | ast.AtRule):  # CSS nesting
            kept.extend(_rules([item], notes))
        elif isinstance(item, ast.ParseError):
            notes.append(f"line {item.source_line}: {item.message} (left out)")
    return _written(head, kept)


def _written(head: str, inner: list[str]) -> str:
    """`head { ... }` with `inner` indented; nothing for an empty block or no head."""
    if not head or not inner:
        return ""
    return head + " {\n" + textwrap.indent("\n".join(inner), "  ") + "\n}"


def _declaration_problem(declaration: ast.Declaration) -> str:
    if declaration.lower_name in BAD_PROPERTIES:
        return "it runs code"
    if any(isinstance(node, ast.ParseError) for node in _tokens(declaration.value)):
        return "its value does not parse"
    if _has_function(declaration.value, BAD_FUNCTIONS):
        return "expression() runs code"
    if _reaches_out(declaration.value):
        return "it names another host"
    return ""


def _tokens(nodes: list[Any]) -> Any:
    """Every token, inside blocks and functions too."""
    for node in nodes:
        yield node
        if isinstance(node, ast.FunctionBlock):
            yield from _tokens(node.arguments)
        elif isinstance(node, ast.ParenthesesBlock | ast.SquareBracketsBlock | ast.CurlyBracketsBlock):
            yield from _tokens(node.content)


def _has_function(nodes: list[Any], names: set[str]) -> bool:
    return any(isinstance(node, ast.FunctionBlock) and node.lower_name in names for node in _tokens(nodes))


def _reaches_out(nodes: list[Any]) -> bool:
    """Whether a url(...) (or a string inside image(), image-set(), src()) is anything
    but a path on this host."""
    for node in _tokens(nodes):
        if isinstance(node, ast.URLToken) and ELSEWHERE.match(node.value):
            return True
        if isinstance(node, ast.FunctionBlock) and node.lower_name in URL_FUNCTIONS:
            for argument in _tokens(node.arguments):
                if isinstance(argument, ast.StringToken | ast.URLToken) and ELSEWHERE.match(argument.value):
                    return True
    return False
