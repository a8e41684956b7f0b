"""How a DOWN is told when monitors depend on each other (`depends_on`).

When Database fails, Website and API fail with it; the person on call needs one message
("Database is down; also affected: Website, API"), not three. So, for a sink that can
put several monitors in one message:

- a dependent's DOWN waits (at most `group_wait` from its transition) while what it
  needs has a DOWN queued for the same sink, or is failing without being DOWN yet; then
  it goes inside that message, or on its own;
- the needed monitor's DOWN waits likewise while a dependent is failing, and carries
  every dependent's DOWN that is due (they ride along: marked delivered with it);
- a dependent's DOWN told on its own while what it needs is DOWN says so ("depends on
  Database, which is down"), as on a sink that never groups (PagerDuty, one incident per
  monitor);
- a RECOVERED names the dependents still down; recoveries never wait.

Nothing is dropped: each DOWN is named in exactly one message. Pure: the notifier asks
`fold_down` for each due DOWN."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..dependencies import Dependencies
from ..model import Alert, Status
from ..state import MonitorState

#: The saved state of a monitor by slug (None: not known here).
StatusOf = Callable[[str], MonitorState | None]


@dataclass(frozen=True)
class Fold:
    """Hold the DOWN until `hold_until`, or send it naming `affected_by` (needed
    monitors that are DOWN) with `riders` (dependents' DOWNs that go inside it)."""

    hold_until: datetime | None = None
    affected_by: Sequence[str] = ()
    riders: Sequence[Alert] = ()


def is_failing(state: MonitorState | None) -> bool:
    """Checks fail but the monitor is not DOWN yet: its DOWN may come any moment."""
    return state is not None and state.status is not Status.DOWN and state.consecutive_failures > 0


def is_down(state: MonitorState | None) -> bool:
    return state is not None and state.status is Status.DOWN


def fold_down(
    alert: Alert,
    dependencies: Dependencies,
    status_of: StatusOf,
    *,
    queued_down: Collection[str],
    heads: Sequence[Alert],
    group_wait: float,
    now: datetime,
    groups: bool,
) -> Fold:
    """For a due DOWN. `queued_down`: monitors with a DOWN queued for this sink and not
    sent yet; `heads`: this sink's due DOWNs at the head of their monitor's queue;
    `groups`: the sink can put several monitors in one message."""
    parents = dependencies.parents(alert.monitor)
    descendants = dependencies.descendants(alert.monitor)
    state = state_by_name(dependencies, status_of)
    until = alert.created_at + timedelta(seconds=group_wait)
    may_wait = groups and not alert.attempts and now < until
    if may_wait and any(p in queued_down or is_failing(state(p)) for p in parents):
        return Fold(hold_until=until)  # to go inside its parent's message
    if may_wait and any(is_failing(state(d)) for d in descendants):
        return Fold(hold_until=until)  # its dependents are failing too: wait for their DOWN
    riders = [head for head in heads if head.monitor in descendants] if groups else []
    return Fold(affected_by=[p for p in parents if is_down(state(p))], riders=riders)


def still_down(name: str, dependencies: Dependencies, status_of: StatusOf) -> list[str]:
    """The dependents of `name` that are still DOWN (said when `name` recovers)."""
    state = state_by_name(dependencies, status_of)
    return [child for child in dependencies.descendants(name) if is_down(state(child))]


def state_by_name(dependencies: Dependencies, status_of: StatusOf) -> Callable[[str], MonitorState | None]:
    """A monitor's state by name."""

    def state(name: str) -> MonitorState | None:
        slug = dependencies.slug_of.get(name)
        return status_of(slug) if slug is not None else None

    return state


def also_affected_note(cause: str, affected: Sequence[str]) -> str:
    """ "Also affected: Website, API (they depend on Database)" """
    they = "it depends" if len(affected) == 1 else "they depend"
    return f"Also affected: {', '.join(affected)} ({they} on {cause})"


def affected_by_note(affected_by: Sequence[str], who: str = "") -> str:
    """ "Depends on Database, which is down" ("Website depends on ..." with `who`)."""
    which = "which is" if len(affected_by) == 1 else "which are"
    return f"{who + ' depends' if who else 'Depends'} on {', '.join(affected_by)}, {which} down"


def still_down_note(cause: str, affected: Sequence[str]) -> str:
    """ "Still down: Website (depends on Database)" """
    return f"Still down: {', '.join(affected)} ({'depends' if len(affected) == 1 else 'depend'} on {cause})"
