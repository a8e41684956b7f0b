"""Operating it end to end, as an operator and a deploy script meet it: a real runner
(in this process, real clock) over the test database, the web app through webtest, the
CLI through its main(); both databases."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from statuscore import utcnow
from statusweb.cli import main as admin_main
from statusweb.models import CheckRequest, CheckResultRow, Maintenance, Service, ServicePush, get_session_factory
from statusweb.runner.runner import Runner
from statusweb.settings import RunnerSettings
from tests.statusweb.helpers import wait_for
from tests.statusweb.views.test_admin import add_user, login

TOKEN = "nightly-export-0123456789abcdefgh"


def write_config(tmp_path, db_url: str, base: str) -> str:
    monitors = tmp_path / "monitors.toml"
    monitors.write_text(f'''
[[monitor]]
name = "Website"
url = "{base}/ok"
interval = "1h"
retries = 0
sla = "99.9%"

[[monitor]]
name = "Linker"
url = "{base}/ok"
interval = "1h"
retries = 0

[[monitor]]
name = "Export"
type = "push"
token = "{TOKEN}"
expect_every = "24h"
grace = "30m"
interval = "1h"
''')
    ini = tmp_path / "statusweb.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {db_url}\n"
        f"statuscore.monitors = {monitors}\nstatusweb.heartbeat_interval = 1\n"
    )
    return str(ini)


class RunnerThread:
    """The runner in a thread of its own, as the web app's runner thread runs it."""

    def __init__(self, ini: str, db_url: str, engine) -> None:
        settings = RunnerSettings(
            database_url=db_url,
            monitors_path=ini.replace("statusweb.ini", "monitors.toml"),
            heartbeat_interval=1.0,
            duty_interval=0.1,
        )
        self.runner = Runner(settings, engine=engine)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.runner.run()), daemon=True)

    def __enter__(self) -> Runner:
        self.thread.start()
        return self.runner

    def __exit__(self, *exc) -> None:
        self.runner.stop()
        self.thread.join(30)


@pytest.fixture
def operated(engine, db_url, tmp_path, target, make_testapp):
    base, _ = target
    ini = write_config(tmp_path, db_url, base)
    add_user(engine, "ops", "editor")
    app = make_testapp()
    return ini, app


def slugs_in(engine, model, column):
    with get_session_factory(engine)() as session:
        return session.execute(select(column).select_from(model)).scalars().all()


async def test_check_now_from_the_admin_and_the_cli_goes_through_the_runner(engine, db_url, operated, capsys):
    ini, app = operated
    with RunnerThread(ini, db_url, engine):
        await wait_for(lambda: slugs_in(engine, CheckResultRow, CheckResultRow.id).__len__() >= 3)  # first round
        login(app, "ops")
        with get_session_factory(engine)() as session:
            website = session.scalar(select(Service.id).where(Service.slug == "website"))
        page = app.get(f"/admin/services/{website}")
        page.forms[1].submit(status=303)
        await wait_for(lambda: "check-now-result" in app.get(f"/admin/services/{website}").text)
        shown = app.get(f"/admin/services/{website}").text
        assert ">UP</strong>" in shown and "SLA: target 99.9%" in shown
        public = app.get("/services/website").text
        assert "Service level: target 99.9%" in public and "100.000%" in public
        code = await asyncio.to_thread(admin_main, ["check-now", ini, "linker", "--wait", "20"])
        assert code == 0
        assert capsys.readouterr().out.startswith("UP linker in ")
        assert await asyncio.to_thread(admin_main, ["check-now", ini, "nope"]) == 2
        assert "no service 'nope'; known: export, linker, website" in capsys.readouterr().err
    with get_session_factory(engine)() as session:
        requests = session.scalars(select(CheckRequest).order_by(CheckRequest.id)).all()
        assert [(r.status, r.requested_by) for r in requests] == [("up", "ops"), ("up", "statusweb-admin")]
        counted = session.scalars(select(CheckResultRow.service_id)).all()
        assert counted.count(website) == 2  # the scheduled first check and the one asked for


def test_check_now_without_a_runner_says_so(engine, operated):
    ini, app = operated
    from statuscore import load_config
    from statusweb.runner.sql_store import SqlStore

    SqlStore(engine).sync_services(load_config(ini.replace("statusweb.ini", "monitors.toml")).monitors)
    login(app, "ops")
    with get_session_factory(engine)() as session:
        first = session.scalar(select(Service.id).order_by(Service.id))
    page = app.get(f"/admin/services/{first}")
    answer = page.forms[1].submit(status=303).follow()
    assert "No runner is running" in answer.text
    assert slugs_in(engine, CheckRequest, CheckRequest.id) == []
    for hostile in (
        "/admin/services/999999",
        "/admin/services/99999999999999999999",
        "/admin/services/-1",
        "/admin/services/%D7%90",
    ):
        assert app.get(hostile, expect_errors=True).status_int in (400, 404)
    assert app.post(f"/admin/services/{first}/check-now", status=400).status_int == 400  # no CSRF token


async def test_a_push_goes_through_the_database_to_the_runner_and_an_unknown_token_is_refused(engine, db_url, operated):
    ini, app = operated
    with RunnerThread(ini, db_url, engine) as runner:
        await wait_for(lambda: len(slugs_in(engine, CheckResultRow, CheckResultRow.id)) >= 3)
        # before its first push it is waiting, everywhere: not down, not operational, no latency
        home = await asyncio.to_thread(app.get, "/")
        row = next(head for head in home.html.select("li.service .service-head") if "Export" in head.text)
        assert row.select_one(".state").text == "Waiting for First Push" and row.select_one(".latency") is None
        assert home.html.select_one(".banner h1").text == "All Systems Operational"
        assert app.get(f"/api/push/{TOKEN}?status=up&msg=exported%2012%20MB&ping=840").json == {"ok": True}
        assert app.post(f"/api/push/{TOKEN}", {"status": "up", "msg": "again"}).json == {"ok": True}
        assert app.get(f"/api/push/{TOKEN}?status=down&msg=disk%20full").json == {"ok": True}
        await asyncio.sleep(1.1)  # the ledger rereads pushes once a second
        result = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(runner.scheduler.check_now("export"), runner.scheduler._loop)
        )
        assert result.status.value == "down" and result.error == "the job reported down: disk full"
        app.get(f"/api/push/{TOKEN}?ping=12")
        await asyncio.sleep(1.1)  # the ledger rereads pushes once a second
        result = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(runner.scheduler.check_now("export"), runner.scheduler._loop)
        )
        assert result.status.value == "up" and result.latency_ms == 12
    with get_session_factory(engine)() as session:
        push = session.scalars(select(ServicePush)).one()
        assert (push.pushes, push.status, push.ping_ms) == (4, "up", 12)
    for bad in ("?status=sideways", "?ping=-1", "?ping=abc", "?ping=1e30", "?ping=nan"):
        assert app.get(f"/api/push/{TOKEN}{bad}", status=400).json["ok"] is False
    assert app.get(f"/api/push/{TOKEN}?msg=" + "%D7%90" * 5000).json == {"ok": True}
    with get_session_factory(engine)() as session:
        assert len(session.scalars(select(ServicePush.message)).one()) == 500
    for guess in ("x" * 24, "%D7%90" * 30, "y" * 5000, "..%2F..%2Fetc"):
        answer = app.get(f"/api/push/{guess}", expect_errors=True)
        assert answer.status_int == 404, guess
    for _ in range(10):
        app.get("/api/push/not-a-token-at-all-nope-nope", expect_errors=True)
    limited = app.get(f"/api/push/{TOKEN}", status=429)
    assert int(limited.headers["Retry-After"]) > 0


def test_maintenance_from_the_cli_shows_on_the_page_and_the_api_and_ends(engine, operated, capsys):
    ini, app = operated
    from statuscore import load_config
    from statusweb.runner.sql_store import SqlStore

    SqlStore(engine).sync_services(load_config(ini.replace("statusweb.ini", "monitors.toml")).monitors)
    assert (
        admin_main(
            ["maintenance", "start", ini, "--services", "website,linker", "--minutes", "30", "--title", "Deploy"]
        )
        == 0
    )
    window_id = int(capsys.readouterr().out.strip())
    page = app.get("/").text
    assert "Maintenance in progress" in page and "Deploy" in page and "Under Maintenance" in page
    active = app.get("/api/v2/scheduled-maintenances/active.json").json["scheduled_maintenances"]
    assert [(m["id"], m["name"], m["status"], m["impact"]) for m in active] == [
        (f"m{window_id}", "Deploy", "in_progress", "maintenance")
    ]
    assert {c["id"] for c in active[0]["components"]} == {"website", "linker"}
    assert set(active[0]) >= {"scheduled_for", "scheduled_until", "incident_updates", "shortlink", "started_at"}
    components = {c["id"]: c["status"] for c in app.get("/api/v2/summary.json").json["components"]}
    assert components["website"] == "under_maintenance" and components["export"] != "under_maintenance"
    assert admin_main(["maintenance", "list", ini]) == 0
    assert "in_progress" in capsys.readouterr().out
    assert admin_main(["maintenance", "end", ini, str(window_id)]) == 0
    assert capsys.readouterr().out.strip() == f"maintenance {window_id}: verifying"
    assert (
        app.get("/api/v2/scheduled-maintenances/active.json").json["scheduled_maintenances"][0]["status"] == "verifying"
    )
    assert admin_main(["maintenance", "end", ini, "999999"]) == 2
    assert admin_main(["maintenance", "start", ini, "--services", "nope"]) == 2
    assert admin_main(["maintenance", "start", ini, "--minutes", "-5"]) == 2
    capsys.readouterr()
    assert admin_main(["maintenance", "start", ini, "--title", "Deploy\r\nBcc: all@example.org"]) == 2
    assert "one line" in capsys.readouterr().err
    feed = app.get("/history.atom").text
    assert "Maintenance: Deploy" in feed


def test_maintenance_admin_plans_edits_repeats_and_cancels_with_bad_forms_given_back(engine, operated):
    ini, app = operated
    from statuscore import load_config
    from statusweb.runner.sql_store import SqlStore

    SqlStore(engine).sync_services(load_config(ini.replace("statusweb.ini", "monitors.toml")).monitors)
    login(app, "ops")
    start = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    form = app.get("/admin/maintenance/new").forms[1]
    for field, value, words in (
        ("ends_at", f"{start - timedelta(hours=1):%Y-%m-%dT%H:%M}", "must come after"),
        ("title", "", "This is needed."),
        ("title", "x" * 201, "At most 200"),
        ("rrule", "FREQ=SECONDLY", "at most daily"),
        ("starts_at", "tomorrow", "Write a date"),
        ("rrule", "FREQ=DAILY;BYMINUTE=0,1,2,3,4;BYSECOND=0,30", "less than a day apart"),
        ("title", "Upgrade\r\nBcc: all@example.org", "One line, please"),
    ):
        form["title"], form["starts_at"] = "Database upgrade", f"{start:%Y-%m-%dT%H:%M}"
        form["ends_at"], form["repeat"], form["rrule"] = f"{start + timedelta(hours=2):%Y-%m-%dT%H:%M}", "none", ""
        if field == "rrule":
            form["repeat"] = "custom"
        form[field] = value
        answer = form.submit(status=400)
        assert words in answer.text and "nothing was saved" in answer.text
    for other in ("99999", "²", "-1", "9" * 40, "1 OR 1=1"):  # another service's id or none at all
        answer = app.post(
            "/admin/maintenance/new",
            {
                "csrf_token": form["csrf_token"].value,
                "title": "x",
                "starts_at": f"{start:%Y-%m-%dT%H:%M}",
                "ends_at": f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M}",
                "service": other,
            },
            status=400,
        )
        assert "Unknown service." in answer.text
    form["title"], form["starts_at"] = "Database upgrade", f"{start:%Y-%m-%dT%H:%M}"
    form["ends_at"], form["repeat"] = f"{start + timedelta(hours=2):%Y-%m-%dT%H:%M}", "none"
    form.set("service", True, index=1)  # tick the second service (linker: page order)
    page = form.submit(status=303).follow()
    assert "Database upgrade" in page.text
    public = app.get("/").text
    assert "Scheduled maintenance" in public and "Database upgrade" in public and "Affects: Linker" in public
    upcoming = app.get("/api/v2/scheduled-maintenances/upcoming.json").json["scheduled_maintenances"]
    assert [m["name"] for m in upcoming] == ["Database upgrade"]
    assert upcoming[0]["scheduled_for"].startswith(f"{start:%Y-%m-%dT%H:%M}")

    series = app.get("/admin/maintenance/new").forms[1]
    series["title"], series["starts_at"] = "Weekly backup", f"{start:%Y-%m-%dT%H:%M}"
    series["ends_at"], series["repeat"] = f"{start + timedelta(minutes=30):%Y-%m-%dT%H:%M}", "daily"
    series_page = series.submit(status=303).follow()
    with get_session_factory(engine)() as session:
        occurrences = session.scalars(select(Maintenance).where(Maintenance.series_id.is_not(None))).all()
        assert 6 <= len(occurrences) <= 7  # a day apart, from two days ahead to eight
    cancel = [f for f in series_page.forms.values() if "cancel" in f.action][0]
    cancel.submit(status=303)
    with get_session_factory(engine)() as session:
        statuses = set(session.scalars(select(Maintenance.status).where(Maintenance.title == "Weekly backup")))
        assert statuses == {"cancelled"}
    assert "Weekly backup" not in app.get("/").text
    for hostile in (
        "/admin/maintenance/999999",
        "/admin/maintenance/99999999999999999999",
        "/admin/maintenance/%D7%90",
    ):
        assert app.get(hostile, expect_errors=True).status_int in (400, 404)
    assert app.get("/admin/sla?month=2026-13", expect_errors=True).status_int == 400
    assert app.get("/admin/sla?month=%D7%90", expect_errors=True).status_int == 400
    report = app.get("/admin/sla?month=2026-11&format=csv")
    assert report.content_type == "text/csv" and report.text.splitlines()[0].startswith("service,slug,target")
    assert "SLA report" in app.get("/admin/sla").text
