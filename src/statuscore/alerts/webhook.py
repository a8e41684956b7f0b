"""Generic JSON webhook sink: one POST per transition, for chat bridges or your own scripts.

Every try of one alert carries the same `Idempotency-Key` header (the alert's id), so a
receiver can drop the repeat a runner's crash between its answer and our commit causes.
With `secret = "${WEBHOOK_SECRET}"` every request is signed, so a receiver can tell it
came from us and was not replayed: `X-Statuscore-Timestamp: <unix seconds>` and
`X-Statuscore-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ..checks.http_client import check_url
from ..hookspecs import hookimpl
from ..model import Alert, Transition
from ..schema import Duration
from .base import AlertSink, Delivery, group_title, post_for_delivery
from .templates import KEYS


@dataclass(frozen=True, kw_only=True)
class WebhookConfig:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: Duration = 15.0
    secret: str = ""

    def __post_init__(self) -> None:
        check_url("url", self.url)

    def __repr__(self) -> str:  # the URL may carry a token
        return "WebhookConfig(...)"


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The two headers that let a receiver verify `body` (see the module's docstring)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Statuscore-Timestamp": str(timestamp), "X-Statuscore-Signature": f"sha256={digest}"}


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

    def add_note(self, payload: Mapping[str, Any], note: str) -> Mapping[str, Any]:
        earlier = payload.get("note")
        return {**payload, "note": f"{earlier}\n{note}" if earlier else note}

    def fold(self, payload: Mapping[str, Any], cause: Alert, affected: Sequence[Alert]) -> Mapping[str, Any]:
        """Besides the note, a field a receiver can read: the dependents and their alerts' ids."""
        folded = super().fold(payload, cause, affected)
        return {**folded, "also_affected": [{"name": alert.monitor, "alert_id": alert.id} for alert in affected]}

    template_keys = KEYS

    def render(self, transition: Transition) -> dict[str, Any]:
        return render_webhook_payload(transition, status_page_url=self.status_page_url)

    def render_templated(self, transition: Transition, title: str | None, body: str | None) -> dict[str, Any]:
        """The same JSON, with `title` and `text` for a chat bridge that shows a message."""
        payload = self.render(transition)
        if title is not None:
            payload["title"] = title
        if body is not None:
            payload["text"] = body
        return payload

    def group(self, alerts: Sequence[Alert], already_told: Sequence[str]) -> Mapping[str, Any]:
        """event "down_group": the single DOWN payloads inside, unchanged."""
        return {
            "event": "down_group",
            "summary": group_title(alerts, already_told, self.grouping.group_window),
            "alerts": [dict(alert.payload) for alert in alerts],
            "already_reported": list(already_told),
            "status_page_url": self.status_page_url or None,
        }

    async def deliver(self, payload: Mapping[str, Any], session: aiohttp.ClientSession) -> Delivery:
        return await self.send(payload, session, idempotency_key="")

    async def send(
        self, payload: Mapping[str, Any], session: aiohttp.ClientSession, *, idempotency_key: str
    ) -> Delivery:
        """`Idempotency-Key: <alert id>`, the same on every try of one alert."""
        body = json.dumps(dict(payload), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **self.config.headers}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if self.config.secret:
            headers.update(sign(body, self.config.secret, int(time.time())))
        return await post_for_delivery(
            session, self.config.url, data=body, headers=headers, timeout=self.config.timeout
        )


@hookimpl
def statuscore_alert_sinks() -> list[type[AlertSink[Any]]]:
    return [WebhookSink]
