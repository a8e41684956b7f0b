"""Generic JSON webhook sink: one POST per transition, for PagerDuty-style receivers,
chat bridges or your own scripts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import aiohttp

from ..checks.http_client import check_url
from ..hookspecs import hookimpl
from ..model import Transition
from ..schema import Duration
from .base import AlertSink, Delivery, delivery_from_status


@dataclass(frozen=True, kw_only=True)
class WebhookConfig:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: Duration = 15.0

    def __post_init__(self) -> None:
        check_url("url", self.url)

    def __repr__(self) -> str:  # the URL may carry a token
        return "WebhookConfig(...)"


def render_webhook_payload(transition: Transition, *, status_page_url: str = "") -> dict[str, Any]:
    """The JSON body: flat, stable field names a script can rely on."""
    result = transition.result
    return {
        "event": transition.kind.value,
        "monitor": transition.monitor,
        "slug": transition.slug,
        "status": transition.current.value,
        "previous": transition.previous.value,
        "at": transition.at.isoformat(),
        "since": transition.since.isoformat(),
        "duration_s": transition.duration,
        "status_code": result.status_code,
        "error": result.error,
        "latency_ms": result.latency_ms,
        "attempts": result.attempts,
        "max_attempts": result.max_attempts,
        "status_page_url": status_page_url or None,
    }


class WebhookSink(AlertSink[WebhookConfig]):
    name = "webhook"
    label = "the webhook receiver"
    Config = WebhookConfig

    def mark_late(self, payload: Mapping[str, Any], note: str, late_by: float) -> Mapping[str, Any]:
        return {**payload, "late_by_s": round(late_by), "late": note}

    def render(self, transition: Transition) -> dict[str, Any]:
        return render_webhook_payload(transition, status_page_url=self.status_page_url)

    async def deliver(self, payload: Mapping[str, Any], session: aiohttp.ClientSession) -> Delivery:
        async with session.post(self.config.url, json=dict(payload), headers=self.config.headers,
                                timeout=aiohttp.ClientTimeout(total=self.config.timeout)) as response:
            body = await response.content.read(2048)
            return delivery_from_status(response.status, response.headers,
                                        body.decode("utf-8", "replace"))


@hookimpl
def statuscore_alert_sinks() -> list[type[AlertSink[Any]]]:
    return [WebhookSink]
