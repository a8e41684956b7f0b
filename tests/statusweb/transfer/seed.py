"""A status page with some of everything an export carries, written the way the runner,
the admin and the CLI write it: pages of two organizations, groups, a push monitor,
check history, incidents (one resolved with a postmortem, one deleted, one on another
page), a recurring maintenance series and a one-off window, subscribers, users with a
recovery code, a template, an API token and audit lines. Words in Hebrew, quotes and
line breaks, so the bytes are tested too."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyotp
from sqlalchemy import select

from statuscore import Status, utcnow
from statusweb.cli import main as admin_main
from statusweb.models import AuditEvent, Organization, Service, User, get_session_factory
from statusweb.services import incidents, maintenance, postmortems, second_factor
from statusweb.services.incident_templates import TemplateSpec, save
from statusweb.services.organizations import make_token
from statusweb.services.subscriptions import subscribe
from tests.statusweb.pages import add_daily_uptime, record_statuses, sync_monitors_toml

PASSWORD = "Ledger-of-Psalms-4172-export"
MONITORS = """
[[page]]
slug = "texts"
name = "Texts (ספריא)"
organization = "library"
language = "he"

[[group]]
name = "Core"
description = "What readers \\"meet\\" first"
collapsed = true

[[monitor]]
name = "Website"
url = "http://127.0.0.1:9/"
group = "Core"
sla = "99.9%"

[[monitor]]
name = "Linker"
url = "http://127.0.0.1:9/linker"
group = "Core"
depends_on = ["website"]

[[monitor]]
name = "Nightly export"
type = "push"
token = "nightly-export-0123456789abcdefgh"
expect_every = "24h"

[[monitor]]
name = "ספרים"
slug = "books"
url = "http://127.0.0.1:9/books"
page = "texts"
"""


def write_ini(tmp_path: Path, db_url: str, name: str = "statusweb.ini") -> str:
    ini = tmp_path / name
    ini.write_text(f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {db_url}\n")
    return str(ini)


async def seed(engine, tmp_path: Path) -> Secrets:
    monitors = tmp_path / "monitors.toml"
    pages = sync_monitors_toml(engine, monitors, MONITORS)
    await record_statuses(engine, monitors, {"website": Status.UP, "linker": Status.DOWN, "books": Status.UP})
    factory = get_session_factory(engine)
    with factory() as session:
        ids = {slug: id_ for slug, id_ in session.execute(select(Service.slug, Service.id))}
    add_daily_uptime(engine, ids["nightly-export"], days=40, up=1440, down=3)
    ini = write_ini(tmp_path, engine.url.render_as_string(hide_password=False), "seed.ini")
    os.environ["STATUSWEB_ADMIN_PASSWORD"] = PASSWORD
    try:
        assert admin_main(["create-user", ini, "admin", "--role", "admin"]) == 0
        assert admin_main(["create-user", ini, "דוד", "--organization", "library"]) == 0
    finally:
        del os.environ["STATUSWEB_ADMIN_PASSWORD"]
    now = utcnow().replace(microsecond=123456)
    with factory.begin() as session:
        library = session.scalar(select(Organization).where(Organization.slug == "library"))
        outage = incidents.create(
            session,
            page_id=None,
            title='Linker "find-refs" is slow',
            impact="major",
            components={ids["linker"]: "major_outage", ids["website"]: "degraded_performance"},
            status="investigating",
            body="Requests time out.\nWe are on it — עובדים על זה.",
            author="admin",
            now=now - timedelta(days=3),
        )
        incidents.post_update(
            outage,
            status="resolved",
            body="Fixed.",
            author="admin",
            root_cause="A full disk",
            now=now - timedelta(days=2),
        )
        postmortems.publish(
            outage, "# What happened\n\n| cause | fix |\n|---|---|\n| a | b |\n", author="admin", now=now
        )
        gone = incidents.create(
            session,
            page_id=None,
            title="Mistake",
            impact="none",
            components={},
            status="investigating",
            body="Oops",
            author="admin",
            now=now - timedelta(hours=5),
        )
        gone.deleted = True
        incidents.create(
            session,
            page_id=pages["texts"],
            title="ספרים איטיים",
            impact="minor",
            components={ids["books"]: "partial_outage"},
            status="identified",
            body="מזהים",
            author="דוד",
            eta=now + timedelta(hours=1),
            now=now - timedelta(hours=1),
        )
        start = (now + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)
        maintenance.create_window(
            session,
            maintenance.WindowPlan(
                title="Weekly database upkeep",
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                service_ids=(ids["website"],),
                rrule="FREQ=WEEKLY;COUNT=4",
            ),
            now=now - timedelta(days=1),
            author="admin",
        )
        done = maintenance.create_window(
            session,
            maintenance.WindowPlan(
                title="Move servers",
                starts_at=now - timedelta(days=5),
                ends_at=now - timedelta(days=5) + timedelta(hours=2),
                description="Line one\nLine two",
            ),
            now=now - timedelta(days=6),
            author="admin",
        )
        maintenance.end_now(done, now=now - timedelta(days=5) + timedelta(hours=1), author="admin")
        reader = subscribe(
            session,
            "email",
            "reader@example.org",
            [ids["linker"]],
            now=now,
            page_url="http://localhost",
            page_name="Status",
        )
        reader.confirmed_at = now
        hook = subscribe(
            session,
            "webhook",
            "https://hooks.example.org/status?key=s3cret",
            [],
            now=now,
            page_url="http://localhost",
            page_name="Status",
        )
        hook.secret, hook.confirmed_at = "ab" * 24, now
        subscribe(
            session,
            "email",
            "קורא@example.org",
            [],
            now=now,
            page_url="http://localhost",
            page_name="Texts",
            page_id=pages["texts"],
        )
        save(
            session,
            None,
            TemplateSpec(
                name="Linker slow",
                title="Linker is slow",
                body="Looking",
                impact="minor",
                components={"linker": "degraded_performance"},
            ),
            library.id,
            now=now,
        )
        session.add(AuditEvent(organization_id=library.id, at=now, actor="admin", action="page.edit", subject="texts"))
        session.add(
            AuditEvent(organization_id=None, at=now, actor="statusweb-admin", action="user.2fa_reset", subject="nobody")
        )
        admin = session.scalar(select(User).where(User.name == "admin"))
        second_factor.start_enrolment(admin)
        codes = second_factor.confirm_enrolment(session, admin, pyotp.TOTP(admin.totp_secret).now())
        token = make_token(session, library, "deploys", "write", 30, by="admin", now=now)
    assert codes
    return Secrets(recovery_code=codes[0], api_token=token)


@dataclass(frozen=True)
class Secrets:
    """What only an export --with-secrets carries over: a way to prove it did."""

    recovery_code: str
    api_token: str
