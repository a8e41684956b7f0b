"""Which monitors need which (`depends_on = ["Database"]`).

Checked when the file loads: every name (or slug) must be a monitor of the file and
no monitor may need itself, however indirectly. Asked by the notifier, which tells a
dependent's DOWN together with the DOWN of what it needs ("also affected: Website, API")
instead of one message each (`alerts/folding.py`), and by status pages, which say
"affected by Database" beside a dependent that is down with it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from .errors import ConfigError
from .model import Monitor


class Dependencies:
    """The `depends_on` of a set of monitors, by monitor name (what an `Alert` carries)."""

    def __init__(self, monitors: Iterable[Monitor]) -> None:
        monitors = list(monitors)
        # by slug (as loaded) or name (as `make_monitor(depends_on=["Database"])` leaves it)
        name_of = {monitor.name: monitor.name for monitor in monitors} | {m.slug: m.name for m in monitors}
        self.slug_of = {monitor.name: monitor.slug for monitor in monitors}
        self._parents = {
            monitor.name: tuple(name_of[slug] for slug in monitor.depends_on if slug in name_of)
            for monitor in monitors
            if monitor.depends_on
        }
        self._children: dict[str, list[str]] = {}
        for child, parents in self._parents.items():
            for parent in parents:
                self._children.setdefault(parent, []).append(child)

    def __bool__(self) -> bool:
        return bool(self._parents)

    def parents(self, name: str) -> tuple[str, ...]:
        """What `name` needs directly."""
        return self._parents.get(name, ())

    def descendants(self, name: str) -> list[str]:
        """Every monitor that needs `name`, directly or through others, nearest first."""
        found: dict[str, None] = {}
        frontier = list(self._children.get(name, ()))
        while frontier:
            child = frontier.pop(0)
            if child not in found and child != name:
                found[child] = None
                frontier.extend(self._children.get(child, ()))
        return list(found)


def resolve_dependencies(monitors: Sequence[Monitor]) -> list[Monitor]:
    """`monitors` with each `depends_on` as slugs; a ConfigError names the monitor and
    key of a name that is no monitor, or of a cycle ("A -> B -> A")."""
    by_key = {monitor.slug: monitor for monitor in monitors} | {monitor.name: monitor for monitor in monitors}
    resolved = []
    for monitor in monitors:
        slugs: list[str] = []
        for number, wanted in enumerate(monitor.depends_on):
            parent = by_key.get(wanted) or by_key.get(wanted.strip())
            if parent is None:
                raise ConfigError(
                    f"no monitor is named {wanted!r} (depends_on takes monitors' names or slugs)",
                    monitor=monitor.name,
                    key=f"depends_on[{number}]",
                )
            if parent.slug not in slugs:
                slugs.append(parent.slug)
        resolved.append(replace(monitor, depends_on=tuple(slugs)) if monitor.depends_on else monitor)
    _refuse_cycles(resolved)
    return resolved


def _refuse_cycles(monitors: Sequence[Monitor]) -> None:
    """Depth first from each monitor; a monitor met again on the current path is a cycle."""
    by_slug = {monitor.slug: monitor for monitor in monitors}
    finished: set[str] = set()
    for start in monitors:
        if start.slug in finished:
            continue
        path = [start.slug]
        stack = [iter(start.depends_on)]
        while stack:
            parent = next(stack[-1], None)
            if parent is None:
                finished.add(path.pop())
                stack.pop()
            elif parent in path:
                names = [by_slug[slug].name for slug in path[path.index(parent) :]] + [by_slug[parent].name]
                raise ConfigError(
                    f"a cycle of dependencies: {' -> '.join(names)} (each would wait for the other)",
                    monitor=by_slug[parent].name,
                    key="depends_on",
                )
            elif parent not in finished:
                path.append(parent)
                stack.append(iter(by_slug[parent].depends_on))
