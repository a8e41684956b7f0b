"""Session hygiene (issue 29, point 9), as a user meets it in the admin (webtest, both
databases): each browser signed in to an account is listed with its address and
browser, any of them can be ended from another, "end all others" keeps only this one,
logging out ends only this browser, and nobody reaches another user's sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from statuscore import utcnow
from statusweb.models import User, UserSession, get_session_factory
from tests.statusweb.views.test_admin import add_user, login

LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
PHONE = "Mozilla/5.0 (iPhone) Safari/18"


def browser(make_testapp, user_agent: str, address: str = "192.0.2.10"):
    app = make_testapp()
    app.extra_environ = {"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address}
    return app


@pytest.fixture
def ann_twice(engine, make_testapp):
    add_user(engine, "ann", "admin")
    add_user(engine, "bob", "admin")
    laptop, phone = browser(make_testapp, LAPTOP), browser(make_testapp, PHONE, "198.51.100.7")
    login(laptop, "ann")
    login(phone, "ann")
    return laptop, phone


def rows(engine, name: str) -> list[UserSession]:
    with get_session_factory(engine)() as session:
        user = session.scalar(select(User).where(User.name == name))
        return list(session.scalars(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)))


def test_each_browser_is_listed_and_one_ends_another(engine, ann_twice):
    laptop, phone = ann_twice
    page = laptop.get("/admin/sessions")
    table = page.html.select("table tbody tr")
    assert len(table) == 2
    texts = [row.text for row in table]
    assert any(LAPTOP in text and "This session" in text and "192.0.2.10" in text for text in texts)
    assert any(PHONE in text and "198.51.100.7" in text and "This session" not in text for text in texts)
    end = next(form for form in page.forms.values() if form.action.endswith("/end"))
    assert "Ended 1 session." in end.submit(status=303).follow().text
    assert phone.get("/admin", status=303).location.endswith("/admin/login?next=%2Fadmin")  # signed out
    assert laptop.get("/admin").status_int == 200  # and this one stays in
    assert len(laptop.get("/admin/sessions").html.select("table tbody tr")) == 1


def test_end_all_others_keeps_only_this_one(engine, make_testapp, ann_twice):
    laptop, phone = ann_twice
    tablet = browser(make_testapp, "Tablet/1.0")
    login(tablet, "ann")
    answer = tablet.get("/admin/sessions").forms["end-others"].submit(status=303).follow()
    assert "Ended 2 sessions." in answer.text
    for other in (laptop, phone):
        other.get("/admin", status=303)
    tablet.get("/admin", status=200)
    assert "end-others" not in tablet.get("/admin/sessions").forms  # nothing else to end


def test_logging_out_ends_this_browser_only_and_no_copy_of_its_cookie(engine, make_testapp, ann_twice):
    laptop, phone = ann_twice
    copied = laptop.cookies["statusweb_session"]
    laptop.get("/admin").forms[0].submit(status=303)  # log out
    thief = make_testapp()
    thief.set_cookie("statusweb_session", copied)
    thief.get("/admin", status=303)
    phone.get("/admin", status=200)
    assert [row.ended_at is not None for row in rows(engine, "ann")] == [True, False]


def test_ending_the_session_in_use_signs_out(engine, ann_twice):
    laptop, _phone = ann_twice
    this = rows(engine, "ann")[0].id
    csrf = laptop.get("/admin/sessions").forms["end-others"]["csrf_token"].value
    assert laptop.post(f"/admin/sessions/{this}/end", {"csrf_token": csrf}, status=303).location.endswith(
        "/admin/login"
    )
    laptop.get("/admin", status=303)


def test_a_new_password_ends_every_session_and_the_list_forgets_them(engine, make_testapp, ann_twice):
    laptop, phone = ann_twice
    with get_session_factory(engine).begin() as session:
        session.scalar(select(User).where(User.name == "ann")).set_password("a fresh long phrase")
    for app in (laptop, phone):
        app.get("/admin", status=303)
    login(laptop, "ann", "a fresh long phrase")
    assert len(laptop.get("/admin/sessions").html.select("table tbody tr")) == 1


@pytest.mark.parametrize("raw", ["0", "-1", "99999999999999999999", "1e3", "%C3%A9", "1%0d%0aX:1"])
def test_hostile_and_other_users_session_ids_are_404(engine, make_testapp, ann_twice, raw):
    """(Invalid UTF-8 in the id is the route walker's, test_hostile_visitors.)"""
    laptop, _phone = ann_twice
    bob = browser(make_testapp, "Bob/1.0")
    login(bob, "bob")
    bobs = rows(engine, "bob")[0].id
    csrf = laptop.get("/admin/sessions").forms["end-others"]["csrf_token"].value
    laptop.post(f"/admin/sessions/{bobs}/end", {"csrf_token": csrf}, status=404)
    bob.get("/admin", status=200)  # bob is still in
    laptop.post(f"/admin/sessions/{raw}/end", {"csrf_token": csrf}, status=404)
    laptop.post(f"/admin/sessions/{rows(engine, 'ann')[1].id}/end", status=400)  # no CSRF token
    laptop.post("/admin/sessions/end-others", status=400)
    assert all(row.ended_at is None for row in rows(engine, "ann"))
    assert laptop.get("/admin/sessions?ended=" + raw).status_int == 200


def test_a_hostile_browser_name_is_stored_printable_and_short(engine, make_testapp):
    add_user(engine, "cy", "editor")
    app = browser(make_testapp, "Evil\r\nSet-Cookie: x=1 " + "é" * 500)
    login(app, "cy")
    (row,) = rows(engine, "cy")
    assert "\r" not in row.user_agent and "\n" not in row.user_agent and len(row.user_agent) <= 200
    assert "Set-Cookie: x=1" in app.get("/admin/sessions").text  # shown as text, escaped by the template
    visitor = make_testapp()
    visitor.get("/admin/sessions", status=303)  # signed out: to the login


def test_the_daily_cleanup_drops_sessions_that_can_never_sign_in_again(engine, ann_twice):
    from statusweb.runner.retention import cleanup

    laptop, _phone = ann_twice
    first, second = rows(engine, "ann")
    with get_session_factory(engine).begin() as session:
        session.get(UserSession, first.id).ended_at = utcnow() - timedelta(days=8)
        session.get(UserSession, second.id).created_at = utcnow() - timedelta(days=9)
    cleanup(engine, days=60, now=utcnow())
    with get_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(UserSession)) == 0
    laptop.get("/admin", status=303)
