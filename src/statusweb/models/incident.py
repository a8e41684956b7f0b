"""Incidents as people write them: a title, an impact, a lifecycle, the services they
touch (each with the component status the public should see), and dated updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statuscore import format_duration
from statusweb.models.meta import Base, UTCDateTime

IMPACTS = ("none", "minor", "major", "critical")
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
POSTMORTEM = "postmortem"  # the status of the update that publishes a postmortem (Statuspage's)
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance")


class IncidentNotEditable(ValueError):
    """A resolved incident is history: it cannot be reopened."""


class Incident(Base):
    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    impact: Mapped[str] = mapped_column(String(20), default="minor")
    status: Mapped[str] = mapped_column(String(20), default="investigating")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Markdown, written once the incident is resolved (services/postmortems.py)
    postmortem: Mapped[str] = mapped_column(Text, default="", server_default="")
    postmortem_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the page that shows it (NULL: the default page); a page with rows cannot be deleted
    page_id: Mapped[int | None] = mapped_column(ForeignKey("page.id", ondelete="RESTRICT"), nullable=True, index=True)

    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident", order_by="IncidentUpdate.created_at.desc()", cascade="all, delete-orphan"
    )
    affected: Mapped[list[AffectedService]] = relationship(back_populates="incident", cascade="all, delete-orphan")

    @property
    def duration_text(self) -> str:
        """How long it lasted ("2 h 5 min"), for a resolved incident."""
        end = self.resolved_at or self.updated_at
        return format_duration(max(0.0, (end - self.created_at).total_seconds()))

    @property
    def is_active(self) -> bool:
        return self.status != "resolved" and not self.deleted

    def post_update(
        self, *, status: str, body: str, at: datetime, author: str, eta: datetime | None = None
    ) -> IncidentUpdate:
        """Move the incident on; resolving stamps `resolved_at`; nothing reopens it."""
        if self.status == "resolved":
            raise IncidentNotEditable("this incident is resolved; open a new one instead")
        update = IncidentUpdate(status=status, body=body, created_at=at, author=author, eta=eta)
        self.updates.append(update)
        self.status = status
        self.updated_at = at
        if status == "resolved":
            self.resolved_at = at
        return update


class IncidentUpdate(Base):
    __tablename__ = "incident_update"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(100), default="")
    # brought in by `statusweb-admin import`: history, which the subscribers' fan-out skips
    imported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    incident: Mapped[Incident] = relationship(back_populates="updates")


class AffectedService(Base):
    """A service an incident touches, with the status the public page shows for it."""

    __tablename__ = "incident_service"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    component_status: Mapped[str] = mapped_column(String(30), default="partial_outage")

    incident: Mapped[Incident] = relationship(back_populates="affected")


class IncidentTemplate(Base):
    """What an incident writer starts from for a kind of trouble they have met before
    (title, body, impact, the services it touches): one organization's, chosen when
    opening an incident in the admin or through /api/v1 (services/incident_templates.py)."""

    __tablename__ = "incident_template"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_incident_template_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    impact: Mapped[str] = mapped_column(String(20), default="minor")
    # service slug -> component status, as JSON (slugs outlive ids across exports)
    components: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
