"""PagerDuty sink: Events API v2. An outage triggers an incident and its recovery resolves
it, matched by a stable `dedup_key` per monitor, so PagerDuty's own escalation and
deduplication do the paging.

    [[alert]]
    name = "pagerduty"
    type = "pagerduty"
    routing_key = "${PAGERDUTY_ROUTING_KEY}"

The routing key is added when the event is sent, so it never sits in the alert outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..checks.http_client import check_url
from ..errors import FieldError
from ..hookspecs import hookimpl
from ..model import Transition, TransitionKind
from ..schema import Duration
from .base import AlertSink, Delivery, post_for_delivery

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_TRIGGERS = {TransitionKind.DOWN, TransitionKind.REMINDER}


@dataclass(frozen=True, kw_only=True)
class PagerDutyConfig:
    routing_key: str
    url: str = EVENTS_URL
    severity: str = "critical"
    timeout: Duration = 15.0

    def __post_init__(self) -> None:
        check_url("url", self.url)
        if len(self.routing_key.strip()) < 20:
            raise FieldError(
                "routing_key",
                "expected a PagerDuty integration (routing) key of 32 characters "
                "(set it from the environment, e.g. ${PAGERDUTY_ROUTING_KEY})",
            )
        if self.severity not in ("critical", "error", "warning", "info"):
            raise FieldError("severity", "expected one of critical, error, warning, info")

    def __repr__(self) -> str:  # never print the routing key
        return f"PagerDutyConfig(url={self.url!r})"


def dedup_key(transition: Transition) -> str:
    """Stable per monitor: a trigger while PagerDuty's incident is open adds to it, the
    recovery resolves it, and the next outage (after a resolve) opens a new one."""
    return f"statuscore/{transition.slug}"


def render_pagerduty_event(
    transition: Transition, *, severity: str = "critical", status_page_url: str = ""
) -> dict[str, Any]:
    """The Events API v2 body without its routing key; pure, so it is tested on its own."""
    result = transition.result
    down = transition.kind in _TRIGGERS or (transition.kind is TransitionKind.SETTLED and transition.current.is_failure)
    event: dict[str, Any] = {
        "event_action": "trigger" if down else "resolve",
        "dedup_key": dedup_key(transition),
    }
    if down:
        event["payload"] = {
            "summary": f"{transition.monitor} is down: {result.error or 'check failed'}"[:1024],
            "source": transition.monitor,
            "severity": severity,
            "timestamp": transition.since.isoformat(),
            "component": transition.slug,
            "custom_details": {
                "status_code": result.status_code,
                "error": result.error,
                "attempts": f"{result.attempts}/{result.max_attempts}",
                "latency_ms": result.latency_ms,
            },
        }
        if status_page_url:
            event["links"] = [{"href": status_page_url, "text": "Status page"}]
    return event


class PagerDutySink(AlertSink[PagerDutyConfig]):
    name = "pagerduty"
    label = "PagerDuty"
    Config = PagerDutyConfig

    def wants(self, transition: Transition) -> bool:
        """Outages and their end only: PagerDuty pages people, flapping notes do not."""
        if not transition.notify:
            return False
        return transition.kind in _TRIGGERS | {TransitionKind.RECOVERED} or (transition.kind is TransitionKind.SETTLED)

    template_keys = ("title_template",)

    def render(self, transition: Transition) -> dict[str, Any]:
        return render_pagerduty_event(transition, severity=self.config.severity, status_page_url=self.status_page_url)

    def render_templated(self, transition: Transition, title: str | None, body: str | None) -> dict[str, Any]:
        """A title template words the incident's summary (a resolve has none)."""
        event = self.render(transition)
        if title is not None and "payload" in event:
            event["payload"]["summary"] = title[:1024]
        return event

    def add_note(self, payload: Mapping[str, Any], note: str) -> Mapping[str, Any]:
        """A trigger's note in its custom details (a resolve carries none)."""
        event = payload.get("payload")
        if not isinstance(event, Mapping):
            return payload
        details = dict(event.get("custom_details") or {})
        details["note"] = f"{details['note']}\n{note}" if details.get("note") else note
        return {**payload, "payload": {**event, "custom_details": details}}

    async def deliver(self, payload: Mapping[str, Any], session: aiohttp.ClientSession) -> Delivery:
        body = {"routing_key": self.config.routing_key, **payload}
        return await post_for_delivery(session, self.config.url, json=body, timeout=self.config.timeout)


@hookimpl
def statuscore_alert_sinks() -> list[type[AlertSink[Any]]]:
    return [PagerDutySink]
