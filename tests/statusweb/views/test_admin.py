"""The admin as an operator uses it (webtest): logins, CSRF, incidents, history, users."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from statuscore import utcnow
from statusweb.models import CheckResultRow, Incident, User, get_session_factory
from tests.statusweb.pages import add_incident, add_services


def add_user(engine, name: str, role: str, password: str = "correct horse", organization: str = "default") -> None:
    """A user in `organization`: role "admin" or "editor" as the single-page admin knew
    them (owner and admin of the organization), or an organization role."""
    from statusweb.services.organizations import FROM_USER_ROLE, join, organization_named

    with get_session_factory(engine).begin() as session:
        user = User(name=name, role=role if role in FROM_USER_ROLE else "editor", created_at=utcnow())
        user.set_password(password)
        session.add(user)
        join(
            session, user, organization_named(session, organization, utcnow()), FROM_USER_ROLE.get(role, role), utcnow()
        )


def login(app, name: str, password: str = "correct horse", status: int | str = 303):
    form = app.get("/admin/login").forms[0]
    form["name"], form["password"] = name, password
    return form.submit(status=status)


@pytest.fixture
def editor(engine, testapp):
    add_user(engine, "ed", "editor")
    login(testapp, "ed")
    return testapp


def incidents(engine) -> list[Incident]:
    with get_session_factory(engine)() as session:
        return list(session.scalars(select(Incident).order_by(Incident.id)))


def test_admin_needs_a_login_and_login_goes_back_where_you_were(engine, testapp):
    add_user(engine, "ed", "editor")
    assert testapp.get("/admin/incidents").location.endswith("/admin/login?next=%2Fadmin%2Fincidents")
    page = testapp.get("/admin/login?next=/admin/incidents").forms[0]
    page["name"], page["password"] = "ed", "correct horse"
    assert page.submit(status=303).location.endswith("/admin/incidents")
    assert testapp.get("/admin").status_int == 200
    assert testapp.get("/admin").headers["Cache-Control"] == "no-store"


def test_login_redirect_never_leaves_the_site(engine, testapp):
    add_user(engine, "ed", "editor")
    page = testapp.get("/admin/login?next=//evil.example/").forms[0]
    page["name"], page["password"] = "ed", "correct horse"
    assert page.submit(status=303).location == "http://localhost/admin"


def test_wrong_password_gets_a_generic_error_and_too_many_lock_out(engine, testapp):
    add_user(engine, "ed", "editor")
    wrong = login(testapp, "ed", "nope", status=400)
    assert "Wrong name or password." in wrong.text
    assert "Wrong name or password." in login(testapp, "nobody", "nope", status=400).text
    for _ in range(4):
        login(testapp, "ed", "nope", status=400)
    locked = login(testapp, "ed", "correct horse", status=429)  # even the right password waits
    assert "Too many failed attempts" in locked.text


def test_post_without_csrf_token_is_rejected(engine, editor):
    editor.post(
        "/admin/incidents/new", {"title": "x", "impact": "minor", "status": "investigating", "body": "y"}, status=400
    )
    assert incidents(engine) == []


def test_create_incident_shows_on_the_public_page_at_once(engine, make_testapp):
    ids = add_services(engine, ("Site", "up"), ("API", "up"))
    add_user(engine, "ed", "editor")
    app = make_testapp(**{"statusweb.page_cache_seconds": "30"})
    assert "All Systems Operational" in app.get("/").text  # now cached for 30 s
    login(app, "ed")
    form = app.get("/admin/incidents/new").forms[1]
    form["title"] = "Linker tasks stuck"
    form["impact"] = "major"
    form["status"] = "identified"
    form["body"] = "Celery workers are down; restarting."
    form[f"service-{ids['api']}"] = "major_outage"
    page = form.submit(status=303).follow()
    assert "Linker tasks stuck" in page.text
    public = app.get("/").html
    assert public.select_one(".banner h1").text == "Major Outage"
    assert "Celery workers are down" in public.select_one("section.incidents").text
    assert public.select_one(".status-major_outage .name").text == "API"


def test_bad_incident_form_comes_back_with_errors_and_saves_nothing(engine, editor):
    add_services(engine, ("Site", "up"))
    form = editor.get("/admin/incidents/new").forms[1]
    form["title"] = ""
    form["body"] = "Something"
    form["eta"] = "tomorrow-ish"
    page = form.submit(status=400)
    assert "nothing was saved" in page.text
    assert "This is needed." in page.text and "Write a date and time" in page.text
    assert page.forms[1]["body"].value == "Something"  # what was typed is kept
    assert incidents(engine) == []
    form = page.forms[1]
    form["title"], form["eta"] = "Linker down\r\nBcc: everyone@example.org", ""
    page = form.submit(status=400)  # a title becomes a mail subject: one line
    assert "One line, please" in page.text and incidents(engine) == []


def test_updates_resolve_with_root_cause_and_no_reopening(engine, editor):
    incident_id = add_incident(engine, "Export slow")
    page = editor.get(f"/admin/incidents/{incident_id}")
    update = page.forms[2]
    update["status"] = "monitoring"
    update["body"] = "A fix is out; watching."
    update["eta"] = "2026-02-08T14:30"
    update.submit(status=303)
    with get_session_factory(engine)() as session:
        latest = session.get(Incident, incident_id).updates[0]
        assert (latest.status, latest.eta.isoformat()) == ("monitoring", "2026-02-08T14:30:00+00:00")
    update = editor.get(f"/admin/incidents/{incident_id}").forms[2]
    update["status"] = "resolved"
    update["body"] = "All good."
    update["root_cause"] = "A full disk on the export host."
    update.submit(status=303)
    (incident,) = incidents(engine)
    assert incident.status == "resolved" and incident.resolved_at is not None
    assert incident.root_cause == "A full disk on the export host."
    token = editor.get("/admin").html.select_one("input[name=csrf_token]")["value"]
    again = editor.post(
        f"/admin/incidents/{incident_id}/updates",
        {"csrf_token": token, "status": "investigating", "body": "Back?"},
        status=400,
    )
    assert "cannot be reopened" in again.text
    assert incidents(engine)[0].status == "resolved"


def test_bulk_mark_as_resolved(engine, editor):
    first, second = add_incident(engine, "One"), add_incident(engine, "Two")
    add_incident(engine, "Three")
    form = editor.get("/admin/incidents").forms[1]
    for box in form.fields["id"]:
        if box._value in (str(first), str(second)):
            box.checked = True
    form.submit(status=303)
    assert [(i.title, i.status) for i in incidents(engine)] == [
        ("One", "resolved"),
        ("Two", "resolved"),
        ("Three", "investigating"),
    ]


def test_check_history_filters_and_keyset_pages(engine, editor):
    ids = add_services(engine, ("Site", "up"), ("API", "up"))
    now = utcnow()
    rows = [
        {
            "service_id": ids["site" if n % 2 else "api"],
            "checked_at": now - timedelta(minutes=n),
            "status": "down" if n % 10 == 0 else "up",
            "latency_ms": n,
            "attempts": 1,
        }
        for n in range(130)
    ]
    with engine.begin() as connection:
        connection.execute(insert(CheckResultRow), rows)
    first = editor.get("/admin/checks")
    assert len(first.html.select("tbody tr")) == 50
    second = editor.get(first.html.select_one(".pager a")["href"])
    assert len(second.html.select("tbody tr")) == 50
    assert first.html.select("tbody tr")[-1] != second.html.select("tbody tr")[0]
    only_down = editor.get("/admin/checks", {"service": "api", "status": "down"})
    assert len(only_down.html.select("tbody tr")) == 13
    bad = editor.get("/admin/checks", {"service": "nope", "from": "yesterday"}, status=400)
    assert "No such service." in bad.text and "Write a date like" in bad.text


def test_users_are_for_admins_only(engine, editor, make_testapp):
    assert editor.get("/admin/users", status=403).status_int == 403
    add_user(engine, "root", "admin")
    admin = make_testapp()
    login(admin, "root")
    form = admin.get("/admin/users").forms["add-user"]
    form["name"], form["role"], form["password"], form["password_again"] = "newbie", "admin", "short", "short"
    assert "At least 12 characters." in form.submit(status=400).text
    form = admin.get("/admin/users").forms["add-user"]
    form["name"], form["password"], form["password_again"] = "newbie", "Password2024!", "Password2024!"
    assert "one of the most common ones" in form.submit(status=400).text
    form = admin.get("/admin/users").forms["add-user"]
    form["name"], form["password"], form["password_again"] = "newbie", "long enough phrase", "long enough phrase"
    form.submit(status=303)
    with get_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 3


def test_logout_needs_csrf_and_ends_the_session(engine, editor):
    editor.post("/admin/logout", status=400)
    editor.get("/admin").forms[0].submit(status=303)
    assert editor.get("/admin", status=303).location.endswith("/admin/login?next=%2Fadmin")


def test_delete_is_soft_and_hides_the_incident_everywhere_public(engine, editor):
    incident_id = add_incident(engine, "Posted by mistake")
    editor.get(f"/admin/incidents/{incident_id}").forms[3].submit(status=303)
    (incident,) = incidents(engine)
    assert incident.deleted  # kept in the database
    assert "Posted by mistake" not in editor.get("/").text
    assert "Posted by mistake" not in editor.get("/history").text
    assert editor.get("/api/v2/incidents.json").json["incidents"] == []
    editor.get(f"/incidents/{incident_id}", status=404)


def test_check_history_pages_follow_the_time_of_each_check_even_when_written_late(engine):
    """A result written after newer ones (a slow check, a runner's late batch) still
    shows at its own time, and walking the pages shows every result exactly once."""
    from statusweb.pages.queries import CheckFilter, check_results

    ids = add_services(engine, ("Site", "up"))
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(CheckResultRow),
            [
                {
                    "service_id": ids["site"],
                    "checked_at": now - timedelta(minutes=n),
                    "status": "up",
                    "latency_ms": n,
                    "attempts": 1,
                }
                for n in range(120)
            ],
        )
        connection.execute(
            insert(CheckResultRow),
            [  # written last, checked long ago / at a tie
                {
                    "service_id": ids["site"],
                    "checked_at": now - timedelta(minutes=75, seconds=30),
                    "status": "down",
                    "latency_ms": 1000,
                    "attempts": 1,
                },
                {
                    "service_id": ids["site"],
                    "checked_at": now - timedelta(minutes=75),
                    "status": "up",
                    "latency_ms": 1001,
                    "attempts": 1,
                },
            ],
        )
    seen, before = [], None
    with get_session_factory(engine)() as session:
        for _ in range(10):
            page = check_results(session, CheckFilter(before=before), 50)
            seen += [row.checked_at for row, _ in page]
            if len(page) < 50:
                break
            before = page[-1][0].id
    assert len(seen) == 122
    assert seen == sorted(seen, reverse=True)
