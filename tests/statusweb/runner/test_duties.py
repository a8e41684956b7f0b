"""The runner's duties, each on its own: hostile old rows (a subscriber address such as
a@[b.c, a webhook URL with a space, an incident title with CR/LF, a maintenance series
whose rule cannot be expanded) fail alone and are shown with their error, while mail to
the other subscribers, maintenance and check-now go on; a duty that keeps failing turns
/healthz 503 naming it. A real runner in a thread, a real SMTP server; both databases."""

from __future__ import annotations

from datetime import timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import Maintenance, Subscriber, SubscriberMessage, get_session_factory
from statusweb.runner import sla_alerts
from statusweb.runner.subscribers import Delivery, Mail
from tests.statuscore.alerts.test_email import Inbox
from tests.statusweb.helpers import wait_for
from tests.statusweb.operations.test_operating import RunnerThread, write_config
from tests.statusweb.pages import add_incident
from tests.statusweb.views.test_admin import add_user, login
from tests.targets import free_port


def add_subscribers(engine, *addresses: tuple[str, str]) -> None:
    now = utcnow()
    with get_session_factory(engine).begin() as session:
        for number, (kind, address) in enumerate(addresses):
            session.add(
                Subscriber(
                    kind=kind,
                    address=address,
                    components="",
                    created_at=now,
                    confirmed_at=now,
                    confirm_token=f"c{number}" * 8,
                    unsubscribe_token=f"u{number}" * 8,
                    secret="s" * 32,
                )
            )


def add_window(engine, title: str, *, starts_in: timedelta, rrule: str = "") -> int:
    now = utcnow()
    with get_session_factory(engine).begin() as session:
        window = Maintenance(
            title=title,
            description="",
            starts_at=now + starts_in,
            ends_at=now + starts_in + timedelta(hours=1),
            status="scheduled",
            all_services=True,
            rrule=rrule,
            created_at=now,
            updated_at=now,
            author="test",
        )
        session.add(window)
        session.flush()
        return window.id


def column(engine, query):
    with get_session_factory(engine)() as session:
        return session.execute(query).all()


async def test_bad_rows_fail_alone_and_a_failing_duty_is_named_on_healthz(
    engine, db_url, tmp_path, target, make_testapp, monkeypatch
):
    base, _ = target
    ini = write_config(tmp_path, db_url, base)
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    add_subscribers(engine, ("email", "a@[b.c"), ("webhook", "http://127.0.0.1:9/a b"), ("email", "reader@example.org"))
    add_window(engine, "Weekly", starts_in=timedelta(minutes=-5), rrule="FREQ=FORTNIGHTLY;BYDAY=XX")
    calls = []

    def broken_sla(*args, **kwargs):  # a bug in one duty
        calls.append(1)
        raise RuntimeError("a bug in the SLA duty")

    monkeypatch.setattr(sla_alerts, "evaluate", broken_sla)
    web = make_testapp(**{"statusweb.heartbeat_interval": "1"})
    thread = RunnerThread(ini, db_url, engine)
    thread.runner.delivery = Delivery(
        mail=Mail(f"smtp://127.0.0.1:{port}", "status@example.org"),
        page_url="https://status.example.org",
        allow_private_webhooks=True,
    )
    try:
        with thread as runner:
            await wait_for(lambda: runner.duties.log.done.get("subscribers"))  # the fan-out cursor is set
            add_incident(engine, "Linker down\r\nBcc: everyone@example.org")
            window = add_window(engine, "Database upgrade", starts_in=timedelta(seconds=-1))
            await wait_for(
                lambda: [m for rcpt, m in inbox.messages if rcpt == ["reader@example.org"] and "Linker" in m["Subject"]]
            )
            await wait_for(
                lambda: column(engine, select(Maintenance.status).where(Maintenance.id == window)) == [("in_progress",)]
            )
            # both bad subscribers' messages, once each has been tried (one round may try one before the other)
            failing = await wait_for(
                lambda: (lambda rows: rows if len(rows) >= 2 else None)(
                    column(
                        engine,
                        select(SubscriberMessage.last_error).where(
                            SubscriberMessage.sent_at.is_(None), SubscriberMessage.attempts >= 1
                        ),
                    )
                )
            )
            assert len(failing) == 2 and all("cannot be sent" in error for (error,) in failing), failing
            answer = await wait_for(
                lambda: (lambda r: r if r.status_int == 503 else None)(web.get("/healthz", status="*")), seconds=20
            )
            assert "sla" in answer.text and "bug" not in answer.text  # named; the error stays in the admin
            assert len(calls) > 1  # retried every round, not given up
            assert "maintenance" not in answer.text and "subscribers" not in answer.text
    finally:
        controller.stop()
    [mail] = [m for rcpt, m in inbox.messages if rcpt == ["reader@example.org"] and "Linker" in m["Subject"]]
    assert mail["Subject"].endswith("] Linker down Bcc: everyone@example.org: investigating")
    assert not [rcpt for rcpt, _ in inbox.messages if "everyone@example.org" in rcpt]
    add_user(engine, "ops", "editor")
    admin = make_testapp()
    login(admin, "ops")
    dashboard = admin.get("/admin").text
    assert "Runner duty stalled" in dashboard and "RuntimeError: a bug in the SLA duty" in dashboard
    assert "cannot be sent" in admin.get("/admin/subscribers").text
