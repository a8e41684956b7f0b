"""What an alert sink is: a pure message builder plus one delivery call."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Generic, TypeVar

import aiohttp

from ..durations import format_duration
from ..model import Alert, Monitor, Transition, TransitionKind
from .folding import also_affected_note
from .grouping import GroupPolicy
from .templates import MessageTemplates, template_context

log = logging.getLogger("statuscore.alerts")


@dataclass(frozen=True)
class Delivery:
    """How one delivery went. `retry_after` is the receiver's Retry-After, in seconds."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None


ConfigT = TypeVar("ConfigT")


class AlertSink(Generic[ConfigT]):
    """Base for sinks: set `name` and `Config`, write `render` (pure) and `deliver`.

    `render` runs when the transition is recorded, so the stored payload is exactly
    what is sent even after a restart. `deliver` reports failures as a `Delivery`
    (it may raise aiohttp errors; the notifier treats those as retryable).
    """

    name: ClassVar[str]
    Config: ClassVar[type[Any]]
    #: How a person names the receiver in "sent 3 min late: Slack was unreachable".
    label: ClassVar[str] = "the receiver"
    #: `maintenance_notices = true` in its [[alert]]: also told when a monitor enters and
    #: leaves a maintenance window (never paged: PagerDuty's `wants` ignores these).
    maintenance_notices: bool = False
    #: `group_wait` and `group_window` in its [[alert]] (see `grouping`); set at load.
    grouping: GroupPolicy = GroupPolicy()
    #: The template keys (`title_template`, `body_template`) this sink words its messages
    #: with, in `render_templated`; () for a sink that takes none.
    template_keys: ClassVar[tuple[str, ...]] = ()
    #: Compiled from its [[alert]] at load (see `templates`); None: the sink's own words.
    templates: MessageTemplates | None = None

    def __init__(self, config: ConfigT, *, instance_name: str, status_page_url: str = "") -> None:
        self.config = config
        self.instance_name = instance_name
        self.status_page_url = status_page_url

    def wants(self, transition: Transition) -> bool:
        if self.maintenance_notices and transition.kind in (
            TransitionKind.MAINTENANCE,
            TransitionKind.MAINTENANCE_ENDED,
        ):
            return True
        return transition.notify

    def render(self, transition: Transition) -> dict[str, Any]:
        raise NotImplementedError

    def escape_body(self, text: str) -> str:
        """Applied to every field a body template prints (Slack's mrkdwn: &, < and >)."""
        return text

    def render_templated(self, transition: Transition, title: str | None, body: str | None) -> dict[str, Any]:
        """`render` with a template's `title` and `body` (None: that part as `render` has it)."""
        raise NotImplementedError

    def render_alert(self, transition: Transition, monitor: Monitor | None) -> dict[str, Any]:
        """What is stored and sent: `render`'s message, in the templates' words if it has
        any. A template that fails on this transition (it passed a sample of every kind
        at load) leaves the sink's own message: a late word is better than no alert."""
        if self.templates is None:
            return self.render(transition)
        try:
            title, body = self.templates.render(template_context(transition, monitor, self.status_page_url))
        except Exception as exc:
            log.warning(
                "alert sink %s: its template failed on %s (%s: %s); sending its usual message",
                self.instance_name,
                transition.monitor,
                type(exc).__name__,
                exc,
            )
            return self.render(transition)
        return self.render_templated(transition, title, body)

    async def deliver(self, payload: Mapping[str, Any], session: aiohttp.ClientSession) -> Delivery:
        raise NotImplementedError

    async def send(
        self, payload: Mapping[str, Any], session: aiohttp.ClientSession, *, idempotency_key: str
    ) -> Delivery:
        """What the notifier calls. `idempotency_key` is the alert's id, the same on every
        try, so a receiver can drop the one repeat a crash between its answer and our
        commit can cause. Override it to pass the key on (a header, a Message-ID); the
        default calls `deliver`."""
        return await self.deliver(payload, session)

    def group(self, alerts: Sequence[Alert], already_told: Sequence[str]) -> Mapping[str, Any] | None:
        """One message for several DOWN alerts that came within a minute (a shared
        dependency failed): `alerts` to send now, `already_told` monitors whose DOWN
        went out moments ago. None (the default) sends them one by one, as a sink that
        tracks each monitor separately (PagerDuty) must."""
        return None

    def mark_late(self, payload: Mapping[str, Any], note: str, late_by: float) -> Mapping[str, Any]:
        """`payload` telling its reader it is late (`note`: "sent 3 min late: Slack was
        unreachable"), so a burst of queued alerts after an outage of the receiver is
        not read as fresh news. The default sends it unchanged."""
        return payload

    def add_note(self, payload: Mapping[str, Any], note: str) -> Mapping[str, Any]:
        """`payload` with a line about how it was sent (`Alert.note`: "sent while the
        status database was unreachable ..."), so a repeat after a failover is explained.
        The default sends it unchanged."""
        return payload

    def fold(self, payload: Mapping[str, Any], cause: Alert, affected: Sequence[Alert]) -> Mapping[str, Any]:
        """`payload`, the DOWN of `cause`, naming the monitors that depend on it and went
        down with it (`depends_on`), whose own DOWNs it replaces. Only asked of a sink
        that groups; the default adds the line with `add_note`."""
        return self.add_note(payload, also_affected_note(cause.monitor, [alert.monitor for alert in affected]))


def can_group(sink: AlertSink[Any] | None) -> bool:
    """The sink overrides `group` (PagerDuty, which tracks each monitor, does not)."""
    return sink is not None and type(sink).group is not AlertSink.group


def group_title(alerts: Sequence[Alert], already_told: Sequence[str], window: float = 60.0) -> str:
    """ "3 services down within a minute: A, B, C" (the ones told already last; each once)."""
    names = list(dict.fromkeys([alert.monitor for alert in alerts] + list(already_told)))
    within = "a minute" if window == 60.0 else format_duration(window)
    return f"{len(names)} services down within {within}: {', '.join(names)}"


def late_note(late_by: float, cause: str) -> str:
    """ "sent 3 min late: Slack was unreachable" """
    minutes = round(late_by / 60)
    when = f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
    return f"sent {when} late: {cause}"


async def post_for_delivery(session: aiohttp.ClientSession, url: str, *, timeout: float, **kwargs: Any) -> Delivery:
    """POST to a receiver and judge its answer (the first 2 KiB of the body is enough
    to say what went wrong)."""
    async with session.post(url, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs) as response:
        text = (await response.content.read(2048)).decode("utf-8", "replace")
        return delivery_from_status(response.status, response.headers, text)


def delivery_from_status(status: int, headers: Mapping[str, str], body: str) -> Delivery:
    """The common HTTP verdict: 2xx delivered; anything else kept for a retry."""
    if 200 <= status < 300:
        return Delivery(ok=True)
    snippet = " ".join(body.split())[:120]
    return Delivery(
        ok=False,
        error=f"HTTP {status}" + (f": {snippet}" if snippet else ""),
        retry_after=parse_retry_after(headers.get("Retry-After")),
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(when.tzinfo)
    return max(0.0, (when - now).total_seconds())
