"""The page and the admin as an attacker tries them (webtest, both databases): forged
Host headers, cache busting, copied session cookies, odd numbers in every route,
login guessing, /metrics scraping, wrong methods."""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from statusweb.models import User, get_session_factory
from tests.statusweb.pages import add_daily_uptime, add_incident, add_services
from tests.statusweb.views.test_admin import add_user, editor, login  # noqa: F401 (a fixture)

EVIL = "evil.example"


@pytest.fixture
def populated(engine):
    ids = add_services(engine, ("Website", "up"), ("Linker", "down"))
    add_incident(engine, "Linker slow", affected={ids["linker"]: "partial_outage"})
    add_daily_uptime(engine, ids["website"], days=3, up=1000, down=1)
    return ids


# 4. Host header poisoning ------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/history",
        "/api/v2/summary.json",
        "/history.atom",
        "/history.rss",
        "/api/v2/incidents.json",
        "/api/v2/openapi.json",
    ],
)
def test_a_forged_host_never_appears_in_a_page_even_for_the_next_visitor(populated, make_testapp, path):
    app = make_testapp(**{"statusweb.page_url": "https://status.sefaria.org", "statusweb.page_cache_seconds": "60"})
    forged = app.get(path, headers={"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "http"})
    honest = app.get(path)  # served from the cache the forged request filled
    for answer in (forged, honest):
        assert EVIL not in answer.text
    if path not in ("/", "/history"):  # HTML pages link by path alone; the rest by full URL
        assert "https://status.sefaria.org" in honest.text


def test_redirects_use_the_configured_url_too(engine, make_testapp):
    app = make_testapp(**{"statusweb.page_url": "https://status.sefaria.org"})
    answer = app.get("/admin", headers={"Host": EVIL}, status=303)
    assert answer.location.startswith("https://status.sefaria.org/admin/login")


# 5. Cache busting ----------------------------------------------------------------------


def test_unknown_parameters_share_one_cache_entry_and_known_ones_are_canonical(populated, make_testapp):
    app = make_testapp(**{"statusweb.page_cache_seconds": "60"})
    cache = app.app.registry["statusweb.page_cache"]
    first = app.get("/")
    for n in range(50):
        assert app.get(f"/?x={n}&utm_source=spam").body == first.body
    app.get("/history?page=1")
    app.get("/history?page=01&x=2")
    app.get("/history")
    app.get("/badge/website/uptime.svg?days=030")
    app.get("/badge/website/uptime.svg?days=30")
    assert len(cache) == 3  # "/", "/history?page=1", the badge for 30 days


def test_cache_is_bounded_by_bytes_and_evicts_the_least_recently_used(populated, make_testapp):
    app = make_testapp(**{"statusweb.page_cache_seconds": "60", "statusweb.page_cache_bytes": "6000"})
    cache = app.app.registry["statusweb.page_cache"]
    app.get("/badge/website/status.svg")
    for days in range(1, 91):
        app.get(f"/badge/website/uptime.svg?days={days}")
        app.get("/badge/website/status.svg")  # kept warm: recently used
        assert cache.size <= 6000
    assert 1 < len(cache) < 90
    assert "/badge/website/status.svg" in cache._entries
    assert "/badge/website/uptime.svg?days=1" not in cache._entries


# 6. Logout ends the session -------------------------------------------------------------


def _session_cookie(app) -> str:
    return app.cookies["statusweb_session"]


def test_a_cookie_copied_before_logout_no_longer_opens_the_admin(engine, make_testapp):
    add_user(engine, "ed", "editor")
    app = make_testapp()
    login(app, "ed")
    copied = _session_cookie(app)
    app.get("/admin").forms[0].submit(status=303)  # log out
    thief = make_testapp()
    thief.set_cookie("statusweb_session", copied)
    assert thief.get("/admin", status=303).location.endswith("/admin/login?next=%2Fadmin")


def test_password_change_and_disabling_end_sessions_and_sessions_end_after_12_hours(engine, make_testapp, monkeypatch):
    add_user(engine, "ed", "editor")
    app = make_testapp()
    login(app, "ed")
    with get_session_factory(engine).begin() as session:
        session.scalar(select(User).where(User.name == "ed")).set_password("another long phrase")
    assert app.get("/admin", status=303)
    login(app, "ed", "another long phrase")
    with get_session_factory(engine).begin() as session:
        user = session.scalar(select(User).where(User.name == "ed"))
        user.disabled = True
        user.end_sessions()
    assert app.get("/admin", status=303)
    assert "Wrong name or password." in login(app, "ed", "another long phrase", status=400).text
    with get_session_factory(engine).begin() as session:
        session.scalar(select(User).where(User.name == "ed")).disabled = False
    login(app, "ed", "another long phrase")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 12 * 3600 + 60)
    assert app.get("/admin", status=303)  # however often it was reissued meanwhile


def test_admin_can_set_passwords_and_disable_users_in_the_page(engine, make_testapp):
    add_user(engine, "root", "admin")
    add_user(engine, "ed", "editor")
    ed_app = make_testapp()
    login(ed_app, "ed")
    admin = make_testapp()
    login(admin, "root")
    page = admin.get("/admin/users")
    ed_id = next(u.id for u in _users(engine) if u.name == "ed")
    form = next(f for f in page.forms.values() if f.action == f"/admin/users/{ed_id}/password")
    form["password"], form["password_again"] = "qwertyuiop", "qwertyuiop"
    assert "At least 12 characters." in form.submit(status=400).text
    form["password"] = form["password_again"] = "a brand new phrase"
    form.submit(status=303)
    assert ed_app.get("/admin", status=303)  # the editor's session ended
    login(ed_app, "ed", "a brand new phrase")
    page = admin.get("/admin/users")
    disable = next(f for f in page.forms.values() if f.action == f"/admin/users/{ed_id}/disable")
    disable.submit(status=303)
    assert ed_app.get("/admin", status=303)
    assert "disabled" in admin.get("/admin/users").text
    root_id = next(u.id for u in _users(engine) if u.name == "root")
    token = admin.get("/admin/users").forms["add-user"]["csrf_token"].value
    assert (
        "cannot disable your own"
        in admin.post(f"/admin/users/{root_id}/disable", {"csrf_token": token}, status=400).text
    )
    for hostile in ("99999999999999999999", "9223372036854775807", "0"):
        admin.post(f"/admin/users/{hostile}/disable", {"csrf_token": token}, status=404)
    ed_app.post(f"/admin/users/{ed_id}/enable", {"csrf_token": token}, status=303)  # not logged in: login
    assert all(u.disabled for u in _users(engine) if u.name == "ed")


def _users(engine) -> list[User]:
    with get_session_factory(engine)() as session:
        return list(session.scalars(select(User)))


# 8. No 5xx on odd input -----------------------------------------------------------------

ISSUE_CASES = [
    ("GET", "/history?page=9999999999999999999", (400,)),
    ("GET", "/incidents/99999999999999999999999", (404,)),
    ("GET", "/incidents/9223372036854775808", (404,)),
    ("GET", "/incidents/%EF%BC%92", (404,)),
    ("GET", "/badge/website/uptime.svg?days=%C2%B2", (400,)),
    ("GET", "/badge/website/uptime.svg?days=" + "9" * 4000, (400,)),
    ("GET", "/admin/checks?before=%C2%B2", (400,)),
    ("GET", "/admin/checks?before=" + "9" * 30, (400,)),
    ("GET", "/admin/checks?to=9999-12-31", (400,)),
    ("GET", "/admin/incidents/99999999999999999999", (404,)),
    ("POST", "/admin/incidents/resolve", (303,)),
    ("GET", "/admin/login?next=/admin%0D%0ASet-Cookie:x=1", (200,)),
    ("GET", "/admin/login?next=/admin/%C3%A9t%C3%A9", (200,)),
]


@pytest.mark.parametrize("method, path, statuses", ISSUE_CASES)
def test_the_audits_odd_inputs_answer_4xx(populated, engine, make_testapp, method, path, statuses):
    add_user(engine, "root", "admin")
    app = make_testapp()
    login(app, "root")
    if method == "POST":
        token = app.get("/admin/incidents").forms[1]["csrf_token"].value
        answer = app.post(path, {"csrf_token": token, "id": ["²", "9" * 30, "１"]}, expect_errors=True)
    else:
        answer = app.get(path, expect_errors=True)
    assert answer.status_int in statuses, answer.text[:300]


def test_login_next_with_crlf_or_non_ascii_goes_to_the_dashboard(engine, testapp):
    add_user(engine, "ed", "editor")
    for target in ("/admin%0D%0ASet-Cookie:%20x=1", "/admin/%C3%A9t%C3%A9", "/admin/%E2%80%A8"):
        testapp.reset()  # logged out: a fresh browser each time
        page = testapp.get(f"/admin/login?next={target}").forms[0]
        page["name"], page["password"] = "ed", "correct horse"
        answer = page.submit(status=303)
        assert answer.location == "http://localhost/admin"
        assert "x=1" not in str(answer.headers)


NOT_UTF8 = ["%ff", "%ED%A0%80", "%C3%28"]  # a stray byte, a lone surrogate, a broken sequence
HOSTILE_VALUES = [
    "0",
    "-1",
    "9" * 30,
    "9223372036854775808",
    "%C2%B2",
    "%EF%BC%92",
    "%00",
    "%0D%0A",
    "%E2%80%AE",
    "' OR 1=1 --",
    "x" * 5000,
    "..%2F..%2Fetc%2Fpasswd",
    "1e309",
    "NaN",
    "[]",
    *NOT_UTF8,
]


def raw_request(app, method: str, url: str, token: str):
    """The request as a browser would send it, past webtest's cookie jar (which cannot
    build a URL that is not UTF-8): the app's own cookies, a form body for a POST."""
    from webob import Request

    request = Request.blank(url, method=method, POST={"csrf_token": token} if method == "POST" else None)
    request.headers["Cookie"] = "; ".join(f"{cookie.name}={cookie.value}" for cookie in app.cookiejar)
    return request.get_response(app.app)


QUERY_NAMES = [
    "page",
    "days",
    "before",
    "from",
    "to",
    "service",
    "status",
    "next",
    "id",
    "month",
    "format",
    "msg",
    "ping",
    "error",
    "range",
    "component",
    "template",
]


@pytest.mark.timeout(600)  # thousands of requests: 30-45 s alone, more on a busy machine
def test_every_route_with_hostile_values_answers_below_500(populated, engine, make_testapp):
    """Walks Pyramid's route table: each path parameter and each query parameter any
    view reads gets every hostile value, as a visitor and as an admin; GET and POST."""
    add_user(engine, "root", "admin")
    visitor = make_testapp()
    admin = make_testapp()
    login(admin, "root")
    token = admin.get("/admin/incidents").forms[1]["csrf_token"].value
    routes = admin.app.registry.introspector.get_category("routes")
    tried = 0
    for route in (entry["introspectable"]["object"] for entry in routes):
        if "*" in route.pattern:  # static files
            continue
        if admin.get("/admin", expect_errors=True).status_int != 200:  # a route logged it out: back in
            login(admin, "root")
            token = admin.get("/admin/incidents").forms[1]["csrf_token"].value
        for value in HOSTILE_VALUES:
            path = route.pattern
            for name in ("{id:[0-9]+}", "{slug}", "{token}"):
                path = path.replace(name, value if name in ("{slug}", "{token}") else "12" if "%" in value else value)
            query = "&".join(f"{name}={value}" for name in QUERY_NAMES)
            for app in (visitor, admin) if route.name != "logout" else (visitor,):  # the admin stays in
                for method in ("GET", "POST"):
                    url = f"{path}?{query}"
                    if value in NOT_UTF8:
                        answer = raw_request(app, method, url, token)
                        assert answer.status_int == 400, f"{method} {url} -> {answer.status_int}"
                    elif method == "GET":
                        answer = app.get(url, expect_errors=True)
                    else:
                        raw = unquote(value)  # the decoded bytes: NUL, CR/LF, "²" as sent
                        answer = app.post(
                            url,
                            {
                                "csrf_token": token,
                                "id": raw,
                                "title": raw,
                                "body": raw,
                                "name": raw,
                                "password": raw,
                                "status": raw,
                                "impact": raw,
                                "root_cause": raw,
                                "eta": raw,
                                "role": raw,
                                "starts_at": raw,
                                "ends_at": raw,
                                "repeat": raw,
                                "rrule": raw,
                                "description": raw,
                                "service": raw,
                                "kind": raw,
                                "address": raw,
                                "page": raw,
                                "organization": raw,
                                "scope": raw,
                                "days": raw,
                                "slug": raw,
                                "domain": raw,
                                "email": raw,
                                "viewer_password": raw,
                            },
                            expect_errors=True,
                        )
                    tried += 1
                    if route.name == "healthz" and answer.status_int == 503:
                        continue  # its honest answer: no runner in this test
                    assert answer.status_int < 500, f"{method} {url} -> {answer.status_int}"
    assert tried > 1000
    print(f"{tried} requests over {len(routes)} routes, none answered 5xx")


# 9. Login ------------------------------------------------------------------------------


def _login_time(app, name: str, address: str) -> float:
    form = app.get("/admin/login", extra_environ={"REMOTE_ADDR": address}).forms[0]
    form["name"], form["password"] = name, "wrong password here"
    started = time.perf_counter()
    form.submit(status=400, extra_environ={"REMOTE_ADDR": address})
    return time.perf_counter() - started


def test_a_name_that_does_not_exist_takes_as_long_as_one_that_does(engine, testapp, monkeypatch):
    from argon2 import PasswordHasher

    monkeypatch.setattr("statusweb.models.user._hasher", PasswordHasher())  # argon2's real cost here
    add_user(engine, "ed", "editor")
    known = sorted(_login_time(testapp, "ed", f"10.0.0.{n}") for n in range(5))[2]
    unknown = sorted(_login_time(testapp, "nobody", f"10.0.1.{n}") for n in range(5))[2]
    print(f"median login: existing name {known * 1000:.0f} ms, unknown name {unknown * 1000:.0f} ms")
    assert unknown > known / 3  # both pay for argon2 (without the dummy hash: 1/40)


def test_guesses_from_many_addresses_slow_the_account_but_never_lock_out_its_owner(engine, make_testapp):
    from webtest import TestApp

    add_user(engine, "ed", "editor")
    owner = make_testapp()
    login(owner, "ed")  # this browser now knows the account
    owner.get("/admin").forms[0].submit(status=303)  # and logs out
    botnet = TestApp(owner.app)  # the same server, other browsers
    answers = []
    for n in range(14):
        form = botnet.get("/admin/login").forms[0]
        form["name"], form["password"] = "ed", f"guess number {n}"
        answers.append(form.submit(expect_errors=True, extra_environ={"REMOTE_ADDR": f"198.51.100.{n}"}))
    assert [a.status_int for a in answers[:10]] == [400] * 10
    assert answers[-1].status_int == 429 and "seconds" in answers[-1].text
    assert int(answers[-1].headers["Retry-After"]) <= 61
    stranger = TestApp(owner.app)  # a new browser with the right password waits, briefly
    page = stranger.get("/admin/login").forms[0]
    page["name"], page["password"] = "ed", "correct horse"
    assert page.submit(expect_errors=True, extra_environ={"REMOTE_ADDR": "192.0.2.1"}).status_int == 429
    page = owner.get("/admin/login").forms[0]  # the owner's browser goes straight in
    page["name"], page["password"] = "ed", "correct horse"
    page.submit(status=303, extra_environ={"REMOTE_ADDR": "192.0.2.2"})


def test_the_limiter_forgets_old_failures():
    from statusweb.services.security import LoginLimiter

    limiter = LoginLimiter(attempts=5, window=60, max_keys=1000)
    for n in range(5000):
        limiter.failed(f"10.{n // 250}.{n % 250}.1", f"user{n}", now=float(n % 50))
    assert len(limiter) <= 1000
    limiter.failed("10.0.0.1", "late", now=10_000.0)
    assert len(limiter) == 2  # everything older than the window is gone


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short", "At least 12 characters."),
        ("Password1234!", "one of the most common"),
        ("2024qwertyuiop", "one of the most common"),
        ("123456789012345", "one of the most common"),
        ("aaaaaaaaaaaaab", "repeats"),
        ("edward-is-the-best", "user's name"),
        ("correct horse battery staple", "one of the most common"),
    ],
)
def test_weak_passwords_are_refused(password, problem):
    from statusweb.services.passwords import password_problem

    assert problem in password_problem(password, "Edward")
    assert password_problem("four random words here", "Edward") is None


def test_admin_pages_are_never_stored(engine, editor):
    for path in ("/admin", "/admin/incidents", "/admin/checks", "/admin/login", "/admin/incidents/new"):
        assert editor.get(path).headers["Cache-Control"] == "no-store"


# 10. /metrics --------------------------------------------------------------------------


def test_metrics_need_the_token_in_production_and_are_404_without_one(populated, make_testapp):
    closed = make_testapp(**{"statusweb.metrics_public": "false"})
    closed.get("/metrics", status=404)
    guarded = make_testapp(**{"statusweb.metrics_public": "false", "statusweb.metrics_token": "t" * 40})
    assert guarded.get("/metrics", status=401).headers["WWW-Authenticate"].startswith("Bearer")
    guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}, status=401)
    guarded.get("/metrics", headers={"Authorization": "Bearer ünïcode"}, status=401)
    answer = guarded.get("/metrics", headers={"Authorization": f"Bearer {'t' * 40}"})
    assert 'statuscore_checks_total{result="up",service="website"} 3000.0' in answer.text


def test_metrics_are_summed_in_sql_and_cached_a_few_seconds(populated, engine, make_testapp):
    from sqlalchemy import event

    app = make_testapp(**{"statusweb.metrics_cache_seconds": "30"})
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    app_engine = app.app.registry["statusweb.engine"]
    event.listen(app_engine, "before_cursor_execute", record)
    try:
        first = app.get("/metrics").text
        queries = len(statements)
        for _ in range(20):
            assert app.get("/metrics").text == first
    finally:
        event.remove(app_engine, "before_cursor_execute", record)
    assert queries > 0 and len(statements) == queries  # cached: no query at all for 20 scrapes
    assert any("sum(rollup_daily.latency_le_25)" in s.lower() for s in statements)
    assert 'statuscore_check_latency_seconds_count{service="website"} 3000.0' in first
    assert 'statuscore_check_latency_seconds_sum{service="website"} 300.0' in first


# 11. Small ones ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/history",
        "/api/v2/summary.json",
        "/history.atom",
        "/badge/website/status.svg",
        "/incidents/1",
        "/services/website",
        "/healthz",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writing_methods_on_public_pages_are_405(populated, testapp, path, method):
    answer = testapp.request(path, method=method, status=405)
    assert "GET" in answer.headers["Allow"] and "POST" not in answer.headers["Allow"]


def test_the_404_page_does_not_echo_the_path(testapp):
    marker = "%3Cscript%3Ealert(1)%3C/script%3Eunique-marker"
    for path in (
        f"/{marker}",
        f"/api/v2/{marker}",
        f"/incidents/{marker}",
        "/incidents/99999999/unique-marker",
        "/services/unique-marker",
    ):
        answer = testapp.get(path, status=404)
        own_scripts = re.sub(r'<script src="/static/[\w.-]+" defer></script>|</?noscript>', "", answer.text)
        assert "unique-marker" not in answer.text and "script" not in own_scripts.lower()


def test_a_body_over_one_mebibyte_is_refused_before_it_is_read(engine, testapp):
    answer = testapp.post(
        "/admin/login", b"x" * (1024 * 1024 + 1), status=413, content_type="application/x-www-form-urlencoded"
    )
    assert "at most 1048576 bytes" in answer.text
