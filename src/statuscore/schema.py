"""Turn a TOML table into a check type's frozen config dataclass, or say precisely why not.

Check types (built-in or third-party) declare `Config` as a frozen dataclass with plain
annotations; this module is the one place that knows how TOML values map onto them,
so every plugin's errors read the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Union

from .durations import parse_duration
from .errors import ConfigError, FieldError

DURATION = "duration"
Duration = Annotated[float, DURATION]
"""Annotate a config field with this to accept "10s", "500ms", "2m" (stored as seconds)."""
PERCENT = "percent"
Percent = Annotated[float, PERCENT]
"""Accepts "99.9%" (or 99.9), stored as 99.9; must lie between 0 and 100."""

_MISSING = dataclasses.MISSING


@functools.cache
def _schema_of(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A config class's resolved annotations and fields, worked out once per class:
    `typing.get_type_hints` was most of the time spent loading 10,000 monitors."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return hints, {f.name: f for f in dataclasses.fields(cls) if f.init}


def build_config(cls: type, raw: Mapping[str, Any]) -> Any:
    """An instance of dataclass `cls` from `raw`; ConfigError names the offending key."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints, fields = _schema_of(cls)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"unknown key (known keys: {known})", key=unknown[0])
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if name in raw:
            try:
                values[name] = convert(hints[name], raw[name])
            except (TypeError, ValueError) as exc:
                raise ConfigError(str(exc), key=name) from None
        elif spec.default is _MISSING and spec.default_factory is _MISSING:
            raise ConfigError("required key is missing", key=name)
    try:
        return cls(**values)
    except FieldError as exc:
        raise ConfigError(exc.message, key=exc.key) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def convert(annotation: Any, value: Any) -> Any:
    """`value` checked and converted to `annotation`; ValueError says what was expected."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation in (dict, Mapping):
        origin = dict
    for origins, converter in _CONVERTERS:
        if origin in origins:
            return converter(args, value, origin)
    return _convert_scalar(annotation, value)


def _convert_annotated(args: tuple[Any, ...], value: Any, origin: Any) -> Any:
    if DURATION in args[1:]:
        return parse_duration(value)
    if PERCENT in args[1:]:
        return _parse_percent(value)
    return convert(args[0], value)


def _parse_percent(value: Any) -> float:
    text = value.strip().removesuffix("%").strip() if isinstance(value, str) else value
    try:
        number = float(text) if not isinstance(text, bool) else None
    except ValueError:
        number = None
    if number is None or not 0 < number < 100:
        raise ValueError(f'expected a percentage above 0 and under 100 like "99.9%", got {value!r}')
    return number


def _convert_union(args: tuple[Any, ...], value: Any, origin: Any) -> Any:
    if value is None and type(None) in args:
        return None  # only reachable from code: TOML has no null
    errors = []
    for option in (a for a in args if a is not type(None)):
        try:
            return convert(option, value)
        except ValueError as exc:
            errors.append(str(exc))
    raise ValueError(errors[0] if len(errors) == 1 else " or ".join(errors))


def _convert_literal(args: tuple[Any, ...], value: Any, origin: Any) -> Any:
    if value not in args:
        allowed = ", ".join(repr(a) for a in args)
        raise ValueError(f"expected one of {allowed}, got {value!r}")
    return value


def _convert_sequence(args: tuple[Any, ...], value: Any, origin: Any) -> Any:
    item_type = args[0] if args else Any
    items = value if isinstance(value, list) else [value]
    converted = [convert(item_type, item) for item in items]
    return tuple(converted) if origin is tuple else converted


def _convert_mapping(args: tuple[Any, ...], value: Any, origin: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"expected a table, got {_kind(value)}")
    value_type = args[1] if len(args) == 2 else Any
    return {str(k): convert(value_type, v) for k, v in value.items()}


_CONVERTERS: tuple[tuple[tuple[Any, ...], Callable[[tuple[Any, ...], Any, Any], Any]], ...] = (
    ((Annotated,), _convert_annotated),
    ((Union, types.UnionType), _convert_union),
    ((Literal,), _convert_literal),
    ((tuple, list), _convert_sequence),
    ((dict, Mapping, typing.Mapping), _convert_mapping),
)


def _convert_scalar(annotation: Any, value: Any) -> Any:
    if annotation is Any:
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {_kind(value)}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {_kind(value)}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {_kind(value)}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {_kind(value)}")
        return value
    raise TypeError(f"config fields of type {annotation!r} are not supported")


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute_env(value: Any, env: Mapping[str, str], key: str) -> Any:
    """`${NAME}` and `${NAME:-default}` in every string, so secrets stay out of the file."""
    if isinstance(value, str):
        if "${" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"environment variable {name} is not set (write ${{{name}:-default}} for a fallback)", key=key or None
            )

        return _ENV_REF.sub(replace, value)
    if isinstance(value, dict):
        return {k: substitute_env(v, env, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, env, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def as_table(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"expected a table, got {type(value).__name__}", key=key)
    return value
