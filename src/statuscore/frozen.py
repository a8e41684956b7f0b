"""A cheaper `__init__` for the frozen dataclasses made in bulk: on every check, and
for every monitor of a file.

A frozen dataclass's generated `__init__` sets each field with
`object.__setattr__(self, name, value)`, looking `__setattr__` up on `object` again for
every field. `quick_init` gives the class an `__init__` with the same parameters,
defaults and factories that binds it once per instance (as attrs does), a fifth
cheaper: the attempt, result, state and transition of one check set 37 fields, and a
monitor with its HTTP options 37 more (bench/engine.py). The class stays frozen:
assignment still raises.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

Record = TypeVar("Record", bound=type)

class _Factory:
    """Stands in for a default that a factory makes anew for each instance."""

    def __repr__(self) -> str:
        return "<factory>"  # what dataclasses shows in the signature


_FACTORY = _Factory()


def quick_init(cls: Record) -> Record:
    """Replace frozen dataclass `cls`'s `__init__` (apply above `@dataclass`): the same
    parameters (keyword-only ones too), defaults and factories; fields outside `__init__`
    get their defaults, and `__post_init__` runs last, as dataclasses does it."""
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"quick_init: {cls.__name__} is not a frozen dataclass")
    params = dataclasses.fields(cls)
    env: dict[str, Any] = {"_object_setattr": object.__setattr__, "_FACTORY": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body = ["    _set = _object_setattr.__get__(self)"]
    for f in params:
        if f.default is not dataclasses.MISSING:
            env[f"_default_{f.name}"] = f.default
            value, default = f"_default_{f.name}", f"=_default_{f.name}"
        elif f.default_factory is not dataclasses.MISSING:
            env[f"_factory_{f.name}"] = f.default_factory
            value, default = f"_factory_{f.name}()", "=_FACTORY"
        else:
            value, default = "", ""
        if not f.init:
            if value:
                body.append(f"    _set({f.name!r}, {value})")
            continue
        (keyword if f.kw_only else positional).append(f"{f.name}{default}")
        if default == "=_FACTORY":
            body.append(f"    if {f.name} is _FACTORY: {f.name} = {value}")
        body.append(f"    _set({f.name!r}, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}):\n" + "\n".join(body)
    exec(source, env)  # noqa: S102  # built from the class's own field names only
    init = env["__init__"]
    if _shape(init) != _shape(getattr(cls, "__init__")):  # e.g. an InitVar, which is no field
        raise TypeError(f"quick_init: {cls.__name__}'s __init__ takes more than its fields")
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)
    return cls


def _shape(function: Any) -> list[tuple[str, Any]]:
    return [(p.name, p.kind) for p in inspect.signature(function).parameters.values()]
