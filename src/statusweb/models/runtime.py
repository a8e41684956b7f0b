"""The runner's working tables: alerts waiting for delivery, its heartbeat, the pushes
and "check now" requests it acts on, and the SLA alerts it has sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from statusweb.models.meta import Base, OutboxColumns, UTCDateTime


class AlertOutbox(OutboxColumns, Base):
    """One rendered alert for one sink. Written with the transition that caused it;
    `delivered_at` is set only after the sink accepted it, so a crash can repeat
    nothing that was confirmed and lose nothing that was not."""

    __tablename__ = "alert_outbox"
    __table_args__ = (Index("ix_alert_outbox_delivered_at_created_at", "delivered_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    sink: Mapped[str] = mapped_column(String(100))
    monitor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


HEARTBEAT_NAME = "runner"  # the one heartbeat row's key


class RunnerHeartbeat(Base):
    """Written by the runner every few seconds; /healthz and standbys read it."""

    __tablename__ = "runner_heartbeat"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_s: Mapped[int] = mapped_column(Integer)
    monitors: Mapped[int] = mapped_column(Integer, default=0)
    # the alert sinks it delivers to, comma-separated ("" = none: the admin warns)
    sinks: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    # duties with no completed round for 3 heartbeats, one "name: last error" per line
    stalled: Mapped[str] = mapped_column(Text, default="", server_default="")


class ServicePush(Base):
    """The last push a push monitor's job sent (`/api/push/{token}`): written by the web
    process, read by whichever runner evaluates the monitor's deadline."""

    __tablename__ = "service_push"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(500), default="")
    ping_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pushes: Mapped[int] = mapped_column(Integer, default=0)


class CheckRequest(Base):
    """ "Check now", asked by the admin or the CLI and carried out by the runner, which
    writes the outcome back here (the result itself is recorded like any other)."""

    __tablename__ = "check_request"
    __table_args__ = (Index("ix_check_request_done_at", "done_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class SlaAlertState(Base):
    """An SLA alert already sent for one service and window (`kind`: breach or budget),
    so it is sent once per episode; the row goes when the figure is back."""

    __tablename__ = "sla_alert_state"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    window: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class OutgoingMail(OutboxColumns, Base):
    """A message to one person that is not a subscriber's (an invitation), sent by the
    runner from here, never by a request; retried with backoff until the server takes it."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_sent_at_next_try", "sent_at", "next_try"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
