"""Planned maintenance: windows people announce ahead, each with the services it
touches, a lifecycle (Statuspage's scheduled -> in_progress -> verifying -> completed)
and dated updates like an incident's. A recurring series is one row with an RFC 5545
`rrule`; the runner materialises its occurrences a week ahead as ordinary windows
(`series_id` points back), so history, feeds and the API only ever see real windows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statusweb.models.meta import Base, UTCDateTime

MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed", "cancelled")
OPEN_STATUSES = ("scheduled", "in_progress", "verifying")


class Maintenance(Base):
    __tablename__ = "maintenance"
    __table_args__ = (Index("ix_maintenance_status_starts_at", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    all_services: Mapped[bool] = mapped_column(Boolean, default=False)
    # A series (rrule set) is a template, never a window itself; its occurrences are.
    rrule: Mapped[str] = mapped_column(String(500), default="", server_default="")
    series_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(100), default="")
    # the page that shows it (NULL: the default page); a page with rows cannot be deleted
    page_id: Mapped[int | None] = mapped_column(ForeignKey("page.id", ondelete="RESTRICT"), nullable=True, index=True)

    updates: Mapped[list[MaintenanceUpdate]] = relationship(
        back_populates="maintenance", order_by="MaintenanceUpdate.created_at.desc()", cascade="all, delete-orphan"
    )
    affected: Mapped[list[MaintenanceService]] = relationship(cascade="all, delete-orphan")

    @property
    def is_series(self) -> bool:
        return bool(self.rrule)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def post_update(self, *, status: str, body: str, at: datetime, author: str) -> MaintenanceUpdate:
        update = MaintenanceUpdate(status=status, body=body, created_at=at, author=author)
        self.updates.append(update)
        self.status = status
        self.updated_at = at
        return update


class MaintenanceUpdate(Base):
    __tablename__ = "maintenance_update"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    maintenance_id: Mapped[int] = mapped_column(ForeignKey("maintenance.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(100), default="")
    # brought in by `statusweb-admin import`: history, which the subscribers' fan-out skips
    imported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    maintenance: Mapped[Maintenance] = relationship(back_populates="updates")


class MaintenanceService(Base):
    """A service a window touches (none at all means every service, see all_services)."""

    __tablename__ = "maintenance_service"

    maintenance_id: Mapped[int] = mapped_column(ForeignKey("maintenance.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
