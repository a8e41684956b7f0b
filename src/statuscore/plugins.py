"""Finding check types and alert sinks: built-ins and third parties alike, via pluggy.

Built-ins are registered from statuscore's own `statuscore` entry points first (as
pytest registers its default plugins), then every other installed distribution's;
`STATUSCORE_DISABLE_PLUGIN_AUTOLOAD=1` skips the latter. A plugin that fails to import
or declares nonsense is listed with its error and skipped; two plugins claiming one
type name is a start-up error naming both.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from . import hookspecs
from .alerts.base import AlertSink
from .checks.base import CheckType
from .errors import PluginError

log = logging.getLogger("statuscore.plugins")

GROUP = "statuscore"
OWN_DISTRIBUTION = "statuscore"


@dataclass(frozen=True)
class Provided:
    """A check type or sink class and the distribution that brought it."""

    name: str
    cls: type[Any]  # a CheckType or AlertSink subclass, checked when it was declared
    distribution: str
    version: str


@dataclass(frozen=True)
class BrokenPlugin:
    entry_point: str
    distribution: str
    error: str


@dataclass
class PluginRegistry:
    manager: pluggy.PluginManager
    check_types: dict[str, Provided] = field(default_factory=dict)
    sinks: dict[str, Provided] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def check_type(self, name: str) -> Provided | None:
        return self.check_types.get(name)

    def notify_transition(self, transition: Any) -> None:
        """Call every `statuscore_on_transition`; an observer's bug is logged, not raised."""
        hook = self.manager.hook.statuscore_on_transition
        if not hook.get_hookimpls():  # no observer installed: skip pluggy's call (every first check)
            return
        try:
            hook(transition=transition)
        except Exception:
            log.exception("a plugin failed in statuscore_on_transition")


def load_registry(autoload: bool | None = None, extra_plugins: tuple[Any, ...] = ()) -> PluginRegistry:
    """Build the registry from installed entry points (and `extra_plugins`, for tests)."""
    if autoload is None:
        autoload = not os.environ.get("STATUSCORE_DISABLE_PLUGIN_AUTOLOAD")
    manager = pluggy.PluginManager(GROUP)
    manager.add_hookspecs(hookspecs)
    registry = PluginRegistry(manager)
    points = sorted(entry_points(group=GROUP), key=lambda ep: _dist_name(ep) != OWN_DISTRIBUTION)
    if not any(_dist_name(ep) == OWN_DISTRIBUTION for ep in points):
        raise PluginError(
            "statuscore's own entry points are missing: reinstall it "
            "(pip install -e .) so its built-in check types can be found"
        )
    for ep in points:
        if not autoload and _dist_name(ep) != OWN_DISTRIBUTION:
            continue
        _register_entry_point(registry, ep)
    for plugin in extra_plugins:
        _register(
            registry,
            plugin,
            name=getattr(plugin, "__name__", repr(plugin)),
            distribution="(registered in code)",
            version="",
        )
    return registry


def _register_entry_point(registry: PluginRegistry, ep: EntryPoint) -> None:
    dist, version = _dist_name(ep), ep.dist.version if ep.dist else ""
    if registry.manager.has_plugin(ep.name) or registry.manager.is_blocked(ep.name):
        return
    try:
        plugin = ep.load()
    except Exception as exc:
        registry.broken.append(
            BrokenPlugin(f"{ep.name} = {ep.value}", dist, f"import failed: {type(exc).__name__}: {exc}")
        )
        log.warning("plugin %s from %s failed to import: %s", ep.name, dist, exc)
        return
    _register(registry, plugin, name=ep.name, distribution=dist, version=version, label=f"{ep.name} = {ep.value}")


def _register(
    registry: PluginRegistry, plugin: Any, *, name: str, distribution: str, version: str, label: str | None = None
) -> None:
    manager = registry.manager
    try:
        manager.register(plugin, name=name)
        check_types = _declared(manager, plugin, "statuscore_check_types", CheckType)
        sinks = _declared(manager, plugin, "statuscore_alert_sinks", AlertSink)
    except PluginError:
        raise
    except Exception as exc:
        if manager.is_registered(plugin):
            manager.unregister(plugin)
        registry.broken.append(BrokenPlugin(label or name, distribution, f"{type(exc).__name__}: {exc}"))
        log.warning("plugin %s from %s skipped: %s", name, distribution, exc)
        return
    for table, classes in ((registry.check_types, check_types), (registry.sinks, sinks)):
        for cls in classes:
            existing = table.get(cls.name)
            if existing is not None and existing.cls is not cls:
                raise PluginError(
                    f"two plugins claim the name {cls.name!r}: {existing.distribution} "
                    f"({existing.cls.__module__}) and {distribution} ({cls.__module__}); "
                    f"uninstall one of them"
                )
            table[cls.name] = Provided(cls.name, cls, distribution, version)


def _declared(manager: pluggy.PluginManager, plugin: Any, hook_name: str, base: type) -> list[type[Any]]:
    """The classes one plugin declares through `hook_name`, each checked for shape."""
    caller = getattr(manager.hook, hook_name)
    impls = [impl for impl in caller.get_hookimpls() if impl.plugin is plugin]
    classes: list[type[Any]] = []
    for impl in impls:
        declared = impl.function() or []
        for cls in declared:
            if not (isinstance(cls, type) and issubclass(cls, base)):
                raise TypeError(f"{hook_name} returned {cls!r}, not a subclass of {base.__name__}")
            if not isinstance(getattr(cls, "name", None), str) or not getattr(cls, "name"):
                raise TypeError(f"{cls.__name__} has no `name`")
            if not hasattr(cls, "Config"):
                raise TypeError(f"{cls.__name__} has no `Config` dataclass")
            classes.append(cls)
    return classes


def _dist_name(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "(unknown distribution)"


_default: PluginRegistry | None = None


def default_registry() -> PluginRegistry:
    """The process-wide registry, loaded on first use."""
    global _default
    if _default is None:
        _default = load_registry()
    return _default
