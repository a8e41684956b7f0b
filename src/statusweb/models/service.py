"""What is watched (`service`) and where each one stands now (`service_state`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statusweb.models.meta import Base, UTCDateTime


class Service(Base):
    """One monitor as the status page knows it. Synced from monitors.toml by slug;
    a monitor removed from the file is hidden, never deleted, so its history stays."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer, default=0)
    group_name: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # monitors.toml's `public`: false keeps it off every status page (the admin still shows it)
    public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # monitors.toml's `public_degraded`: false shows its DEGRADED as operational on status pages
    public_degraded: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    interval_s: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # SLA target in percent (99.9), None when the monitor sets no `sla`
    sla_target: Mapped[float | None] = mapped_column(Float, nullable=True)
    # SHA-256 of a push monitor's token: /api/push/{token} finds its service by it
    push_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # the page that shows it (NULL: the default page); a page with rows cannot be deleted
    page_id: Mapped[int | None] = mapped_column(ForeignKey("page.id", ondelete="RESTRICT"), nullable=True, index=True)
    # monitors.toml's `depends_on`: the slugs of the services it needs, space-separated
    depends_on_slugs: Mapped[str] = mapped_column(Text, default="", server_default="")
    # a vendor's status (`statuspage`): left out of the page's overall status
    third_party: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    state: Mapped[ServiceState | None] = relationship(back_populates="service", uselist=False)


class ServiceState(Base):
    """The state machine's memory for one service, so a restart resumes where it was."""

    __tablename__ = "service_state"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    flips: Mapped[str] = mapped_column(Text, default="")
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_max_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    service: Mapped[Service] = relationship(back_populates="state")


class ServiceGroup(Base):
    """A `[[group]]` of monitors.toml: its description and whether the page starts it
    closed. Services name their group (`Service.group_name`); one without a row is open."""

    __tablename__ = "service_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    collapsed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
