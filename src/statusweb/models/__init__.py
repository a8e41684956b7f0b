"""SQLAlchemy models and the engine/session plumbing (the wiki2 tutorial's shape)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from statusweb.models.cluster import (
    ANY_REGION,
    DEFAULT_REGION,
    MonitorLease,
    RegionAlertState,
    RegionObservation,
    RunnerMember,
    lease_seconds,
)
from statusweb.models.history import CheckResultRow, RollupDaily, RollupHourly
from statusweb.models.incident import (
    COMPONENT_STATUSES,
    IMPACTS,
    INCIDENT_STATUSES,
    POSTMORTEM,
    AffectedService,
    Incident,
    IncidentNotEditable,
    IncidentTemplate,
    IncidentUpdate,
)
from statusweb.models.maintenance import (
    MAINTENANCE_STATUSES,
    OPEN_STATUSES,
    Maintenance,
    MaintenanceService,
    MaintenanceUpdate,
)
from statusweb.models.meta import Base, UTCDateTime
from statusweb.models.page import (
    DEFAULT_SLUG,
    MEMBER_ROLES,
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    Page,
)
from statusweb.models.runtime import (
    HEARTBEAT_NAME,
    AlertOutbox,
    CheckRequest,
    OutgoingMail,
    RunnerHeartbeat,
    ServicePush,
    SlaAlertState,
)
from statusweb.models.service import Service, ServiceGroup, ServiceState
from statusweb.models.subscription import SUBSCRIBER_KINDS, Subscriber, SubscriberMessage, SubscriptionCursor
from statusweb.models.user import ROLES, RecoveryCode, User, UserSession

__all__ = [
    "ANY_REGION",
    "DEFAULT_REGION",
    "MonitorLease",
    "RegionAlertState",
    "RegionObservation",
    "RunnerMember",
    "lease_seconds",
    "DEFAULT_SLUG",
    "MEMBER_ROLES",
    "ApiToken",
    "AuditEvent",
    "Invitation",
    "Membership",
    "Organization",
    "Page",
    "COMPONENT_STATUSES",
    "HEARTBEAT_NAME",
    "IMPACTS",
    "INCIDENT_STATUSES",
    "POSTMORTEM",
    "ROLES",
    "AffectedService",
    "AlertOutbox",
    "Base",
    "CheckRequest",
    "CheckResultRow",
    "Incident",
    "IncidentNotEditable",
    "IncidentTemplate",
    "IncidentUpdate",
    "MAINTENANCE_STATUSES",
    "Maintenance",
    "OutgoingMail",
    "MaintenanceService",
    "MaintenanceUpdate",
    "OPEN_STATUSES",
    "RollupDaily",
    "RollupHourly",
    "RunnerHeartbeat",
    "Service",
    "ServiceGroup",
    "ServicePush",
    "ServiceState",
    "SlaAlertState",
    "SUBSCRIBER_KINDS",
    "Subscriber",
    "SubscriberMessage",
    "SubscriptionCursor",
    "RecoveryCode",
    "User",
    "UserSession",
    "UTCDateTime",
    "get_engine",
    "get_session_factory",
]


def get_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so the page and the
    runner can share one file, and foreign keys switched on."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        _make_parent_folder(url)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _make_parent_folder(url: str) -> None:
    """The default database lives under var/: create the folder on first use."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(session_factory: sessionmaker, transaction_manager: Any, request: Any = None) -> Any:
    """A session joined to pyramid_tm's transaction: committed or rolled back with the request."""
    import zope.sqlalchemy

    session = session_factory(info={"request": request})
    zope.sqlalchemy.register(session, transaction_manager=transaction_manager)
    return session


def includeme(config: Any) -> None:
    """request.dbsession, one per request, inside pyramid_tm's explicit transaction."""
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    engine = config.registry.get("statusweb.engine") or get_engine(config.registry["statusweb.settings"].database_url)
    config.registry["statusweb.engine"] = engine
    session_factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = session_factory

    def dbsession(request: Any) -> Any:
        return get_tm_session(session_factory, request.tm, request=request)

    config.add_request_method(dbsession, reify=True)
