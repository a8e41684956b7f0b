"""Read-side queries the pages, the APIs and the admin share: each SELECT written once.

Request handlers read the runner's heartbeat from here, not from the runner module, so
they never import the write side (the scheduler, the SQL store, the lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from sqlalchemy import ColumnElement, Select, event, exists, func, or_, select, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, joinedload, selectinload, sessionmaker, with_loader_criteria

from statuscore import utcnow
from statusweb.models import (
    ANY_REGION,
    DEFAULT_SLUG,
    HEARTBEAT_NAME,
    CheckResultRow,
    Incident,
    Maintenance,
    MonitorLease,
    Organization,
    Page,
    RegionObservation,
    RunnerHeartbeat,
    RunnerMember,
    Service,
    ServiceState,
    Subscriber,
    get_session_factory,
)
from statusweb.pages.directory import PageInfo
from statusweb.services.params import record_id, slug

ON_A_PAGE = (Service, Incident, Maintenance, Subscriber)  # what belongs to one page
_SCOPE = "statusweb.scope"


@dataclass(frozen=True)
class PageScope:
    """The pages a session may see: page ids, and whether the default page (rows whose
    page_id is NULL) is among them."""

    page_ids: frozenset[int]
    default_page: bool

    def condition(self, model: Any) -> ColumnElement[bool]:
        inside = model.page_id.in_(sorted(self.page_ids))
        return or_(inside, model.page_id.is_(None)) if self.default_page else inside


def scope_to_page(session: Session, page: PageInfo) -> None:
    """From now on every ORM SELECT in `session` sees only `page`'s services, incidents,
    maintenance and subscribers: one place scopes them all, so no view can forget to."""
    session.info[_SCOPE] = PageScope(frozenset({page.id} if page.id is not None else ()), page.is_default)


def scope_to_organizations(session: Session, organization_ids: Iterable[int]) -> None:
    """The admin's scope: every page of these organizations, and nothing else (another
    organization's incident, service or window is a 404, never a form)."""
    wanted = set(organization_ids)
    rows = session.execute(select(Page.id, Page.slug, Page.organization_id).where(Page.organization_id.in_(wanted)))
    pages = {slug: page_id for page_id, slug, _ in rows}
    default_owner = session.scalar(select(Page.organization_id).where(Page.slug == DEFAULT_SLUG))
    if default_owner is None:  # an install that never made the default page's row: the default organization's
        default_owner = session.scalar(select(Organization.id).where(Organization.slug == DEFAULT_SLUG))
    session.info[_SCOPE] = PageScope(frozenset(pages.values()), default_owner in wanted)


def rows_page_id(session: Session, slug: str) -> int | None:
    """What rows on the page `slug` store as their page_id (None: the default page's);
    LookupError when there is no such page."""
    if slug == DEFAULT_SLUG:
        return None
    found = session.scalar(select(Page.id).where(Page.slug == slug))
    if found is None:
        raise LookupError(slug)
    return int(found)


def organization_of_rows(session: Session, page_id: int | None) -> int | None:
    """The organization that owns a row with this page_id (NULL: the default page's)."""
    if page_id is not None:
        return session.scalar(select(Page.organization_id).where(Page.id == page_id))
    found = session.scalar(select(Page.organization_id).where(Page.slug == DEFAULT_SLUG))
    return (
        found if found is not None else session.scalar(select(Organization.id).where(Organization.slug == DEFAULT_SLUG))
    )


def _only_this_page(state: ORMExecuteState) -> None:
    scope = state.session.info.get(_SCOPE)
    if scope is None or not state.is_select:
        return
    state.statement = state.statement.options(*_scope_options(scope))


@lru_cache(maxsize=1024)
def _scope_options(scope: PageScope) -> tuple[Any, ...]:
    """The criteria of a scope, built once: options are immutable, and building five of
    them for every SELECT was a fifth of an uncached page's time."""
    return tuple(with_loader_criteria(model, scope.condition(model), include_aliases=True) for model in ON_A_PAGE)


def install_page_scoping(session_factory: sessionmaker) -> None:
    event.listen(session_factory, "do_orm_execute", _only_this_page)


def visible_services(session: Session, *, with_state: bool = False, public_only: bool = False) -> list[Service]:
    """The services monitors.toml lists, in page order; `public_only`: those status
    pages show (not `public = false`)."""
    query = select(Service).where(Service.hidden.is_(False)).order_by(Service.position)
    if public_only:
        query = query.where(Service.public.is_(True))
    if with_state:  # one row each: joined in the same SELECT (a second round trip cost more than the rows)
        query = query.options(joinedload(Service.state))
    return list(session.scalars(query))


def visible_service(session: Session, raw_slug: str) -> Service:
    """One public service by the slug in a URL (with its state); HTTPNotFound otherwise."""
    found = session.scalars(
        select(Service)
        .where(Service.slug == slug(raw_slug), Service.hidden.is_(False), Service.public.is_(True))
        .options(selectinload(Service.state))
    ).first()
    if found is None:
        raise HTTPNotFound("no such service")
    return found


def visible_incident(session: Session, raw_id: str) -> Incident:
    """One incident (not deleted) by the id in a URL, with its updates and services."""
    found = session.scalars(
        select(Incident)
        .where(Incident.id == record_id(raw_id, "incident"), Incident.deleted.is_(False))
        .options(selectinload(Incident.updates), selectinload(Incident.affected))
    ).first()
    if found is None:
        raise HTTPNotFound("no such incident")
    return found


def maintenance_history(session: Session, since: datetime, limit: int = 50) -> list[Maintenance]:
    """Windows that ended (completed or cancelled) since `since`, newest first."""
    return list(
        session.scalars(
            select(Maintenance)
            .where(
                Maintenance.rrule == "",
                Maintenance.status.in_(("completed", "cancelled")),
                Maintenance.starts_at >= since,
            )
            .options(selectinload(Maintenance.updates), selectinload(Maintenance.affected))
            .order_by(Maintenance.starts_at.desc())
            .limit(limit)
        )
    )


def incident_history(session: Session, since: datetime, page: int, size: int) -> tuple[list[Incident], int]:
    """One page of the incidents created since `since`, newest first, and how many there are."""
    query = select(Incident).where(Incident.deleted.is_(False), Incident.created_at >= since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    incidents = session.scalars(
        query.options(selectinload(Incident.updates))
        .order_by(Incident.created_at.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return list(incidents), total


@dataclass(frozen=True)
class CheckFilter:
    """What the admin's check history is narrowed to; `before` is the id of the last
    result shown (keyset pagination: the thousandth page costs what the first does)."""

    service_id: int | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None


def check_results(session: Session, narrowed: CheckFilter, limit: int) -> list[Any]:
    """(CheckResultRow, service name) rows, newest first (by checked_at, then id)."""
    return list(session.execute(check_results_query(session, narrowed, limit)).all())


def check_results_query(session: Session, narrowed: CheckFilter, limit: int) -> Select[CheckResultRow, str]:
    """The SELECT behind `check_results` (bench/admin_history.py shows its plans): each
    filter walks one of check_result's indexes (migration 0009), never the whole table."""
    query = select(CheckResultRow, Service.name).join(Service, Service.id == CheckResultRow.service_id)
    conditions = [
        (narrowed.service_id, lambda v: CheckResultRow.service_id == v),
        (narrowed.status, lambda v: CheckResultRow.status == v),
        (narrowed.since, lambda v: CheckResultRow.checked_at >= v),
        (narrowed.until, lambda v: CheckResultRow.checked_at < v),
        (narrowed.before, lambda v: _older_than(session, v)),
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition(value))
    return query.order_by(CheckResultRow.checked_at.desc(), CheckResultRow.id.desc()).limit(limit)


def _older_than(session: Session, result_id: int) -> Any:
    """After result `result_id` in newest-first order; when retention has removed that
    row meanwhile, after its id (ids grow with time, near enough for a page boundary)."""
    at = session.scalar(select(CheckResultRow.checked_at).where(CheckResultRow.id == result_id))
    if at is None:
        return CheckResultRow.id < result_id
    return tuple_(CheckResultRow.checked_at, CheckResultRow.id) < (at, result_id)


def service_names(session: Session) -> dict[int, str]:
    return {service_id: name for service_id, name in session.execute(select(Service.id, Service.name))}


def last_heartbeat(engine: Engine) -> RunnerHeartbeat | None:
    with get_session_factory(engine)() as session:
        return session.get(RunnerHeartbeat, HEARTBEAT_NAME)


def heartbeat_age(engine: Engine, now: datetime | None = None) -> float | None:
    """Seconds since the runner last beat, or None if it never has."""
    row = last_heartbeat(engine)
    return None if row is None else ((now or utcnow()) - row.beat_at).total_seconds()


def stalled_duties(beat: RunnerHeartbeat, *, with_errors: bool = False) -> list[str]:
    """The runner's duties with no completed round for 3 heartbeats (their names, or
    "name: last error" lines for the admin)."""
    lines = [line for line in (beat.stalled or "").splitlines() if line]
    return lines if with_errors else [line.split(":", 1)[0] for line in lines]


def heartbeat_holder(engine: Engine) -> str:
    """host:pid of the runner that beat last ("" if none has)."""
    row = last_heartbeat(engine)
    return row.holder if row is not None else ""


def members(engine: Engine, live_within: float | None = None) -> list[dict[str, Any]]:
    """Every member (or those beaten within `live_within` seconds) with its region,
    seconds since its last beat, leases held and late writes refused (the admin and the
    tests read this)."""
    age = func.extract("epoch", func.now() - RunnerMember.beat_at)
    query = select(RunnerMember, age).order_by(RunnerMember.region, RunnerMember.id)
    if live_within is not None:
        query = query.where(RunnerMember.alive(live_within))
    with get_session_factory(engine)() as session:
        rows = session.execute(query).all()
        return [
            {
                "id": m.id,
                "region": m.region,
                "beat_at": m.beat_at,
                "age_s": float(seconds),
                "held": m.held,
                "refused": m.refused,
            }
            for m, seconds in rows
        ]


def silent_regions(engine: Engine, ttl: float) -> dict[str, int]:
    """Regions that monitors list but where no runner has beaten within `ttl`, with how
    many monitors name each: nobody checks from there, so they count it as unknown."""
    alive = exists().where(RunnerMember.region == MonitorLease.region, RunnerMember.alive(ttl))
    with get_session_factory(engine)() as session:
        rows = session.execute(
            select(MonitorLease.region, func.count())
            .where(MonitorLease.region != ANY_REGION, ~alive)
            .group_by(MonitorLease.region)
            .order_by(MonitorLease.region)
        ).all()
    return {region: count for region, count in rows}


def saved_status(engine: Engine, slug: str) -> str | None:
    """A service's current status as the runner that checks it saved it (None: never checked)."""
    with get_session_factory(engine)() as session:
        return session.scalar(select(ServiceState.status).join(Service).where(Service.slug == slug))


def region_observations(session: Session, service_id: int) -> list[RegionObservation]:
    """What each region last saw of a service checked from several, by region name."""
    return list(
        session.scalars(
            select(RegionObservation)
            .where(RegionObservation.service_id == service_id)
            .order_by(RegionObservation.region)
        )
    )


def latest_result_per_service(session: Session) -> dict[str, CheckResultRow]:
    """Each service's newest raw result, by slug, in one query (uses the
    (service_id, checked_at) index)."""
    newest = (
        select(CheckResultRow.service_id, func.max(CheckResultRow.checked_at).label("at"))
        .group_by(CheckResultRow.service_id)
        .subquery()
    )
    rows = session.execute(
        select(Service.slug, CheckResultRow)
        .join(newest, (CheckResultRow.service_id == newest.c.service_id) & (CheckResultRow.checked_at == newest.c.at))
        .join(Service, Service.id == CheckResultRow.service_id)
    )
    return {slug: row for slug, row in rows}


def active_incidents(session: Session) -> list[Incident]:
    """The open incidents (of the page the session is scoped to), newest first, with their updates."""
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.status != "resolved", Incident.deleted.is_(False))
            .options(selectinload(Incident.updates), selectinload(Incident.affected))
            .order_by(Incident.created_at.desc())
        )
    )
