"""People and programs that asked to hear about incidents and maintenance: email
subscribers (double opt-in: nothing is sent before they confirm) and webhook URLs; the
messages waiting for each of them (an outbox: one row per subscriber and update, sent in
order by the runner, never by a request); and how far the fan-out has read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from statusweb.models.meta import Base, OutboxColumns, UTCDateTime

SUBSCRIBER_KINDS = ("email", "webhook")


class Subscriber(Base):
    __tablename__ = "subscriber"
    # one subscription per address and page (the default page's NULL is checked by subscribe())
    __table_args__ = (UniqueConstraint("kind", "address", "page_id", name="uq_subscriber_kind_address_page"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(500))
    # service ids, comma-separated; "" = every service (and every incident)
    components: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # random, single-purpose capabilities for the links in messages
    confirm_token: Mapped[str] = mapped_column(String(64), unique=True)
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(64), default="")  # a webhook's signing secret
    # the page subscribed to (NULL: the default page)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("page.id", ondelete="RESTRICT"), nullable=True, index=True)

    @property
    def service_ids(self) -> set[int]:
        return {int(part) for part in self.components.split(",") if part.isdigit()}


class SubscriberMessage(OutboxColumns, Base):
    """One message for one subscriber; `event` is unique per subscriber, so an update is
    queued once however often the fan-out runs; `sent_at` only after the server took it."""

    __tablename__ = "subscriber_message"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "event", name="uq_subscriber_message_subscriber_id"),
        Index("ix_subscriber_message_sent_at_subscriber_id", "sent_at", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # email text, or the webhook's JSON
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SubscriptionCursor(Base):
    """The last incident and maintenance update already fanned out to subscribers."""

    __tablename__ = "subscription_cursor"

    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
