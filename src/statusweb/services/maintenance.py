"""Planning maintenance, the same way from the admin, the CLI and the runner: create
a window (or a recurring series), expand a series into windows a week ahead, and move
every window along its lifecycle as time passes (scheduled -> in_progress at its
start -> verifying at its end -> completed once its services pass again). Every output
of a window (/api/v1, /api/v2, feeds, subscriber messages) starts from `maintenance_json`.

`advance_windows` is idempotent and safe to call from anyone; the runner calls it every
few seconds, the CLI and the admin right after a change so the page is current at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dateutil.rrule import DAILY, rrulestr
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from statuscore import MaintenanceWindow, has_control_characters
from statusweb.models import OPEN_STATUSES, Maintenance, MaintenanceService, MaintenanceUpdate, Service, ServiceState
from statusweb.services.incidents import PRIVATE_FIELDS, iso, statuspage_update

log = logging.getLogger("statusweb.services.maintenance")
RULE_SAMPLE = 50  # occurrences of a rule looked at to judge how often it repeats
MIN_GAP = timedelta(hours=23)  # "at most daily", whatever the clock change does to a day
_TOLD_BAD_RULES: set[tuple[int, str]] = set()  # logged once per process, not every round

AHEAD = timedelta(days=8)  # occurrences exist this far ahead (the page shows 7 days)
VERIFY_AT_MOST = timedelta(minutes=15)  # verifying ends then even if a service still fails
MAX_DURATION = timedelta(days=31)
MAX_OCCURRENCES = 100  # per series and pass: a series can never flood the table
PASSING_STATUSES = ("up", "degraded")
UPDATE_TEXT = {
    "in_progress": "Scheduled maintenance is in progress. We will provide updates as necessary.",
    "verifying": "The maintenance window has ended; we are verifying that every affected service is back.",
    "completed": "The scheduled maintenance has been completed.",
}


class MaintenanceError(ValueError):
    """A window that cannot be (a bad time, recurrence or service); the message says why."""


@dataclass(frozen=True)
class WindowPlan:
    """What a person asks for, checked: the admin form and the CLI both build one."""

    title: str
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    service_ids: tuple[int, ...] = ()  # empty: every service (of the page)
    rrule: str = ""
    page_id: int | None = None  # the page it is on (None: the default page); fixed once made

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise MaintenanceError("a title is required")
        if has_control_characters(self.title.strip()):
            raise MaintenanceError("the title must be one line, without line breaks, tabs or other control characters")
        if self.ends_at <= self.starts_at:
            raise MaintenanceError("the end must come after the start")
        if self.ends_at - self.starts_at > MAX_DURATION:
            raise MaintenanceError("a window lasts at most 31 days (use a recurrence for regular ones)")
        if self.rrule:
            parse_rrule(self.rrule, self.starts_at)


def parse_rrule(text: str, start: datetime) -> list[datetime]:
    """The first occurrences of an RFC 5545 RRULE (without DTSTART: the window's start
    is its start); MaintenanceError for anything else or anything more often than daily."""
    rule_text = text.strip().removeprefix("RRULE:")
    if not rule_text or any(part in rule_text.upper() for part in ("DTSTART", "\n", "EXDATE", "RDATE")):
        raise MaintenanceError("the recurrence must be one RRULE such as FREQ=WEEKLY;BYDAY=TU")
    try:
        rule = rrulestr(rule_text, dtstart=start)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise MaintenanceError(
            f"not a recurrence rule ({exc}); e.g. FREQ=WEEKLY;BYDAY=TU or FREQ=MONTHLY;BYMONTHDAY=1"
        ) from None
    if getattr(rule, "_freq", DAILY) > DAILY:
        raise MaintenanceError("a maintenance recurrence repeats at most daily")
    # BYHOUR, BYMINUTE and BYSECOND can make a DAILY rule fire every second: judge what it expands to
    first = [moment for _, moment in zip(range(RULE_SAMPLE), rule)]
    if any(later - earlier < MIN_GAP for earlier, later in zip(first, first[1:])):
        raise MaintenanceError(
            "a maintenance recurrence repeats at most daily (its occurrences are less than "
            "a day apart: leave out BYHOUR, BYMINUTE and BYSECOND lists)"
        )
    return first[:3]


def create_window(session: Session, plan: WindowPlan, *, now: datetime, author: str) -> Maintenance:
    """A window (or series, with its first occurrences) from `plan`."""
    window = Maintenance(created_at=now, author=author[:100], page_id=plan.page_id)
    apply_plan(session, window, plan, now=now)
    session.add(window)
    session.flush()
    if window.is_series:
        materialize(session, window, now)
    return window


def apply_plan(session: Session, window: Maintenance, plan: WindowPlan, *, now: datetime) -> None:
    known = set(
        session.scalars(select(Service.id).where(Service.id.in_(plan.service_ids), same_page(Service, window.page_id)))
    )
    unknown = sorted(set(plan.service_ids) - known)
    if unknown:
        raise MaintenanceError(f"no such service on this window's page: {unknown[0]}")
    window.title = plan.title.strip()[:200]
    window.description = plan.description
    window.starts_at = plan.starts_at
    window.ends_at = plan.ends_at
    window.rrule = plan.rrule.strip().removeprefix("RRULE:")
    window.all_services = not plan.service_ids
    window.status = "scheduled" if window.is_series or plan.starts_at > now else window.status or "scheduled"
    window.updated_at = now
    window.affected = [MaintenanceService(service_id=service_id) for service_id in sorted(known)]


def replan_series(session: Session, series: Maintenance, now: datetime) -> None:
    """After a series changed: its future occurrences are made again from it."""
    for occurrence in session.scalars(
        select(Maintenance).where(
            Maintenance.series_id == series.id, Maintenance.status == "scheduled", Maintenance.starts_at > now
        )
    ):
        session.delete(occurrence)
    session.flush()
    materialize(session, series, now)


def cancel(window: Maintenance, *, now: datetime, author: str, note: str = "") -> None:
    window.post_update(status="cancelled", body=note or "This maintenance has been cancelled.", at=now, author=author)


def end_now(window: Maintenance, *, now: datetime, author: str) -> None:
    """Ended early (a deploy finished): the window closes now and goes to verifying."""
    if window.starts_at > now:
        window.starts_at = now
    window.ends_at = now
    window.post_update(status="verifying", body=UPDATE_TEXT["verifying"], at=now, author=author)


def materialize(session: Session, series: Maintenance, now: datetime) -> int:
    """Occurrences of `series` starting within AHEAD that do not exist yet."""
    if series.status == "cancelled":
        return 0
    duration = series.ends_at - series.starts_at
    rule = rrulestr(series.rrule, dtstart=series.starts_at)
    existing = set(session.scalars(select(Maintenance.starts_at).where(Maintenance.series_id == series.id)))
    made = 0
    for start in rule.between(now - duration, now + AHEAD, inc=True)[:MAX_OCCURRENCES]:
        if start in existing:
            continue
        session.add(
            Maintenance(
                title=series.title,
                description=series.description,
                starts_at=start,
                ends_at=start + duration,
                status="scheduled",
                all_services=series.all_services,
                series_id=series.id,
                page_id=series.page_id,
                created_at=now,
                updated_at=now,
                author=series.author,
                affected=[MaintenanceService(service_id=a.service_id) for a in series.affected],
            )
        )
        made += 1
    return made


def advance_windows(session: Session, now: datetime, *, author: str = "statusweb") -> list[Maintenance]:
    """Expand series and move every open window to where the time says it is; the
    windows that moved (each with its update posted)."""
    for series in session.scalars(
        select(Maintenance)
        .where(Maintenance.rrule != "", Maintenance.status != "cancelled")
        .options(selectinload(Maintenance.affected))
    ):
        try:
            materialize(session, series, now)
        except (ValueError, TypeError, OverflowError) as exc:  # a rule saved before it was checked:
            # that series waits, the other windows go on
            if (series.id, series.rrule) not in _TOLD_BAD_RULES:
                _TOLD_BAD_RULES.add((series.id, series.rrule))
                log.warning(
                    "maintenance series %d skipped until its rule is fixed: %r cannot be expanded (%s)",
                    series.id,
                    series.rrule[:200],
                    exc,
                )
    session.flush()
    moved = []
    for window in session.scalars(
        select(Maintenance)
        .where(Maintenance.rrule == "", Maintenance.status.in_(OPEN_STATUSES), Maintenance.starts_at <= now)
        .options(selectinload(Maintenance.affected), selectinload(Maintenance.updates))
    ):
        target = _status_at(session, window, now)
        if target != window.status:
            window.post_update(status=target, body=UPDATE_TEXT[target], at=now, author=author)
            moved.append(window)
    return moved


def _status_at(session: Session, window: Maintenance, now: datetime) -> str:
    if now < window.ends_at:
        return "in_progress"
    if now - window.ends_at >= VERIFY_AT_MOST or _services_pass_since(session, window, window.ends_at):
        return "completed"
    return "verifying"


def _services_pass_since(session: Session, window: Maintenance, moment: datetime) -> bool:
    """Every affected service has been checked since `moment` and passed."""
    query = (
        select(ServiceState.last_checked_at, ServiceState.last_status)
        .select_from(Service)
        .outerjoin(ServiceState)
        .where(Service.hidden.is_(False))
    )
    if not window.all_services:
        query = query.where(Service.id.in_([a.service_id for a in window.affected]))
    else:
        query = query.where(same_page(Service, window.page_id))
    rows = session.execute(query).all()
    return all(checked is not None and checked >= moment and status in PASSING_STATUSES for checked, status in rows)


def active_windows(session: Session, now: datetime, *, ahead: timedelta = timedelta(0)) -> list[Maintenance]:
    """Windows (not series) that are not cancelled or completed and overlap now..now+ahead."""
    return list(
        session.scalars(
            select(Maintenance)
            .where(
                Maintenance.rrule == "",
                Maintenance.status.in_(OPEN_STATUSES),
                Maintenance.starts_at <= now + ahead,
                Maintenance.ends_at > now,
            )
            .options(selectinload(Maintenance.affected), selectinload(Maintenance.updates))
            .order_by(Maintenance.starts_at)
        )
    )


def same_page(model: Any, page_id: int | None) -> Any:
    """`model`'s rows on the page whose rows carry `page_id` (None: the default page)."""
    return model.page_id.is_(None) if page_id is None else model.page_id == page_id


def calendar_windows(session: Session, now: datetime) -> list[MaintenanceWindow]:
    """What the scheduler needs: open windows from now to a day ahead, by slug. A window
    for "every service" covers every service of its own page (all of them, with one page).
    Read every second by every runner: with no window open (the usual case) it is one
    small query, and services are read only as far as the windows need them."""
    windows = active_windows(session, now, ahead=timedelta(days=1))
    if not windows:
        return []
    named = {a.service_id for window in windows if not window.all_services for a in window.affected}
    slugs = dict(session.execute(select(Service.id, Service.slug).where(Service.id.in_(named))).all())
    pages = (
        set(session.scalars(select(Service.page_id).distinct()))
        if any(window.all_services for window in windows)
        else set()
    )
    page_slugs: dict[int | None, frozenset[str]] = {}

    def covered(window: Maintenance) -> frozenset[str] | None:
        if not window.all_services:
            return frozenset(slugs[a.service_id] for a in window.affected if a.service_id in slugs)
        if pages <= {window.page_id}:
            return None  # every service there is
        if window.page_id not in page_slugs:
            page_slugs[window.page_id] = frozenset(
                session.scalars(select(Service.slug).where(same_page(Service, window.page_id)))
            )
        return page_slugs[window.page_id]

    return [
        MaintenanceWindow(title=window.title, starts_at=window.starts_at, ends_at=window.ends_at, slugs=covered(window))
        for window in windows
    ]


def under_maintenance(windows: Iterable[Maintenance], now: datetime) -> tuple[bool, set[int]]:
    """(every service?, the ids of services) inside an open window at `now`."""
    everything, ids = False, set[int]()
    for window in windows:
        if window.starts_at <= now < window.ends_at and window.status in ("scheduled", "in_progress"):
            everything = everything or window.all_services
            ids.update(a.service_id for a in window.affected)
    return everything, ids


def services_of(window: Maintenance, services: Sequence[Service]) -> list[Service]:
    if window.all_services:
        return list(services)
    wanted = {a.service_id for a in window.affected}
    return [service for service in services if service.id in wanted]


# our names that Statuspage's shape spells its own way (see statuspage_maintenance)
STATUSPAGE_RENAMED = ("title", "updates", "services", "starts_at", "ends_at")


def maintenance_json(window: Maintenance, slugs: Mapping[int, str], *, public: bool) -> dict[str, Any]:
    """Every field of a window, once. `public` leaves out who wrote it and its updates."""
    hidden = PRIVATE_FIELDS if public else ()
    ours = {
        "id": window.id,
        "title": window.title,
        "description": window.description,
        "status": window.status,
        "starts_at": window.starts_at.isoformat(),
        "ends_at": window.ends_at.isoformat(),
        "rrule": window.rrule,
        "created_at": window.created_at.isoformat(),
        "updated_at": window.updated_at.isoformat(),
        "author": window.author,
        "services": "all" if window.all_services else [slugs.get(a.service_id, "?") for a in window.affected],
        "updates": [
            {key: value for key, value in _update_json(update).items() if key not in hidden}
            for update in window.updates
        ],
    }
    return {key: value for key, value in ours.items() if key not in hidden}


def statuspage_maintenance(
    window: Maintenance, *, page_id: str, shortlink: str, components: list[dict[str, Any]]
) -> dict[str, Any]:
    """Statuspage's scheduled-maintenance shape (impact "maintenance"; a cancelled window
    shows as completed, with `cancelled` true), with every public field of ours beside it."""
    ours = maintenance_json(window, {}, public=True)
    started = [u.created_at for u in window.updates if u.status == "in_progress"]
    finished = [u.created_at for u in window.updates if u.status in ("completed", "cancelled")]
    verifying = [u.created_at for u in window.updates if u.status == "verifying"]
    return {
        **{key: value for key, value in ours.items() if key not in STATUSPAGE_RENAMED},
        "id": f"m{window.id}",
        "name": window.title,
        "status": _statuspage_status(window.status),
        "impact": "maintenance",
        "created_at": iso(window.created_at),
        "updated_at": iso(window.updated_at),
        "monitoring_at": iso(min(verifying) if verifying else None),
        "resolved_at": iso(max(finished) if finished else None),
        "started_at": iso(min(started) if started else window.starts_at),
        "scheduled_for": iso(window.starts_at),
        "scheduled_until": iso(window.ends_at),
        "shortlink": shortlink,
        "page_id": page_id,
        "cancelled": window.status == "cancelled",
        "incident_updates": [
            statuspage_update(
                {**theirs, "status": _statuspage_status(update.status)},
                update_id=f"m{window.id}-{update.id}",
                incident_id=f"m{window.id}",
                at=update.created_at,
            )
            for update, theirs in zip(window.updates, ours["updates"], strict=True)
        ],
        "components": components,
    }


def _statuspage_status(status: str) -> str:
    return status if status != "cancelled" else "completed"


def _update_json(update: MaintenanceUpdate) -> dict[str, Any]:
    return {
        "id": update.id,
        "status": update.status,
        "body": update.body,
        "created_at": update.created_at.isoformat(),
        "author": update.author,
    }
