"""Runners that share one PostgreSQL: who is alive (`runner_member`) and who checks
which monitor (`monitor_lease`). See `statusweb.runner.leases` for the protocol."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ColumnElement, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from statusweb.models.meta import Base, UTCDateTime

DEFAULT_REGION = "default"
ANY_REGION = "*"  # the lease of a monitor that lists no `regions`: any runner may hold it
LEASE_HEARTBEATS = 2  # a runner silent for this many heartbeats has lost its leases


def lease_seconds(heartbeat_interval: float) -> float:
    """How long a runner's leases outlive its last beat: the runner, the admin and
    /healthz all judge a member alive by this one figure."""
    return LEASE_HEARTBEATS * heartbeat_interval


class RunnerMember(Base):
    """One running runner process. `beat_at` is written in the database's own time on
    every heartbeat: a member whose beat is older than its lease time is gone."""

    __tablename__ = "runner_member"
    __table_args__ = (Index("ix_runner_member_region_beat_at", "region", "beat_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid:random
    region: Mapped[str] = mapped_column(String(50), default=DEFAULT_REGION)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    held: Mapped[int] = mapped_column(Integer, default=0)  # leases held at the last beat
    refused: Mapped[int] = mapped_column(Integer, default=0)  # late writes refused so far
    # its liveness lock (pg_advisory_lock(LIVENESS_NAMESPACE, lock_key), held by its session):
    # when the lock is gone the member is dead at once; NULL: judged by its beat alone
    lock_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    @classmethod
    def alive(cls, ttl: float) -> ColumnElement[bool]:
        """Beaten within `ttl` seconds, by the database's clock."""
        return cls.beat_at >= func.now() - timedelta(seconds=ttl)


class MonitorLease(Base):
    """Who checks one monitor from one region. `generation` rises on every change of
    holder: it is the fencing token each result and state write is checked against."""

    __tablename__ = "monitor_lease"
    __table_args__ = (Index("ix_monitor_lease_region_holder", "region", "holder"),)

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(50), primary_key=True, default=DEFAULT_REGION)
    holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the region's place in the monitor's `regions`: the live holder of the lowest decides
    rank: Mapped[int] = mapped_column(Integer, default=0)


class RegionAlertState(Base):
    """A region named by monitors that has had no live runner since `since`, and was
    alerted about: written with the alert, removed (with the "back" alert) when a runner
    beats there again, so each episode is told once whoever does the telling."""

    __tablename__ = "region_alert_state"

    region: Mapped[str] = mapped_column(String(50), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    monitors: Mapped[int] = mapped_column(Integer, default=0)


class RegionObservation(Base):
    """What one region saw of a monitor at its last check, written by the region's lease
    holder; the deciding runner counts these votes against the monitor's quorum."""

    __tablename__ = "region_observation"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(50), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
