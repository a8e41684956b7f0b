"""Subscribing, the form's side: check an address or webhook URL, and subscribe (email:
double opt-in, a confirmation link and nothing else until it is clicked; webhook: a
challenge the runner posts, with the signing secret). Sending is the runner's
(runner/subscribers.py), never a request's.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuscore import checked_email, checked_url, host_addresses, is_public_address
from statusweb.models import (
    Subscriber,
    SubscriberMessage,
)
from statusweb.services.mail_text import mail_text

log = logging.getLogger("statusweb.services.subscriptions")

VERIFY = "verify:"  # a webhook's ownership challenge (the event of its message)


class SubscriptionError(ValueError):
    """An address or URL that cannot be subscribed; the message says why."""


# -- subscribing -----------------------------------------------------------------------


def check_email(address: str) -> str:
    """The address as mail will be sent to it (email-validator's reading), or
    SubscriptionError: one that could never be sent is refused where it enters."""
    try:
        return checked_email(address)
    except ValueError:  # the sentence the page translates; the library's reason is English only
        raise SubscriptionError("That does not look like an email address.") from None


def check_webhook_url(url: str, *, allow_private: bool = False) -> str:
    """An https URL whose host is on the public internet (a form must not make this
    server call into its own network), parsed and re-serialised as it will be called."""
    try:
        parsed = checked_url(url)
    except ValueError as exc:
        raise SubscriptionError(f"A webhook needs an https:// URL: {exc}.") from None
    normal = str(parsed)
    if parsed.user or parsed.password or len(normal) > 500:
        raise SubscriptionError("A webhook needs an https:// URL (at most 500 characters, no user or password).")
    if parsed.scheme != "https" and not allow_private:
        raise SubscriptionError("A webhook needs an https:// URL.")
    if not allow_private:
        refuse_private_host(parsed.raw_host or "", parsed.port or 443)
    return normal


def refuse_private_host(host: str, port: int) -> None:
    try:
        addresses = host_addresses(host, port)
    except (OSError, UnicodeError):
        raise SubscriptionError(f"The host {host!r} does not resolve.") from None
    if not all(is_public_address(address) for address in addresses):
        raise SubscriptionError("That URL points into a private network; webhooks go to public addresses.")


def subscribe(
    session: Session,
    kind: str,
    address: str,
    service_ids: Iterable[int],
    *,
    now: datetime,
    page_url: str,
    page_name: str,
    page_id: int | None = None,
) -> Subscriber:
    """A new (or the existing) subscriber of page `page_id` (None: the default page).
    Email: unconfirmed, with its confirmation message queued (again, for an unconfirmed
    one asking twice); webhook: confirmed."""
    found = session.scalar(
        select(Subscriber).where(
            Subscriber.kind == kind,
            Subscriber.address == address,
            Subscriber.page_id.is_(page_id) if page_id is None else Subscriber.page_id == page_id,
        )
    )
    components = ",".join(str(n) for n in sorted(set(service_ids)))
    if found is None:
        found = Subscriber(
            kind=kind,
            address=address,
            components=components,
            created_at=now,
            page_id=page_id,
            confirm_token=secrets.token_urlsafe(32),
            unsubscribe_token=secrets.token_urlsafe(32),
            secret="",
            confirmed_at=None,
        )
        session.add(found)
        session.flush()
    elif found.confirmed_at is None:
        found.components = components
    if kind == "webhook":
        _queue_verification(session, found, now, page_name)
    if kind == "email" and found.confirmed_at is None:
        link = f"{page_url.rstrip('/')}/subscribe/confirm/{found.confirm_token}"
        session.add(
            SubscriberMessage(
                subscriber_id=found.id,
                event=f"confirm:{now.isoformat()}",
                subject=f"Confirm your {page_name} updates",
                body=mail_text("confirm", page_name=page_name, link=link),
                created_at=now,
                attempts=0,
            )
        )
    return found


def _queue_verification(session: Session, subscriber: Subscriber, now: datetime, page_name: str) -> None:
    """A webhook proves it is its owner's: the runner POSTs a one-time challenge and the
    signing secret to the URL, and the subscription starts (or its secret changes) only
    when the answer echoes the challenge. The form shows neither, so knowing a URL gives
    nobody its secret, nor tells whether it is subscribed."""
    body = json.dumps(
        {
            "type": "url_verification",
            "challenge": secrets.token_urlsafe(24),
            "secret": secrets.token_hex(24),
            "page": page_name,
            "how": 'answer 2xx with the challenge in the body, e.g. {"challenge": "..."}; then '
            "every update is signed with this secret (X-Statuscore-Signature)",
        }
    )
    session.add(
        SubscriberMessage(
            subscriber_id=subscriber.id,
            event=f"{VERIFY}{now.isoformat()}",
            subject="Verify this webhook",
            body=body,
            created_at=now,
            attempts=0,
        )
    )
