"""The runner's own tables: alerts waiting for delivery, and its heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from statusweb.models.meta import Base, UTCDateTime


class AlertOutbox(Base):
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
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
