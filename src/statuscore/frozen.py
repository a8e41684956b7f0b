"""A cheaper `__init__` for the frozen dataclasses made on every check.

A frozen dataclass's generated `__init__` sets each field with
`object.__setattr__(self, name, value)`, looking `__setattr__` up on `object` again for
every field. `quick_init` gives the class an `__init__` with the same parameters,
defaults and factories that binds it once per instance (as attrs does), a fifth
cheaper: the attempt, result, state and transition of one check set 37 fields
(bench/engine.py). The class stays frozen: assignment still raises.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

Record = TypeVar("Record", bound=type)

class _Factory:
    """Stands in for a default that a factory makes anew for each instance."""

    def __repr__(self) -> str:
        return "<factory>"  # what dataclasses shows in the signature


_FACTORY = _Factory()


def quick_init(cls: Record) -> Record:
    """Replace frozen dataclass `cls`'s `__init__` (apply above `@dataclass`). Only plain
    fields: an init-only, keyword-only or `__post_init__` class keeps dataclasses' own."""
    params = dataclasses.fields(cls)
    if (not cls.__dataclass_params__.frozen or hasattr(cls, "__post_init__")  # type: ignore[attr-defined]
            or any(not f.init or f.kw_only for f in params)):
        raise TypeError(f"quick_init: {cls.__name__} is not a frozen dataclass of plain fields")
    env: dict[str, Any] = {"_object_setattr": object.__setattr__, "_FACTORY": _FACTORY}
    signature, body = [], ["    _set = _object_setattr.__get__(self)"]
    for f in params:
        if f.default is not dataclasses.MISSING:
            env[f"_default_{f.name}"] = f.default
            signature.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"_factory_{f.name}"] = f.default_factory
            signature.append(f"{f.name}=_FACTORY")
            body.append(f"    if {f.name} is _FACTORY: {f.name} = _factory_{f.name}()")
        else:
            signature.append(f.name)
        body.append(f"    _set({f.name!r}, {f.name})")
    source = f"def __init__(self, {', '.join(signature)}):\n" + "\n".join(body)
    exec(source, env)  # noqa: S102  # built from the class's own field names only
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)
    return cls
