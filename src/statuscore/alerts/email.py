"""Email sink: one plain-text message per outage and recovery, over SMTP.

    [[alert]]
    name = "ops-mail"
    type = "email"
    url = "${SMTP_URL}"            # smtp://user:password@mail.example.org:587 (STARTTLS when offered)
                                   # smtps://user:password@mail.example.org:465 (TLS from the start)
    sender = "status@example.org"
    to = ["ops@example.org"]

The URL (with its password) comes from the environment and is never logged or stored:
the outbox keeps only the subject and the text.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp

from ..addresses import checked_email
from ..errors import FieldError
from ..hookspecs import hookimpl
from ..model import Alert, Transition, TransitionKind
from ..schema import Duration
from .base import AlertSink, Delivery, group_title
from .fields import alert_fields
from .templates import KEYS

_SUBJECTS = {
    TransitionKind.DOWN: "DOWN",
    TransitionKind.REMINDER: "STILL DOWN",
    TransitionKind.RECOVERED: "RECOVERED",
    TransitionKind.DEGRADED: "DEGRADED",
    TransitionKind.IMPROVED: "OK",
    TransitionKind.FLAPPING: "FLAPPING",
    TransitionKind.SLA_BREACH: "SLA BREACHED",
    TransitionKind.SLA_BUDGET: "SLA BUDGET 80%",
    TransitionKind.REGION_LOST: "NO RUNNER IN REGION",
    TransitionKind.REGION_BACK: "RUNNER BACK IN REGION",
    TransitionKind.MAINTENANCE: "MAINTENANCE",
    TransitionKind.MAINTENANCE_ENDED: "MAINTENANCE ENDED",
}


@dataclass(frozen=True, kw_only=True)
class EmailConfig:
    url: str
    sender: str
    to: tuple[str, ...]
    timeout: Duration = 20.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise FieldError(
                "url", "expected smtp://host:port or smtps://host:port (from the environment, e.g. ${SMTP_URL})"
            )
        if not self.to:
            raise FieldError("to", "expected a list of email addresses")
        # an address that can never be sent fails at load, not at three in the morning
        object.__setattr__(self, "to", tuple(_address(f"to[{i}]", address) for i, address in enumerate(self.to)))
        object.__setattr__(self, "sender", _address("sender", self.sender))

    def __repr__(self) -> str:  # the URL holds a password
        return f"EmailConfig(to={self.to!r})"


def _address(key: str, address: str) -> str:
    try:
        return checked_email(address)
    except ValueError as exc:
        raise FieldError(key, f"expected an email address: {exc}") from None


def render_email(
    transition: Transition, *, status_page_url: str = "", title: str | None = None, body: str | None = None
) -> dict[str, str]:
    """Subject and text for one transition; pure, so it is tested on its own. `title` and
    `body` (from templates) replace the subject and the text."""
    kind = transition.kind
    word = _SUBJECTS.get(kind, transition.current.value.upper())
    subject = title if title is not None else f"[{word}] {transition.monitor}"
    if body is not None:
        return {"subject": subject, "text": body + "\n"}
    if kind in (TransitionKind.SLA_BREACH, TransitionKind.SLA_BUDGET):
        lines = [f"{transition.monitor}: {word.lower()}.", ""]
    else:
        lines = [f"{transition.monitor} is {transition.current.value.upper()} ({kind.value}).", ""]
    lines += [f"{name + ':':<12}{value}" for name, value in alert_fields(transition) if name != "Status"]
    if status_page_url:
        lines += ["", f"Status page: {status_page_url}"]
    return {"subject": subject, "text": "\n".join(lines) + "\n"}


class EmailSink(AlertSink[EmailConfig]):
    name = "email"
    label = "the mail server"
    Config = EmailConfig
    template_keys = KEYS

    def render(self, transition: Transition) -> dict[str, Any]:
        return render_email(transition, status_page_url=self.status_page_url)

    def render_templated(self, transition: Transition, title: str | None, body: str | None) -> dict[str, Any]:
        return render_email(transition, status_page_url=self.status_page_url, title=title, body=body)

    def mark_late(self, payload: Mapping[str, Any], note: str, late_by: float) -> Mapping[str, Any]:
        return {**payload, "text": f"({note})\n\n{payload.get('text', '')}"}

    def add_note(self, payload: Mapping[str, Any], note: str) -> Mapping[str, Any]:
        return self.mark_late(payload, note, 0.0)

    def group(self, alerts: Sequence[Alert], already_told: Sequence[str]) -> Mapping[str, Any]:
        title = group_title(alerts, already_told, self.grouping.group_window)
        parts = [f"{title}.\nSeveral services failing together: look for a shared dependency first.", ""]
        parts += [
            f"--- {alert.payload.get('subject', alert.monitor)}\n{alert.payload.get('text', '')}" for alert in alerts
        ]
        return {"subject": f"[DOWN] {title}", "text": "\n".join(parts)}

    async def deliver(self, payload: Mapping[str, Any], session: aiohttp.ClientSession) -> Delivery:
        return await self.send(payload, session, idempotency_key="")

    async def send(
        self, payload: Mapping[str, Any], session: aiohttp.ClientSession, *, idempotency_key: str
    ) -> Delivery:
        """The Message-ID comes from the alert's id, so a repeat is the same message to
        a mail client (which shows it once)."""
        message = EmailMessage()
        message["Subject"] = str(payload.get("subject", "status alert"))
        message["From"] = self.config.sender
        message["To"] = ", ".join(self.config.to)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(idempotency_key, self.config.sender.rsplit("@", 1)[1])
        message.set_content(str(payload.get("text", "")))
        try:
            await asyncio.to_thread(smtp_send, self.config.url, message, self.config.timeout)
        except (smtplib.SMTPException, OSError) as exc:
            # smtplib's messages name the server's answer, never our URL or password
            retryable = not isinstance(exc, smtplib.SMTPRecipientsRefused)
            return Delivery(
                ok=False, error=f"SMTP: {type(exc).__name__}: {exc}"[:200], retry_after=None if retryable else 3600.0
            )
        return Delivery(ok=True)


def message_id(idempotency_key: str, domain: str) -> str:
    """<statuscore.<sha256 of the alert id>@domain>: stable per alert, no id text in a header."""
    if not idempotency_key:
        return make_msgid(domain=domain)
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<statuscore.{digest}@{domain}>"


def smtp_send(url: str, message: EmailMessage, timeout: float) -> None:
    """Send `message` through the server at `url` (smtp:// with STARTTLS when offered,
    or smtps://; user and password in the URL). Raises smtplib's errors or OSError."""
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    host, port = parts.hostname or "", parts.port or (465 if secure else 25)
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        if secure
        else smtplib.SMTP(host, port, timeout=timeout)
    )
    with client:
        if not secure:
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


@hookimpl
def statuscore_alert_sinks() -> list[type[AlertSink[Any]]]:
    return [EmailSink]
