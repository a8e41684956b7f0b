"""`statusweb-admin maintenance ...` and `check-now`: what a deploy script or an
operator at a terminal needs, without the admin pages.

    ID=$(statusweb-admin maintenance start production.ini --services website,linker \\
           --minutes 30 --title "Deploy")
    ./deploy.sh
    statusweb-admin maintenance end production.ini "$ID"
    statusweb-admin check-now production.ini website
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from statuscore import utcnow
from statusweb.cli.pages import CONFIG_HELP

Session = Callable[[str], Any]  # config uri -> a context manager giving a session in a transaction
CHECK_NOW_WAIT = 120.0


def add_commands(commands: Any, session: Session) -> None:
    maintenance = commands.add_parser("maintenance", help="plan, start, end and list maintenance windows")
    actions = maintenance.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="begin a window now; prints its id")
    start.add_argument("config", help=CONFIG_HELP)
    start.add_argument("--services", default="", help="slugs, comma-separated (default: every service of the page)")
    start.add_argument("--page", default="default", help="the page the window is on (default: the default page)")
    start.add_argument("--minutes", type=int, default=30, help="how long it lasts (default 30)")
    start.add_argument(
        "--title", default="Maintenance", help="what the page and subscribers read (default: Maintenance)"
    )
    start.add_argument("--description", default="", help="more words for the page (optional)")
    start.set_defaults(handler=lambda args: _start(args, session))
    end = actions.add_parser("end", help="end a window now (it goes on to verifying, then completed)")
    end.add_argument("config", help=CONFIG_HELP)
    end.add_argument("id", type=int, help="the window's id (maintenance start printed it; maintenance list shows it)")
    end.set_defaults(handler=lambda args: _end(args, session))
    listing = actions.add_parser("list", help="open windows and the last ones that ended")
    listing.add_argument("config", help=CONFIG_HELP)
    listing.set_defaults(handler=lambda args: _list(args, session))
    now = commands.add_parser("check-now", help="have the runner check one monitor now; prints the result")
    now.add_argument("config", help=CONFIG_HELP)
    now.add_argument("slug", help="the monitor's slug (its name in lower case, dashes for spaces)")
    now.add_argument("--wait", type=float, default=CHECK_NOW_WAIT, help="seconds to wait for the runner")
    now.set_defaults(handler=lambda args: _check_now(args, session))


def _start(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Service
    from statusweb.services.maintenance import WindowPlan, advance_windows, create_window, same_page

    if not 1 <= args.minutes <= 31 * 24 * 60:
        raise ValueError("--minutes must be between 1 and 44640 (31 days)")
    slugs = [part.strip() for part in args.services.split(",") if part.strip()]
    now = utcnow()
    with session(args.config) as db:
        page_id = _page_id(db, args.page)
        known = dict(
            db.execute(
                select(Service.slug, Service.id).where(Service.hidden.is_(False), same_page(Service, page_id))
            ).all()
        )
        missing = [slug for slug in slugs if slug not in known]
        if missing:
            raise ValueError(
                f"no service {missing[0]!r} on page {args.page!r}; known there: "
                f"{', '.join(sorted(known)) or 'none yet'} (--page chooses another page)"
            )
        plan = WindowPlan(
            title=args.title,
            description=args.description,
            starts_at=now,
            ends_at=now + timedelta(minutes=args.minutes),
            service_ids=tuple(sorted({known[slug] for slug in slugs})),
            page_id=page_id,
        )
        window = create_window(db, plan, now=now, author="statusweb-admin")
        advance_windows(db, now, author="statusweb-admin")
        window_id = window.id
    print(
        f"maintenance {window_id} in progress until {plan.ends_at:%H:%M} UTC ({', '.join(slugs) or 'every service'})",
        file=sys.stderr,
    )
    print(window_id)
    return 0


def _page_id(db: Any, slug: str) -> int | None:
    """What a window on page `slug` stores as its page_id (None: the default page)."""
    from statusweb.pages.queries import rows_page_id

    try:
        return rows_page_id(db, slug)
    except LookupError:
        raise ValueError(f"no page {slug!r} (statusweb-admin organization list shows them)") from None


def _end(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Maintenance
    from statusweb.services.maintenance import advance_windows, end_now

    now = utcnow()
    with session(args.config) as db:
        window = db.get(Maintenance, args.id) if 0 < args.id < 2**31 else None
        if window is None or window.is_series:
            raise ValueError(f"no maintenance window {args.id} (statusweb-admin maintenance list shows them)")
        if window.is_open and window.status != "verifying":
            end_now(window, now=now, author="statusweb-admin")
        advance_windows(db, now, author="statusweb-admin")
        status = window.status
    print(f"maintenance {args.id}: {status.replace('_', ' ')}")
    return 0


def _list(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Maintenance, Service
    from statusweb.services.maintenance import active_windows

    now = utcnow()
    with session(args.config) as db:
        names = dict(db.execute(select(Service.id, Service.slug)).all())
        open_ones = active_windows(db, now, ahead=timedelta(days=30))
        ended = db.scalars(
            select(Maintenance)
            .where(Maintenance.rrule == "", Maintenance.status.in_(("completed", "cancelled")))
            .options(selectinload(Maintenance.affected))
            .order_by(Maintenance.ends_at.desc())
            .limit(10)
        ).all()
        lines = [
            f"{w.id:>6}  {w.status:<11} {w.starts_at:%Y-%m-%d %H:%M} – {w.ends_at:%Y-%m-%d %H:%M} UTC  "
            f"{w.title}  [{'all' if w.all_services else ','.join(names.get(a.service_id, '?') for a in w.affected)}]"
            for w in [*open_ones, *ended]
        ]
    print("\n".join(lines) if lines else "no maintenance windows")
    return 0


def _check_now(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import CheckRequest, Service

    with session(args.config) as db:
        service_id = db.scalar(select(Service.id).where(Service.slug == args.slug, Service.hidden.is_(False)))
        if service_id is None:
            known = ", ".join(sorted(db.scalars(select(Service.slug).where(Service.hidden.is_(False))))) or "none yet"
            raise ValueError(f"no service {args.slug!r}; known: {known}")
        request = CheckRequest(service_id=service_id, requested_at=utcnow(), requested_by="statusweb-admin")
        db.add(request)
        db.flush()
        request_id = request.id
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        with session(args.config) as db:
            done = db.get(CheckRequest, request_id)
            if done is not None and done.done_at is not None:
                status = (done.status or "not checked").upper()
                detail = f" in {done.latency_ms} ms" if done.latency_ms is not None else ""
                print(f"{status} {args.slug}{detail}{': ' + done.error if done.error else ''}")
                return 0 if done.status in ("up", "degraded") else 1
        time.sleep(0.25)
    print(
        f"error: no runner answered within {args.wait:.0f} s; is one running? "
        f"(statusweb-admin run-checks {args.config})",
        file=sys.stderr,
    )
    return 4
