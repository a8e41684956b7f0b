"""What pages show changes with a commit, and the cache follows it there: a transaction
that wrote an incident, a maintenance window, a page or what hangs off them clears the
page cache once it has committed (and a page, the directory of pages too). After the
commit, so a render between a clear and the commit cannot cache the old page again; in
one place, so no view that writes has to remember it (warehouse purges its CDN the same
way). A rolled-back transaction clears nothing."""

from __future__ import annotations

from itertools import chain
from typing import Any

from pyramid.config import Configurator
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from statusweb.edge.page_cache import PageCache
from statusweb.models import (
    AffectedService,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceService,
    MaintenanceUpdate,
    Page,
)
from statusweb.pages.directory import PageDirectory

SHOWN = (Incident, IncidentUpdate, AffectedService, Maintenance, MaintenanceUpdate, MaintenanceService, Page)
CHANGED = "statusweb.shown_changed"  # session.info: what this transaction changed so far


def purge_on_commit(factory: sessionmaker[Any], cache: PageCache, directory: PageDirectory) -> None:
    @event.listens_for(factory, "after_flush")
    def note(session: Session, context: Any) -> None:
        touched = [row for row in chain(session.new, session.dirty, session.deleted) if isinstance(row, SHOWN)]
        if touched:
            changed = session.info.setdefault(CHANGED, set())
            changed.add("shown")
            if any(isinstance(row, Page) for row in touched):
                changed.add("pages")

    @event.listens_for(factory, "after_commit")
    def purge(session: Session) -> None:
        changed = session.info.pop(CHANGED, set())
        if "pages" in changed:
            directory.forget()
        if changed:
            cache.clear()

    @event.listens_for(factory, "after_rollback")
    def forget(session: Session) -> None:
        session.info.pop(CHANGED, None)


def includeme(config: Configurator) -> None:
    registry = config.registry
    purge_on_commit(registry["dbsession_factory"], registry["statusweb.page_cache"], registry["statusweb.pages"])
