"""A second factor for the admin (TOTP and recovery codes), as a person meets it: enrolling,
signing in with a code, replays and guesses refused, an organization that requires it,
and `statusweb-admin reset-2fa` for the locked out. SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import AuditEvent, Organization, RecoveryCode, User, get_session_factory
from statusweb.services.second_factor import accept_totp, start_enrolment
from tests.statusweb.views.test_admin import add_user, login


def user_row(engine, name: str) -> User:
    with get_session_factory(engine)() as session:
        user = session.scalar(select(User).where(User.name == name))
        session.expunge(user)
        return user


def form_doing(page, action: str):
    """The page's form whose hidden `action` is `action` (the nav's logout form comes first)."""
    return next(f for f in page.forms.values() if "action" in f.fields and f["action"].value == action)


def enrol(app, engine, name: str) -> tuple[str, list[str]]:
    """Through the page: start, read the key, confirm with a code; (secret, recovery codes)."""
    page = app.get("/admin/2fa")
    page = form_doing(page, "start").submit()  # "Set up two-factor sign-in"
    assert "<svg" in page.text and "Enrolment QR code" in page.text  # segno's SVG, inline
    secret = page.html.find(id="totp-key").text.replace(" ", "")
    assert secret == user_row(engine, name).totp_secret
    form = form_doing(page, "confirm")
    form["code"] = pyotp.TOTP(secret).now()
    done = form.submit()
    assert "Two-factor sign-in is on." in done.text
    codes = [li.text for li in done.html.find(id="recovery-codes").find_all("li")]
    return secret, codes


def next_code(secret: str) -> str:
    """The code of the next 30-second step: the one used to enrol (or sign in) just now
    is spent, and the server takes one step either side of its clock."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def sign_in(app, name: str, code: str, status: int = 303):
    """Password, then the code step; the answer to the code."""
    step = login(app, name)
    assert step.location.endswith("/admin/login/code")
    form = app.get("/admin/login/code").forms[0]
    form["code"] = code
    return form.submit(status=status)


@pytest.fixture
def owner(engine, testapp):
    add_user(engine, "olga", "owner")
    login(testapp, "olga")
    return testapp


def test_enrol_then_every_sign_in_asks_for_a_code_and_a_code_works_once(engine, owner, make_testapp):
    secret, codes = enrol(owner, engine, "olga")
    assert (
        len(codes) == 10 and len(set(codes)) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)
    )
    with get_session_factory(engine)() as session:
        hashes = session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)  # only hashes are kept
    browser = make_testapp()
    assert login(browser, "olga").location.endswith("/admin/login/code")
    assert browser.get("/admin", status=303).location.startswith("http://localhost/admin/login")  # not in yet
    code = next_code(secret)
    assert sign_in(browser, "olga", code).location.endswith("/admin")
    assert "Log out olga" in browser.get("/admin").text
    again = make_testapp()
    refused = sign_in(again, "olga", code, status=400)  # the same code, within its 30 seconds
    assert "not right (or was used already)" in refused.text
    form = refused.forms[0]
    form["code"] = codes[0].upper().replace("-", " ")  # a recovery code, however typed
    assert form.submit(status=303).location.endswith("/admin")
    third = make_testapp()
    assert "not right" in sign_in(third, "olga", codes[0], status=400).text  # used up
    assert "9 recovery codes left" in again.get("/admin/2fa").text


def test_guessed_codes_count_against_the_login_limiter_and_a_right_password_does_not_clear_it(
    engine, owner, make_testapp
):
    secret, _ = enrol(owner, engine, "olga")
    browser = make_testapp(**{"statusweb.login_attempts": "3"})
    login(browser, "olga")
    for guess in ("000000", "123456"):
        form = browser.get("/admin/login/code").forms[0]
        form["code"] = guess
        form.submit(status=400)
    login(browser, "olga")  # the password again: the count stays
    form = browser.get("/admin/login/code").forms[0]
    form["code"] = "999999"
    form.submit(status=400)
    form = browser.get("/admin/login/code").forms[0]
    form["code"] = next_code(secret)  # even the right code waits now
    waiting = form.submit(status=429)
    assert "Too many failed attempts" in waiting.text and int(waiting.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "code",
    [
        "",
        "12345",
        "1234567",
        "１２３４５６",
        "abc\r\nSet-Cookie: x=1",
        b"%FF%FE%FD",
        "9" * 10_000,
        "-123456",
        "aaaaa-aaaaa",
    ],
)
def test_a_hostile_code_is_a_400_never_a_500(engine, owner, make_testapp, code):
    enrol(owner, engine, "olga")
    browser = make_testapp()
    login(browser, "olga")
    token = browser.get("/admin/login/code").forms[0]["csrf_token"].value
    if isinstance(code, bytes):  # invalid UTF-8, as a hostile client sends it
        body = b"csrf_token=" + token.encode() + b"&code=" + code
        answer = browser.post("/admin/login/code", body, content_type="application/x-www-form-urlencoded", status=400)
        return
    answer = browser.post("/admin/login/code", {"csrf_token": token, "code": code}, status=400)
    assert "not right" in answer.text and "Set-Cookie: x" not in str(answer.headers)


def test_the_code_step_expires_and_needs_the_password_first(engine, owner, make_testapp):
    browser = make_testapp()
    assert browser.get("/admin/login/code").location.endswith("/admin/login")  # nobody half signed in
    enrol(owner, engine, "olga")
    login(browser, "olga")
    form = browser.get("/admin/login/code").forms[0]
    with get_session_factory(engine).begin() as session:  # meanwhile the password changed: the step is void
        session.scalar(select(User).where(User.name == "olga")).end_sessions()
    form["code"] = "123456"
    assert "expired=1" in form.submit(status=303).location


def test_an_organization_that_requires_it_opens_nothing_until_its_members_enrol(engine, owner, make_testapp):
    add_user(engine, "ed", "editor")  # admin of the same (default) organization
    users = owner.get("/admin/users")
    requirement = next(f for f in users.forms.values() if f.action.endswith("/2fa"))
    requirement["require"] = True
    assert requirement.submit(status=303).location.endswith("/admin/2fa")  # the owner is asked first
    with get_session_factory(engine)() as session:
        assert session.scalar(select(Organization.require_2fa))
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "organization.2fa"))
    ed = make_testapp()
    assert login(ed, "ed").location.endswith("/admin")
    for path in ("/admin", "/admin/incidents", "/admin/users", "/admin/checks"):
        assert ed.get(path, status=303).location.endswith("/admin/2fa"), path
    page = ed.get("/admin/2fa")
    assert "requires" in page.text and "two-factor" in page.text
    secret, _ = enrol(ed, engine, "ed")
    assert ed.get("/admin/incidents").status_int == 200
    off = ed.get("/admin/2fa")
    assert "Turn it off" not in off.text  # required: it stays on
    token = off.forms[0]["csrf_token"].value
    refused = ed.post("/admin/2fa", {"csrf_token": token, "action": "off", "password": "correct horse"}, status=400)
    assert "requires two-factor" in refused.text


def test_another_organizations_requirement_is_not_yours_to_set(engine, owner):
    with get_session_factory(engine).begin() as session:
        other = Organization(slug="other", name="Other", created_at=utcnow())
        session.add(other)
        session.flush()
        other_id = other.id
    token = owner.get("/admin/users").forms[0]["csrf_token"].value
    for target in (str(other_id), "999999", "0", "99999999999999999999999"):
        owner.post(f"/admin/organizations/{target}/2fa", {"csrf_token": token, "require": "on"}, status=404)
    with get_session_factory(engine)() as session:
        assert not session.get(Organization, other_id).require_2fa


def test_turning_it_off_needs_the_password_and_signs_out(engine, owner):
    enrol(owner, engine, "olga")
    page = owner.get("/admin/2fa")
    form = form_doing(page, "off")
    form["password"] = "wrong password"
    assert "not your password" in form.submit(status=400).text
    form = form_doing(owner.get("/admin/2fa"), "off")
    form["password"] = "correct horse"
    assert form.submit(status=303).location.endswith("/admin/login")
    assert user_row(engine, "olga").totp_secret is None
    assert login(owner, "olga").location.endswith("/admin")  # the password alone again


def test_a_code_is_accepted_once_even_by_two_racing_requests(engine):
    """The step is claimed by a conditional UPDATE: the second of two sessions loses."""
    add_user(engine, "olga", "owner")
    factory = get_session_factory(engine)
    with factory.begin() as session:
        user = session.scalar(select(User).where(User.name == "olga"))
        start_enrolment(user)
        secret = user.totp_secret
    code = pyotp.TOTP(secret).now()
    first, second = factory(), factory()
    try:
        one = first.scalar(select(User).where(User.name == "olga"))
        two = second.scalar(select(User).where(User.name == "olga"))
        assert accept_totp(first, one, code)
        first.commit()
        assert not accept_totp(second, two, code)  # it read the row before the first committed
    finally:
        first.close()
        second.close()


def test_reset_2fa_from_the_command_line(engine, owner, db_url, tmp_path):
    from tests.test_deployment import statusweb_admin

    enrol(owner, engine, "olga")
    ini = tmp_path / "statusweb.ini"
    ini.write_text(f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {db_url}\n")
    done = statusweb_admin("reset-2fa", str(ini), "olga")
    assert done.returncode == 0, done.stderr
    assert "second factor and recovery codes removed, sessions ended" in done.stdout
    assert user_row(engine, "olga").totp_secret is None
    assert owner.get("/admin", status=303).location.startswith("http://localhost/admin/login")  # signed out
    again = statusweb_admin("reset-2fa", str(ini), "olga")
    assert again.returncode == 0 and "had no second factor" in again.stdout
    missing = statusweb_admin("reset-2fa", str(ini), "nobody")
    assert missing.returncode == 2 and "no user 'nobody'" in missing.stderr
    with get_session_factory(engine)() as session:
        assert (
            session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "user.2fa_reset")) == "statusweb-admin"
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "confirm", "code": "9" * 10_000},
        {"action": "confirm", "code": "12\r\n34"},
        {"action": "confirm", "code": "１２３４５６"},
        {"action": "recovery", "code": "000000"},
        {"action": "off", "password": "x" * 5000},
        {"action": "delete-everything"},
        {"action": "", "code": "-1"},
        b"action=confirm&code=%FF%FE%FD",
    ],
)
def test_a_hostile_settings_form_is_a_400_never_a_500(engine, owner, fields):
    page = form_doing(owner.get("/admin/2fa"), "start").submit()  # pending: a confirm would be possible
    token = page.forms[0]["csrf_token"].value
    if isinstance(fields, bytes):
        body = b"csrf_token=" + token.encode() + b"&" + fields
        owner.post("/admin/2fa", body, content_type="application/x-www-form-urlencoded", status=400)
    else:
        answer = owner.post("/admin/2fa", {"csrf_token": token, **fields}, status=400)
        assert answer.html.select_one("[role=alert]") is not None
    assert user_row(engine, "olga").totp_enabled_at is None  # nothing came into force
