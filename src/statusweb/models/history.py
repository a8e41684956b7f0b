"""Check history: raw results (kept for the retention period) and the hourly and daily
rollups that every page reads instead, kept up to date as results are recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from statusweb.models.meta import Base, UTCDateTime


class CheckResultRow(Base):
    __tablename__ = "check_result"
    __table_args__ = (  # the check history's filters, newest first (migration 0009)
        Index("ix_check_result_service_id_checked_at", "service_id", "checked_at"),
        Index("ix_check_result_checked_at_id", "checked_at", "id"),
        Index("ix_check_result_status_checked_at_id", "status", "checked_at", "id"),
        Index("ix_check_result_service_id_status_checked_at_id", "service_id", "status", "checked_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    latency_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=1)


class _Rollup:
    """Counts per status and latency figures (over UP and DEGRADED results) for one
    service and one bucket. `latency_le_<ms>` count results per latency band (see
    `statusweb.models.rollups.LATENCY_BANDS_MS`), so p95 stays exact to the band as rows merge
    and SQL can add histograms up (/metrics does)."""

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    up_count: Mapped[int] = mapped_column(Integer, default=0)
    degraded_count: Mapped[int] = mapped_column(Integer, default=0)
    down_count: Mapped[int] = mapped_column(Integer, default=0)
    maintenance_count: Mapped[int] = mapped_column(Integer, default=0)
    latency_count: Mapped[int] = mapped_column(Integer, default=0)
    latency_sum_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_max_ms: Mapped[int] = mapped_column(Integer, default=0)
    latency_le_25: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_50: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_100: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_200: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_300: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_500: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_750: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_1000: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_1500: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_2000: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_3000: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_5000: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_10000: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_30000: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_le_inf: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RollupHourly(_Rollup, Base):
    __tablename__ = "rollup_hourly"


class RollupDaily(_Rollup, Base):
    __tablename__ = "rollup_daily"
