"""Slack sink: Block Kit messages through slack_sdk's AsyncWebhookClient.

The message design follows Sefaria's plan: a header with the service, fields for
status, since, HTTP code, error and retries (recovery: downtime and response time), a
context line linking the status page, and a `text` fallback for notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..errors import FieldError
from ..hookspecs import hookimpl
from ..model import Alert, Transition
from .base import AlertSink, Delivery, delivery_from_status, group_title
from .fields import alert_fields, alert_title
from .templates import KEYS

# slack_sdk logs the webhook URL at DEBUG; the URL is a secret, so its logger stays quiet.
_quiet_sdk_log = logging.getLogger("statuscore.alerts.slack_sdk")
_quiet_sdk_log.setLevel(logging.WARNING)
_quiet_sdk_log.propagate = False


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True, kw_only=True)
class SlackConfig:
    webhook_url: str
    channel: str = ""
    username: str = ""

    def __post_init__(self) -> None:
        if not self.webhook_url.startswith("https://") and not self.webhook_url.startswith("http://"):
            raise FieldError(
                "webhook_url", "expected the https:// URL of a Slack incoming webhook (set SLACK_WEBHOOK_URL)"
            )

    def __repr__(self) -> str:  # never print the secret URL
        return f"SlackConfig(channel={self.channel!r})"


def render_slack_message(
    transition: Transition,
    *,
    status_page_url: str = "",
    channel: str = "",
    title: str | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """The Block Kit payload for one transition; pure, so it is tested on its own.
    `title` and `body` (from templates) replace the header and the fields."""
    title = title if title is not None else alert_title(transition)
    fields = alert_fields(transition)
    if body is None:
        text = f"{title} ({', '.join(f'{k}: {v}' for k, v in fields)})"
        section: dict[str, Any] = {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{name}:*\n{_clip(_escape(value), 1900)}"} for name, value in fields
            ],
        }
    else:  # a template's fields are escaped as it prints them; its own text is the author's mrkdwn
        text = f"{title}\n{body}"
        section = {"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, 2900)}}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150), "emoji": True}},
        section,
    ]
    if status_page_url:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"Status Page: <{status_page_url}|{_escape(status_page_url)}>"}
                ],
            }
        )
        text += f" Status Page: {status_page_url}"
    payload: dict[str, Any] = {"text": _clip(text, 3000), "blocks": blocks}
    if channel:
        payload["channel"] = channel
    return payload


def mark_slack_message_late(payload: Mapping[str, Any], note: str, icon: str = ":hourglass:") -> dict[str, Any]:
    """The message with `note` ("sent 3 min late: ...") in its text and a context block."""
    late = dict(payload)
    late["text"] = _clip(f"{payload.get('text', '')} ({note})", 3000)
    late["blocks"] = [
        *payload.get("blocks", []),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{icon} _{_escape(note)}_"}]},
    ]
    return late


class SlackSink(AlertSink[SlackConfig]):
    name = "slack"
    label = "Slack"
    Config = SlackConfig
    template_keys = KEYS

    def escape_body(self, text: str) -> str:
        return _escape(text)

    def render(self, transition: Transition) -> dict[str, Any]:
        return self.render_templated(transition, None, None)

    def render_templated(self, transition: Transition, title: str | None, body: str | None) -> dict[str, Any]:
        payload = render_slack_message(
            transition, status_page_url=self.status_page_url, channel=self.config.channel, title=title, body=body
        )
        if self.config.username:
            payload["username"] = self.config.username
        return payload

    def mark_late(self, payload: Mapping[str, Any], note: str, late_by: float) -> Mapping[str, Any]:
        return mark_slack_message_late(payload, note)

    def add_note(self, payload: Mapping[str, Any], note: str) -> Mapping[str, Any]:
        return mark_slack_message_late(payload, note, ":warning:")

    def group(self, alerts: Sequence[Alert], already_told: Sequence[str]) -> Mapping[str, Any]:
        title = f"🔴  {group_title(alerts, already_told, self.grouping.group_window)}"
        # one line each: a templated message's text is its title, a line break, its body
        lines = [f"• {str(alert.payload.get('text') or alert.monitor).splitlines()[0]}" for alert in alerts]
        if already_told:
            lines.append(f"• already reported: {', '.join(already_told)}")
        lines.append("Several services failing together: look for a shared dependency first.")
        payload: dict[str, Any] = {
            "text": _clip(f"{title}\n" + "\n".join(lines), 3000),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150), "emoji": True}},
                {"type": "section", "text": {"type": "mrkdwn", "text": _clip(_escape("\n".join(lines)), 2900)}},
            ],
        }
        if self.config.channel:
            payload["channel"] = self.config.channel
        if self.config.username:
            payload["username"] = self.config.username
        return payload

    async def deliver(self, payload: Mapping[str, Any], session: aiohttp.ClientSession) -> Delivery:
        # Imported here: slack_sdk is a sixth of `statuscore check`'s start-up and only a
        # process that sends to Slack needs it.
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        client = AsyncWebhookClient(
            self.config.webhook_url, session=session, timeout=15, logger=_quiet_sdk_log, retry_handlers=[]
        )
        response = await client.send_dict(dict(payload))
        return delivery_from_status(response.status_code, response.headers or {}, response.body or "")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@hookimpl
def statuscore_alert_sinks() -> list[type[AlertSink[Any]]]:
    return [SlackSink]
