"""One walker for paths into parsed JSON, shared by conditions (`json.items[0].id`) and
the two_phase check (`task_id_path = "data.task.id"`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


def walk(document: Any, steps: Iterable[str | int]) -> Any:
    """The value at `steps` (keys, or indexes into lists, negative ones too); MISSING
    when any step is absent."""
    current = document
    for step in steps:
        if isinstance(step, int) and isinstance(current, list):
            current = current[step] if -len(current) <= step < len(current) else MISSING
        elif isinstance(current, dict):
            current = current.get(str(step), MISSING)
        else:
            return MISSING
        if current is MISSING:
            return MISSING
    return current


def dotted(path: str) -> tuple[str | int, ...]:
    """ "data.items.0" -> ("data", "items", 0)."""
    return tuple(int(step) if step.lstrip("-").isdigit() else step for step in path.split(".")) if path else ()
