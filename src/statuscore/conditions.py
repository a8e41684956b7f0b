"""Small strict expressions that decide whether a response is good (like Gatus).

    status == 200            status in [200, 204]        latency < 2s
    json.he exists           json.state == "ok"          json.items[0].id != null
    body contains "ok"       header.content-type contains "json"
    days_left > 14           (a value a check type reports)

Each is parsed once, at config load, so a typo fails `statuscore validate` with the
column it is at instead of failing a check at three in the morning.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from .durations import parse_duration
from .json_path import MISSING, walk
from .model import Attempt

BUILTIN_SUBJECTS = frozenset({"status", "latency", "body", "json", "header"})
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}
_ORDERING = {"<", "<=", ">", ">="}


class ConditionSyntaxError(ValueError):
    """A condition that cannot be parsed; `column` is 1-based within the condition."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.message = message


@dataclass(frozen=True)
class _Token:
    kind: str  # ident, number, duration, string, op, punct, end
    text: str
    value: Any
    column: int


_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<duration>-?\d+(?:\.\d+)?(?:ms|s|m|h|d)(?![A-Za-z0-9_]))
      | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|<|>)
      | (?P<punct>[\[\],.])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_\-]*)
    """,
    re.VERBOSE,
)


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ConditionSyntaxError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "duration":
            tokens.append(_Token(kind, raw, parse_duration(raw.lstrip("-")), pos + 1))
        elif kind == "number":
            value = float(raw) if "." in raw else int(raw)
            tokens.append(_Token(kind, raw, value, pos + 1))
        elif kind == "string":
            try:
                value = ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                raise ConditionSyntaxError("bad escape in string", pos + 1) from None
            tokens.append(_Token(kind, raw, value, pos + 1))
        elif kind != "space":
            tokens.append(_Token(kind, raw, raw, pos + 1))
        pos = match.end()
    tokens.append(_Token("end", "", None, len(text) + 1))
    return tokens


@dataclass(frozen=True)
class Condition:
    """One parsed condition. `evaluate` says whether an attempt satisfies it."""

    text: str
    subject: str
    path: tuple[str | int, ...]
    op: str
    value: Any = None
    pattern: re.Pattern[str] | None = field(default=None, compare=False)
    # "status == 200", "status in [200, 204]" and their negations (most conditions, on
    # every check): the codes, and whether the status must be one of them.
    _codes: frozenset[int] | None = field(default=None, init=False, repr=False, compare=False)
    _codes_wanted: bool = field(default=True, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.subject != "status" or self.op not in ("==", "!=", "in", "not in"):
            return
        codes = self.value if self.op in ("in", "not in") else (self.value,)
        if all(type(code) is int for code in codes):  # 200.0 takes the general path
            object.__setattr__(self, "_codes", frozenset(codes))
            object.__setattr__(self, "_codes_wanted", self.op in ("==", "in"))

    def evaluate(self, observed: Observation) -> bool:
        if self._codes is not None:  # no status (None) is in no set of codes
            return (observed.attempt.status_code in self._codes) is self._codes_wanted
        actual = observed.lookup(self.subject, self.path)
        op = self.op
        if op == "exists":
            return actual is not MISSING
        if op == "not exists":
            return actual is MISSING
        if actual is MISSING:
            return op in ("!=", "not in", "not contains")
        return _OPERATORS[op](actual, self)

    def describe_failure(self, observed: Observation) -> str:
        """A one-line reason: the condition and, where it helps, what was seen."""
        actual = observed.lookup(self.subject, self.path)
        if self.op in ("exists", "not exists") or self.subject == "body":
            return f"condition failed: {self.text}"
        if actual is MISSING:
            return f"condition failed: {self.text} ({self.display_subject} is missing)"
        shown = f"{actual * 1000:.0f} ms" if self.subject == "latency" else _short(actual)
        return f"condition failed: {self.text} ({self.display_subject} was {shown})"

    @property
    def display_subject(self) -> str:
        parts = [self.subject]
        for step in self.path:
            parts.append(f"[{step}]" if isinstance(step, int) else f".{step}")
        return "".join(parts)


class Observation:
    """What conditions look at: one attempt, its body parsed as JSON at most once."""

    def __init__(self, attempt: Attempt, latency: float) -> None:
        self.attempt = attempt
        self.latency = latency

    @cached_property
    def json(self) -> Any:
        try:
            return json.loads(self.attempt.body)
        except (ValueError, UnicodeDecodeError):
            return MISSING

    def lookup(self, subject: str, path: tuple[str | int, ...]) -> Any:
        if subject == "status":
            code = self.attempt.status_code
            return MISSING if code is None else code
        if subject == "latency":
            return self.latency
        if subject == "body":
            return self.attempt.body.decode("utf-8", "replace")
        if subject == "header":
            name = str(path[0]).lower()
            for key, value in self.attempt.headers.items():
                if key.lower() == name:
                    return value
            return MISSING
        if subject == "json":
            return walk(self.json, path)
        return walk(self.attempt.values.get(subject, MISSING), path)


def parse_condition(text: str, extra_subjects: Iterable[str] = ()) -> Condition:
    """Parse `text`; ConditionSyntaxError carries the column of the first problem."""
    return _parse(text, frozenset(extra_subjects))


@lru_cache(maxsize=4096)
def _parse(text: str, extra_subjects: frozenset[str]) -> Condition:
    """Conditions are immutable, and a large file repeats its [defaults] ones in every
    monitor: each text is parsed once."""
    return _Parser(text, extra_subjects).parse()


class _Parser:
    def __init__(self, text: str, extra_subjects: frozenset[str]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.extra_subjects = extra_subjects

    @property
    def current(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def fail(self, message: str, token: _Token | None = None) -> ConditionSyntaxError:
        token = token or self.current
        found = "the end" if token.kind == "end" else repr(token.text)
        return ConditionSyntaxError(f"{message}, found {found}", token.column)

    def parse(self) -> Condition:
        subject_token = self.current
        subject, path = self.parse_subject()
        op_column = self.current.column
        op = self.parse_operator()
        value: Any = None
        pattern = None
        if op not in ("exists", "not exists"):
            value_token = self.current
            value = self.parse_literal()
            self.check_types(subject, op, value, value_token, op_column)
            if op == "matches":
                try:
                    pattern = re.compile(value)
                except re.error as exc:
                    raise ConditionSyntaxError(f"bad regular expression: {exc}", value_token.column) from None
        elif subject in ("status", "latency", "body"):
            raise ConditionSyntaxError(f"'{subject}' always exists; compare it instead", subject_token.column)
        if self.current.kind != "end":
            raise self.fail("expected the end of the condition")
        return Condition(self.text.strip(), subject, path, op, value, pattern)

    def parse_subject(self) -> tuple[str, tuple[str | int, ...]]:
        token = self.advance()
        allowed = BUILTIN_SUBJECTS | self.extra_subjects
        if token.kind != "ident" or token.text not in allowed:
            names = ", ".join(sorted(allowed))
            raise self.fail(f"expected one of {names}", token)
        path: list[str | int] = []
        while self.current.text in (".", "[") and self.current.kind == "punct":
            if self.advance().text == ".":
                step = self.advance()
                if step.kind not in ("ident", "number") or isinstance(step.value, float):
                    raise self.fail("expected a field name after '.'", step)
                path.append(step.value if step.kind == "number" else step.text)
            else:
                step = self.advance()
                if step.kind == "number" and isinstance(step.value, int):
                    path.append(step.value)
                elif step.kind == "string":
                    path.append(step.value)
                else:
                    raise self.fail("expected an index or a quoted key inside [ ]", step)
                if self.advance().text != "]":
                    raise self.fail("expected ']'", self.tokens[self.pos - 1])
        if token.text == "header" and len(path) != 1:
            raise ConditionSyntaxError("write a header as header.name, e.g. header.content-type", token.column)
        if token.text in ("status", "latency", "body") and path:
            raise ConditionSyntaxError(f"'{token.text}' has no fields", token.column + len(token.text))
        return token.text, tuple(path)

    def parse_operator(self) -> str:
        token = self.advance()
        if token.kind == "op":
            return token.text
        if token.kind == "ident" and token.text in ("exists", "in", "contains", "matches"):
            return token.text
        if token.kind == "ident" and token.text == "not":
            follow = self.advance()
            if follow.kind == "ident" and follow.text in ("exists", "in", "contains"):
                return f"not {follow.text}"
            raise self.fail("expected exists, in or contains after 'not'", follow)
        raise self.fail("expected an operator (==, !=, <, <=, >, >=, in, contains, matches, exists)", token)

    def parse_literal(self) -> Any:
        token = self.advance()
        if token.kind in ("number", "string", "duration"):
            return token.value if token.kind != "duration" else _DurationValue(token.value)
        if token.kind == "ident" and token.text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.text]
        if token.text == "[" and token.kind == "punct":
            items: list[Any] = []
            if self.current.text == "]":
                self.advance()
                return items
            while True:
                items.append(self.parse_literal())
                sep = self.advance()
                if sep.text == "]":
                    return items
                if sep.text != ",":
                    raise self.fail("expected ',' or ']' in the list", sep)
        raise self.fail('expected a value (a number, "string", duration, true/false/null or [list])', token)

    def check_types(self, subject: str, op: str, value: Any, token: _Token, op_column: int) -> None:
        is_list = isinstance(value, list)
        if op in ("in", "not in") and not is_list:
            raise ConditionSyntaxError(f"'{op}' needs a [list] of values", token.column)
        if op not in ("in", "not in") and is_list:
            raise ConditionSyntaxError("a list only goes with 'in' or 'not in'", token.column)
        self.check_subject(subject, op, value if is_list else [value], token)
        if op in ("contains", "not contains", "matches") and not isinstance(value, str):
            raise ConditionSyntaxError(f"'{op}' needs a \"string\"", token.column)
        if op in _ORDERING and not _is_number(value):
            raise ConditionSyntaxError(f"'{op}' needs a number", token.column)
        if subject in ("body", "header") and op in _ORDERING:
            raise ConditionSyntaxError(f"{subject} cannot be ordered with '{op}'", op_column)

    @staticmethod
    def check_subject(subject: str, op: str, items: list[Any], token: _Token) -> None:
        """Durations go with latency only; status compares with numbers only."""
        if subject == "latency":
            if op in ("contains", "not contains", "matches") or not all(isinstance(v, _DurationValue) for v in items):
                raise ConditionSyntaxError("latency compares with a duration such as 2s or 500ms", token.column)
        elif any(isinstance(v, _DurationValue) for v in items):
            raise ConditionSyntaxError("a duration only compares with latency", token.column)
        if subject == "status" and (
            op in ("contains", "not contains", "matches") or not all(_is_number(v) for v in items)
        ):
            raise ConditionSyntaxError("status compares with a number such as 200", token.column)


class _DurationValue(float):
    """Seconds written with a unit (2s): a float, marked so only latency compares with it."""


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    )


def _equal(actual: Any, expected: Any) -> bool:
    if _is_number(actual) and _is_number(expected):
        return float(actual) == float(expected)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return bool(actual == expected)


def _contains(actual: Any, needle: Any) -> bool:
    if isinstance(actual, (list, dict)):
        return needle in actual
    return str(needle) in _as_text(actual)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# What each operator means, given the observed value (never MISSING here) and the condition.
_OPERATORS: dict[str, Callable[[Any, Condition], bool]] = {
    "contains": lambda actual, c: _contains(actual, c.value),
    "not contains": lambda actual, c: not _contains(actual, c.value),
    "matches": lambda actual, c: c.pattern is not None and c.pattern.search(_as_text(actual)) is not None,
    "in": lambda actual, c: any(_equal(actual, v) for v in c.value),
    "not in": lambda actual, c: not any(_equal(actual, v) for v in c.value),
    "==": lambda actual, c: _equal(actual, c.value),
    "!=": lambda actual, c: not _equal(actual, c.value),
    "<": lambda actual, c: _is_number(actual) and actual < c.value,
    "<=": lambda actual, c: _is_number(actual) and actual <= c.value,
    ">": lambda actual, c: _is_number(actual) and actual > c.value,
    ">=": lambda actual, c: _is_number(actual) and actual >= c.value,
}
