"""Subscriber messages, the runner's side: fan new incident and maintenance updates out
into the outbox (`subscriber_message`, one row per subscriber and update, so exactly
once), and deliver it: in order per subscriber, retried with backoff, one bad address
never holding up the others; and the one-off mails (`outgoing_mail`: invitations).
Never in a request.
"""

from __future__ import annotations

import email.policy
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from statuscore import backoff_delay, sign_webhook, smtp_send
from statusweb.models import (
    DEFAULT_SLUG,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
    OutgoingMail,
    Page,
    Subscriber,
    SubscriberMessage,
    SubscriptionCursor,
    get_session_factory,
)
from statusweb.services.incidents import incident_json, iso, statuspage_incident
from statusweb.services.mail_text import mail_text
from statusweb.services.maintenance import maintenance_json, statuspage_maintenance
from statusweb.services.subscriptions import VERIFY, SubscriptionError, refuse_private_host

log = logging.getLogger("statusweb.runner.subscribers")

# Long header lines stay whole: folded, a List-Unsubscribe URL becomes an encoded word
# that mail clients no longer recognise as a link.
UNFOLDED = email.policy.SMTP.clone(max_line_length=998)
MAX_BACKOFF = timedelta(hours=1)
SEND_TIMEOUT = 15.0
BATCH = 200  # subscribers served per delivery round


@dataclass(frozen=True)
class Mail:
    """Where mail goes out: STATUSWEB_SMTP_URL and STATUSWEB_MAIL_FROM (never logged)."""

    url: str
    sender: str


@dataclass(frozen=True)
class Delivery:
    mail: Mail | None
    page_url: str
    page_name: str = "Status"
    allow_private_webhooks: bool = False  # tests and closed networks only


# -- fan-out ---------------------------------------------------------------------------


def fan_out(session: Session, now: datetime, delivery: Delivery) -> int:
    """Queue every incident and maintenance update posted since the last run for each
    confirmed subscriber it concerns (not those an import brought: history, not news);
    the cursor moves in the same transaction."""
    made = 0
    sources: tuple[tuple[str, Any, type], ...] = (
        ("incident_update", IncidentUpdate, Incident),
        ("maintenance_update", MaintenanceUpdate, Maintenance),
    )
    for name, model, parent in sources:
        cursor = session.get(SubscriptionCursor, name)
        if cursor is None:  # first run: news from now on, not the whole history at once
            cursor = SubscriptionCursor(name=name, last_id=session.scalar(select(func.max(model.id))) or 0)
            session.add(cursor)
            continue
        newer = select(model).where(model.id > cursor.last_id, model.imported.is_(False))
        updates = session.scalars(newer.order_by(model.id).limit(500)).all()
        if not updates:
            continue
        subscribers = session.scalars(select(Subscriber).where(Subscriber.confirmed_at.is_not(None))).all()
        pages = _page_deliveries(session, delivery)
        for update in updates:
            item = _item(session, parent, update)
            made += _queue_update(
                session,
                update,
                item,
                [s for s in subscribers if s.page_id == item.page_id],
                now,
                pages.get(item.page_id, delivery),
            )
        cursor.last_id = updates[-1].id
    return made


def _page_deliveries(session: Session, delivery: Delivery) -> dict[int | None, Delivery]:
    """Each page's name and address for its messages (the default page's are `delivery`'s)."""
    found: dict[int | None, Delivery] = {}
    for page in session.scalars(select(Page).where(Page.slug != DEFAULT_SLUG)):
        scheme = urlsplit(delivery.page_url).scheme
        domain = page.serving_domain
        url = f"{scheme}://{domain}" if domain else f"{delivery.page_url}/pages/{page.slug}"
        found[page.id] = replace(delivery, page_url=url, page_name=page.name)
    return found


def _item(session: Session, parent: Any, update: Any) -> Any:
    parent_id = update.incident_id if parent is Incident else update.maintenance_id
    return session.scalars(select(parent).where(parent.id == parent_id).options(selectinload(parent.affected))).one()


def _queue_update(
    session: Session, update: Any, item: Any, subscribers: Iterable[Subscriber], now: datetime, delivery: Delivery
) -> int:
    maintenance = isinstance(item, Maintenance)
    if not maintenance and item.deleted:
        return 0
    touched = {a.service_id for a in item.affected}
    everyone = maintenance and item.all_services
    event = f"{'maintenance' if maintenance else 'incident'}-update:{update.id}"
    made = 0
    rendered = _render_update(item, update, delivery)
    for subscriber in subscribers:
        wanted = subscriber.service_ids
        if wanted and not everyone and not wanted & touched:
            continue  # this subscriber follows other services
        if subscriber.confirmed_at and update.created_at < subscriber.confirmed_at:
            continue
        subject, body = _message(rendered, subscriber, delivery)
        session.add(
            SubscriberMessage(
                subscriber_id=subscriber.id, event=event, subject=subject, body=body, created_at=now, attempts=0
            )
        )
        made += 1
    return made


@dataclass(frozen=True)
class _Rendered:
    """What one update's messages share, worked out once for all its subscribers: each
    message only adds its subscriber's unsubscribe link."""

    subject: str
    incident: dict[str, Any]  # for webhooks: the item as it was at this update, Statuspage's shape
    generated_at: str
    mail: dict[str, str]  # for mail: templates/mail/update.txt's values but the unsubscribe link


def _render_update(item: Any, update: Any, delivery: Delivery) -> _Rendered:
    maintenance = isinstance(item, Maintenance)
    status = update.status.replace("_", " ")
    # one line whatever a title holds (a CR/LF saved before forms refused it never reaches a header)
    subject = " ".join(f"[{delivery.page_name}] {'Maintenance: ' if maintenance else ''}{item.title}: {status}".split())
    anchor = f"#maintenance-{item.id}" if maintenance else ""
    link = f"{delivery.page_url}/history{anchor}" if maintenance else f"{delivery.page_url}/incidents/{item.id}"
    shape = statuspage_maintenance if maintenance else statuspage_incident
    shaped = shape(item, page_id="statusweb", shortlink=link, components=[])
    since = [u.id for u in item.updates].index(update.id)
    shaped.update(
        status=shaped["incident_updates"][since]["status"],
        updated_at=iso(update.created_at),
        incident_updates=shaped["incident_updates"][since:],
    )
    ours = maintenance_json(item, {}, public=True) if maintenance else incident_json(item, {}, public=True)
    window = f"\nScheduled: {item.starts_at:%b %d, %H:%M} – {item.ends_at:%b %d, %H:%M} UTC\n" if maintenance else ""
    mail = {
        "title": item.title,
        "status": status.title(),
        "when": f"{update.created_at:%b %d, %H:%M} UTC",
        "window": window,
        "body": update.body,
        "root_cause": f"\n\nRoot cause: {ours['root_cause']}" if ours.get("root_cause") else "",
        "link": link,
        "page_name": delivery.page_name,
    }
    return _Rendered(subject, shaped, update.created_at.isoformat(), mail)


def _message(rendered: _Rendered, subscriber: Subscriber, delivery: Delivery) -> tuple[str, str]:
    """One subscriber's subject and body: the webhook's JSON, or the mail's text."""
    unsubscribe = f"{delivery.page_url}/subscribe/unsubscribe/{subscriber.unsubscribe_token}"
    if subscriber.kind == "webhook":
        meta = {"unsubscribe": unsubscribe, "generated_at": rendered.generated_at}
        page = {"id": "statusweb", "name": delivery.page_name, "url": delivery.page_url}
        return rendered.subject, json.dumps({"meta": meta, "page": page, "incident": rendered.incident})
    mail = rendered.mail
    body = mail_text(
        "update",
        title=mail["title"],
        status=mail["status"],
        when=mail["when"],
        window=mail["window"],
        body=mail["body"],
        root_cause=mail["root_cause"],
        link=mail["link"],
        page_name=mail["page_name"],
        unsubscribe=unsubscribe,
    )
    return rendered.subject, body


# -- delivery --------------------------------------------------------------------------


def deliver_due(engine: Engine, delivery: Delivery, now: datetime) -> tuple[int, int]:
    """Send the oldest unsent message of each subscriber whose turn it is; (sent, failed).
    A failing subscriber waits (backing off); the others go on."""
    factory = get_session_factory(engine)
    with factory() as session:
        heads = session.execute(
            select(SubscriberMessage.id, Subscriber)
            .join(Subscriber, Subscriber.id == SubscriberMessage.subscriber_id)
            .where(
                SubscriberMessage.id.in_(
                    select(func.min(SubscriberMessage.id))
                    .where(SubscriberMessage.sent_at.is_(None))
                    .group_by(SubscriberMessage.subscriber_id)
                )
            )
            .limit(BATCH)
        ).all()
        messages = {
            m.id: m
            for m in session.scalars(
                select(SubscriberMessage).where(SubscriberMessage.id.in_([message_id for message_id, _ in heads]))
            )
        }
        pages = _page_deliveries(session, delivery)  # each subscriber's links go to its own page
        session.expunge_all()
    sent = failed = 0
    for message_id, subscriber in heads:
        message = messages[message_id]
        if message.next_try is not None and message.next_try > now:
            continue
        if subscriber.confirmed_at is None and not message.event.startswith(("confirm:", VERIFY)):
            continue  # double opt-in: nothing but the confirmation (or the challenge) before the proof
        error = _send(engine, subscriber, message, pages.get(subscriber.page_id, delivery), now)
        outcome = _record_attempt(factory, SubscriberMessage, message_id, error, now)
        sent, failed = sent + (outcome == "sent"), failed + (outcome == "failed")  # "gone": unsubscribed meanwhile
    return sent, failed


def _record_attempt(factory: Any, model: Any, row_id: int, error: str | None, now: datetime) -> str:
    """Mark an outbox row sent, or count the failure and back off (up to 30 s doubling, at
    most MAX_BACKOFF, jittered); "sent", "failed", or "gone" when the row was deleted meanwhile."""
    with factory.begin() as session:
        row = session.get(model, row_id)
        if row is None:
            return "gone"
        if error is None:
            row.sent_at = now
            return "sent"
        row.attempts += 1
        row.last_error = error[:1000]
        row.next_try = now + timedelta(seconds=backoff_delay(row.attempts, first=30.0, cap=MAX_BACKOFF.total_seconds()))
        return "failed"


def deliver_outgoing(engine: Engine, delivery: Delivery, now: datetime) -> tuple[int, int]:
    """Send the due one-off messages (invitations); (sent, failed), failures backing off."""
    factory = get_session_factory(engine)
    with factory() as session:
        due = session.scalars(
            select(OutgoingMail)
            .where(OutgoingMail.sent_at.is_(None), or_(OutgoingMail.next_try.is_(None), OutgoingMail.next_try <= now))
            .order_by(OutgoingMail.id)
            .limit(BATCH)
        ).all()
        session.expunge_all()
    sent = failed = 0
    for message in due:
        error = None
        try:
            if delivery.mail is None:
                raise SubscriptionError("no mail server: set STATUSWEB_SMTP_URL and STATUSWEB_MAIL_FROM")
            smtp_send(
                delivery.mail.url,
                _plain_mail(delivery.mail, message.to_address, message.subject, message.body),
                SEND_TIMEOUT,
            )
        except Exception as exc:  # noqa: BLE001 - one bad address or a server down holds up nobody
            error = f"{type(exc).__name__}: {exc}"
        outcome = _record_attempt(factory, OutgoingMail, message.id, error, now)
        sent, failed = sent + (outcome == "sent"), failed + (outcome == "failed")
    return sent, failed


def _plain_mail(mail: Mail, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage(policy=UNFOLDED)
    message["Subject"] = subject
    message["From"] = mail.sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=mail.sender.rsplit("@", 1)[-1])
    message.set_content(body)
    return message


def _send(
    engine: Engine, subscriber: Subscriber, message: SubscriberMessage, delivery: Delivery, now: datetime
) -> str | None:
    """None when the receiver took it, else what went wrong (never the SMTP URL)."""
    try:
        if subscriber.kind == "email":
            _send_mail(subscriber, message, delivery)
        else:
            answer = _post_webhook(subscriber, message, delivery)
            if message.event.startswith(VERIFY):
                verified(engine, subscriber.id, message, answer, now)
    except (smtplib.SMTPException, OSError, urllib.error.URLError, SubscriptionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a row that can never be sent (an address such as
        # a@[b.c, a URL with a space, CR/LF in a header) fails alone, backing off; the others go on
        log.warning(
            "subscriber %d: message %d cannot be sent: %s: %s",
            subscriber.id,
            message.id,
            type(exc).__name__,
            str(exc)[:200],
        )
        return f"cannot be sent: {type(exc).__name__}: {exc}"
    return None


def _send_mail(subscriber: Subscriber, message: SubscriberMessage, delivery: Delivery) -> None:
    if delivery.mail is None:
        raise SubscriptionError("no mail server: set STATUSWEB_SMTP_URL and STATUSWEB_MAIL_FROM")
    mail = _plain_mail(delivery.mail, subscriber.address, message.subject, message.body)
    unsubscribe = f"{delivery.page_url}/subscribe/unsubscribe/{subscriber.unsubscribe_token}"
    mail["List-Unsubscribe"] = f"<{unsubscribe}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058: mail clients' button
    smtp_send(delivery.mail.url, mail, SEND_TIMEOUT)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead into a private network after the host was checked."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


def _post_webhook(subscriber: Subscriber, message: SubscriberMessage, delivery: Delivery) -> bytes:
    """POST the message (signed with the subscriber's secret, or for a challenge with the
    new one it carries); the first 4 KiB of the answer."""
    parts = urlsplit(subscriber.address)
    if not delivery.allow_private_webhooks:
        refuse_private_host(parts.hostname or "", parts.port or 443)
    body = message.body.encode()
    secret = json.loads(message.body)["secret"] if message.event.startswith(VERIFY) else subscriber.secret
    request = urllib.request.Request(
        subscriber.address,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "statusweb-subscriptions",
            **sign_webhook(body, secret, int(time.time())),
        },
    )
    with _NO_REDIRECTS.open(request, timeout=SEND_TIMEOUT) as answer:  # the host was checked above
        if not 200 <= answer.status < 300:
            raise SubscriptionError(f"HTTP {answer.status}")
        return bytes(answer.read(4096))


def verified(engine: Engine, subscriber_id: int, message: SubscriberMessage, answer: bytes, now: datetime) -> None:
    """A challenge echoed: the subscription starts, signed with the secret it carried
    (an earlier one, of an earlier proof, stops). Anything else: SubscriptionError."""
    sent = json.loads(message.body)
    if sent["challenge"].encode() not in answer:
        raise SubscriptionError("the answer did not echo the challenge (answer 2xx with it in the body)")
    with get_session_factory(engine).begin() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is not None:
            subscriber.secret = sent["secret"]
            subscriber.confirmed_at = subscriber.confirmed_at or now
