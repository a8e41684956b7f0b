"""The hooks a statuscore plugin can implement (pluggy project and entry-point group
"statuscore"). Hooks are synchronous: they *declare* classes; the scheduler awaits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .alerts.base import AlertSink
    from .checks.base import CheckType
    from .model import Transition

hookspec = pluggy.HookspecMarker("statuscore")
hookimpl = pluggy.HookimplMarker("statuscore")


@hookspec
def statuscore_check_types() -> list[type[CheckType[Any]]]:  # type: ignore[empty-body]
    """Return the check-type classes this plugin provides.

    Each class subclasses `statuscore.CheckType[YourConfig]`: a unique `name` (the `type`
    in monitors.toml), a frozen dataclass `Config`, and `async def run(self, ctx) -> Attempt`.
    """


@hookspec
def statuscore_alert_sinks() -> list[type[AlertSink[Any]]]:  # type: ignore[empty-body]
    """Return the alert-sink classes this plugin provides (subclasses of `AlertSink`)."""


@hookspec
def statuscore_on_transition(transition: Transition) -> None:
    """Observe a state change as it is recorded; must not block (it runs on the loop).

    :param transition: the `statuscore.Transition` (kind, previous, current, result).
    Called through pluggy's hook caller; an exception is logged and ignored so an
    observer cannot stop the checks (observers after the failing one miss that one
    transition).
    """
