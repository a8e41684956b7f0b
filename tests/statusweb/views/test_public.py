"""The public pages, as a reader's browser gets them (webtest), on both databases."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from statuscore import utcnow
from tests.statusweb.pages import add_daily_uptime, add_incident, add_services


def test_status_page_returns_200_and_shows_all_services(engine, testapp):
    add_services(engine, ("sefaria.org", "up"), ("Linker", "up"), ("MCP Server", "up"), ("Export Server", "up"))
    page = testapp.get("/")
    assert page.status_int == 200
    for name in ("sefaria.org", "Linker", "MCP Server", "Export Server"):
        assert name in page.text
    assert "123 ms" in page.text
    assert 'http-equiv="refresh"' not in page.text  # content never changes under the reader by itself
    assert "/static/live.js" in page.text and 'id="live-toggle"' in page.text


def test_live_version_changes_with_what_a_reader_would_notice_and_not_otherwise(engine, make_testapp):
    ids = add_services(engine, ("Site", "up"), ("API", "up"))
    app = make_testapp(**{"statusweb.page_cache_seconds": "5"})
    first = app.get("/api/live")
    assert first.json["poll_seconds"] == 2.0 and first.headers["ETag"]
    assert app.get("/api/live", headers={"If-None-Match": first.headers["ETag"]}, status=304)
    import time

    time.sleep(1.05)  # the version is worked out at most once a second
    assert app.get("/api/live").json["version"] == first.json["version"]
    page = app.get("/")
    add_incident(engine, "API errors", impact="major", affected={ids["api"]: "major_outage"})
    assert app.get("/").text == page.text  # still the cached page ...
    time.sleep(1.05)
    changed = app.get("/api/live", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_int == 200 and changed.json["version"] != first.json["version"]
    assert "API errors" in app.get("/").text  # ... until the live check saw the change


def test_all_up_and_no_incident_is_all_systems_operational(engine, testapp):
    add_services(engine, ("Site", "up"), ("API", "up"))
    assert "All Systems Operational" in testapp.get("/").html.select_one(".banner h1").text


def test_a_down_service_is_a_major_outage(engine, testapp):
    add_services(engine, ("Site", "up"), ("API", "down"))
    page = testapp.get("/")
    assert page.html.select_one(".banner h1").text == "Major Outage"
    assert page.html.select_one(".status-major_outage .name").text == "API"


def test_a_minor_incident_is_a_partial_outage_and_degraded_is_degraded(engine, testapp):
    add_services(engine, ("Site", "up"), ("API", "degraded"))
    assert testapp.get("/").html.select_one(".banner h1").text == "Degraded Performance"
    add_incident(engine, "Slow searches", impact="minor")
    assert testapp.get("/").html.select_one(".banner h1").text == "Partial Outage"


def test_a_major_incident_is_a_major_outage_even_when_checks_pass(engine, testapp):
    add_services(engine, ("Site", "up"))
    add_incident(engine, "Database failover", impact="critical")
    assert testapp.get("/").html.select_one(".banner h1").text == "Major Outage"


def test_maintenance_banner(engine, testapp):
    add_services(engine, ("Site", "up"), ("Export", "maintenance"))
    assert testapp.get("/").html.select_one(".banner h1").text == "Under Maintenance"


def test_shown_status_is_the_worse_of_checks_and_incident_until_resolved(engine, testapp):
    from statusweb.models import Incident, get_session_factory

    ids = add_services(engine, ("Site", "up"), ("API", "down"))
    incident_id = add_incident(
        engine,
        "Partial outage of the site",
        impact="minor",
        affected={ids["site"]: "partial_outage", ids["api"]: "degraded_performance"},
    )
    page = testapp.get("/").html
    assert page.select_one(".status-partial_outage .name").text == "Site"
    assert page.select_one(".status-major_outage .name").text == "API"  # checks are worse here
    with get_session_factory(engine).begin() as session:
        session.get(Incident, incident_id).post_update(status="resolved", body="Fixed.", at=utcnow(), author="ops")
    page = testapp.get("/").html
    assert page.select_one(".status-operational .name").text == "Site"  # the checks have the last word


def test_active_and_resolved_incidents_are_shown_with_their_timeline(engine, testapp):
    add_services(engine, ("Site", "up"))
    add_incident(engine, "Linker tasks are slow", status="identified", body="Workers are backlogged.")
    add_incident(engine, "Yesterday's export delay", status="resolved")
    page = testapp.get("/")
    active = page.html.select_one("section.incidents")
    assert "Linker tasks are slow" in active.text and "Workers are backlogged." in active.text
    assert "Identified" in active.text
    assert "Yesterday's export delay" in page.html.select_one("section.recent").text


def test_incident_text_is_escaped(engine, testapp):
    add_services(engine, ("Site", "up"))
    incident_id = add_incident(engine, "<script>alert(1)</script>", body='<img src=x onerror="alert(2)">')
    for url in ("/", f"/incidents/{incident_id}", "/history"):
        text = testapp.get(url).text
        assert "<script>alert(1)</script>" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_no_internal_url_or_raw_error_on_public_pages(engine, testapp):
    add_services(engine, ("Site", "down"))
    for url in ("/", "/services/site"):
        text = testapp.get(url).text
        assert "10.0.0.7" not in text and "HTTP 503" not in text


def test_uptime_bars_and_percentages_from_daily_rollups(engine, testapp):
    ids = add_services(engine, ("Site", "up"))
    add_daily_uptime(engine, ids["site"], days=30, up=999, down=1)
    page = testapp.get("/").html
    bars = page.select(".bars .bar")
    assert len(bars) == 90
    assert len(page.select(".bars .bar.up")) == 30 and len(page.select(".bars .bar.none")) == 60
    assert "30 days: 99.90%" in page.select_one(".uptime").text  # 30 days of data: no note
    assert "60 days: 99.90% (measured on 30 days)" in page.select_one(".uptime").text  # no-data days not counted
    assert bars[0]["aria-label"].endswith("no data; Worst: no data")
    assert bars[-1]["aria-label"].endswith("99.90% up, 1 min down; Worst: operational")  # 1 failed check of 60 s
    assert [bar["tabindex"] for bar in bars].count("0") == 1  # one tab stop; arrows move between days
    assert page.select_one(".legend")


def test_a_day_with_an_incident_is_coloured_by_its_impact_even_with_green_checks(engine, testapp):
    ids = add_services(engine, ("Site", "up"))
    add_daily_uptime(engine, ids["site"], days=3, up=1440, down=0)
    add_incident(engine, "Slow search", impact="major", affected={ids["site"]: "degraded_performance"})
    today = testapp.get("/").html.select(".bars .bar")[-1]
    assert "partial" in today["class"]
    assert "Incident (major): Slow search" in today["aria-label"] and "Worst: partial outage" in today["aria-label"]


def test_cache_headers_etag_and_304(engine, make_testapp):
    add_services(engine, ("Site", "up"))
    app = make_testapp(**{"statusweb.page_cache_seconds": "5"})
    first = app.get("/")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    etag = first.headers["ETag"]
    again = app.get("/", headers={"If-None-Match": etag}, status=304)
    assert again.body == b""
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"):
        assert header in first.headers


def test_history_is_paginated_over_90_days(engine, testapp):
    add_services(engine, ("Site", "up"))
    now = utcnow()
    for number in range(25):
        add_incident(engine, f"Incident {number}", status="resolved", created=now - timedelta(days=number))
    add_incident(engine, "Too old", status="resolved", created=now - timedelta(days=120))
    first = testapp.get("/history")
    assert "Page 1 of 2" in first.text and "Incident 0" in first.text and "Incident 24" not in first.text
    second = testapp.get("/history?page=2")
    assert "Incident 24" in second.text and "Too old" not in second.text
    assert "page must be a whole number from 1 to 10000" in testapp.get("/history?page=nonsense", status=400).text


def test_service_page_has_an_svg_chart_and_unknown_things_are_404(engine, testapp):
    add_services(engine, ("Site", "up"))
    page = testapp.get("/services/site")
    assert page.html.select_one("svg.chart") is not None
    assert testapp.get("/services/nope", status=404).html.select_one("h1").text == "Not found"
    testapp.get("/incidents/999", status=404)


def test_healthz_follows_the_runner_heartbeat(engine, testapp):
    from statusweb.models import RunnerHeartbeat, get_session_factory

    assert testapp.get("/healthz", status=503).text == "runner has not started\n"
    now = utcnow()
    with get_session_factory(engine).begin() as session:
        session.add(
            RunnerHeartbeat(
                name="runner",
                holder="test",
                started_at=now,
                beat_at=now - timedelta(seconds=5),
                interval_s=10,
                monitors=1,
            )
        )
    assert testapp.get("/healthz").text.startswith("ok")
    with get_session_factory(engine).begin() as session:
        # from the clock now, not the test's start: a slow machine took a second more before
        session.get(RunnerHeartbeat, "runner").beat_at = utcnow() - timedelta(seconds=31)
    assert "heartbeat is 31 s old" in testapp.get("/healthz", status=503).text


def test_a_cache_hit_is_served_without_a_database_transaction(engine, make_testapp):
    from sqlalchemy import event

    add_services(engine, ("Site", "up"))
    app = make_testapp(**{"statusweb.page_cache_seconds": "30"})
    checkouts = []
    event.listen(app.app.registry["statusweb.engine"], "checkout", lambda *args: checkouts.append(1))
    first = app.get("/")
    assert checkouts  # the first render reads the database
    checkouts.clear()
    again = app.get("/")
    assert again.body == first.body and again.headers["ETag"] == first.headers["ETag"]
    assert "Content-Security-Policy" in again.headers  # the response subscribers still run
    assert checkouts == []  # served before any transaction or session


def test_an_expired_page_is_rendered_by_one_thread_while_others_get_the_previous_copy():
    import threading
    import time

    from pyramid.request import Request
    from pyramid.response import Response

    from statusweb.edge.page_cache import PageCache

    def blank(path: str) -> Request:  # a real request object, as the cache gets them
        return Request.blank(path)

    cache = PageCache(seconds=0.05)
    renders = []
    release = threading.Event()

    def render(text: str):
        def slow() -> Response:
            renders.append(text)
            if text == "second":
                release.wait(5)
            return Response(text)

        return slow

    assert cache.serve(blank("/"), {}, render("first")).text == "first"
    time.sleep(0.06)  # expired
    worker = threading.Thread(target=lambda: cache.serve(blank("/"), {}, render("second")))
    worker.start()
    time.sleep(0.05)
    during = cache.serve(blank("/"), {}, render("third"))
    assert during.text == "first" and renders == ["first", "second"]  # no second render at once
    release.set()
    worker.join(5)
    assert cache.serve(blank("/"), {}, render("fourth")).text == "second"


def test_history_is_grouped_by_month_with_how_long_each_incident_lasted(engine, testapp):
    from datetime import datetime

    from sqlalchemy import update

    from statusweb.models import Incident, get_session_factory

    now = datetime.now(UTC)
    first = add_incident(engine, "Linker down", impact="major", status="resolved", created=now - timedelta(days=40))
    add_incident(engine, "Search slow", status="investigating", created=now - timedelta(hours=1))
    with get_session_factory(engine).begin() as session:
        session.execute(
            update(Incident)
            .where(Incident.id == first)
            .values(resolved_at=now - timedelta(days=40) + timedelta(hours=2, minutes=5))
        )
    page = testapp.get("/history").html
    months = [h.text for h in page.select("section.month > h2")]
    assert months == [f"{now:%B %Y}", f"{now - timedelta(days=40):%B %Y}"]  # 40 days always cross a month
    assert "(lasted 2 h 5 min)" in page.select("section.month")[-1].text


def test_branding_from_the_environment_and_a_theme_the_policy_allows(engine, make_testapp):
    app = make_testapp(
        **{
            "statusweb.page_name": "Sefaria Status",
            "statusweb.accent_color": "#FACC15",
            "statusweb.logo_url": "https://cdn.sefaria.org/logo.svg",
        }
    )
    page = app.get("/")
    assert "<title>All Systems Operational · Sefaria Status</title>" in page.text
    assert page.html.select_one("header .brand img.logo")["src"] == "https://cdn.sefaria.org/logo.svg"
    assert "img-src 'self' data: https://cdn.sefaria.org;" in page.headers["Content-Security-Policy"]
    theme = app.get("/theme.css")
    assert theme.content_type == "text/css"
    assert "--accent: #facc15; --on-accent: #111827;" in theme.text  # dark text on a light accent
    assert "--on-accent: #ffffff" in make_testapp(**{"statusweb.accent_color": "#1d4ed8"}).get("/theme.css").text


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("statusweb.accent_color", "red", "STATUSWEB_ACCENT_COLOR must be a colour like #1d4ed8"),
        ("statusweb.accent_color", "#12345g", "STATUSWEB_ACCENT_COLOR"),
        ("statusweb.logo_url", "javascript:alert(1)", "STATUSWEB_LOGO_URL must be an https://"),
        ("statusweb.logo_url", "http://cdn.example/logo.png", "STATUSWEB_LOGO_URL must be an https://"),
        ("statusweb.logo_url", "//evil.example/logo.png", "STATUSWEB_LOGO_URL must be an https://"),
        ("statusweb.logo_url", 'https://cdn.example/x"onerror="alert(1)', "STATUSWEB_LOGO_URL may not hold quotes"),
    ],
)
def test_branding_settings_refuse_what_could_break_the_page(key, value, words):
    from statusweb.settings import Settings, SettingsError

    with pytest.raises(SettingsError) as caught:
        Settings.from_settings({"sqlalchemy.url": "sqlite://", key: value})
    assert words in str(caught.value)


def test_a_feed_per_service_linked_from_its_page(engine, testapp):
    import feedparser

    ids = add_services(engine, ("Website", "up"), ("Linker", "up"))
    add_incident(engine, "Linker tasks stuck", affected={ids["linker"]: "major_outage"})
    add_incident(engine, "Website slow", affected={ids["website"]: "degraded_performance"})
    page = testapp.get("/services/linker").html
    atom = [a["href"] for a in page.select("p.more a") if "atom" in a["href"]][0]
    assert atom == "/history.atom?service=linker"
    titles = [entry.title for entry in feedparser.parse(testapp.get(atom).text).entries]
    assert titles == ["Linker tasks stuck (investigating)"]
    both = [entry.title for entry in feedparser.parse(testapp.get("/history.rss").text).entries]
    assert sorted(both) == ["Linker tasks stuck (investigating)", "Website slow (investigating)"]
    for hostile in ("nope", "%00", "LINKER", "a" * 300, "..%2F"):
        testapp.get(f"/history.atom?service={hostile}", status=404)


async def test_response_time_chart_has_p50_and_p95_axes_ranges_and_a_table(engine, make_testapp):
    from statuscore import MonitorState, Status, make_monitor, utcnow
    from statusweb.runner.sql_store import SqlStore
    from tests.statusweb.helpers import result

    monitor = make_monitor(name="Linker", url="http://127.0.0.1:9/")
    store = SqlStore(engine)
    store.sync_services([monitor])
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    times = [start + timedelta(minutes=3 * k) for k in range(60)]  # the three whole hours before this one
    for k, at in enumerate(times):  # most answers 40 ms, one in ten 900 ms: two in each hour
        checked = result("linker", Status.UP, at, latency_ms=900 if k % 10 == 0 else 40)
        await store.record(checked, MonitorState(status=Status.UP, last_result=checked), [], [])
    await store.close()
    app = make_testapp()
    page = app.get("/services/linker").html
    chart = page.select_one("svg.chart")
    assert chart.select_one("polyline.line-p50") and chart.select_one("polyline.line-p95")
    assert [t.text for t in chart.select("text.axis")][:3] == ["0 ms", "500 ms", "1000 ms"]
    assert "highest p95 900 ms" in chart.select_one("title").text  # the band's edge, capped at the max seen
    hours = [[td.text for td in row.select("td")][1:] for row in page.select("details table tbody tr")]
    assert hours == [["50 ms", "900 ms"]] * 3  # p50 in the 25-50 ms band; p95 the slow two in twenty
    assert [a.text for a in page.select("nav.ranges a")] == ["24h", "7d", "30d"]
    assert page.select_one('nav.ranges a[aria-current="page"]').text == "24h"
    month = app.get("/services/linker?range=30d").html
    assert month.select_one('nav.ranges a[aria-current="page"]').text == "30d"
    days = {at.date() for at in times}  # two when the three hours cross midnight
    assert len(month.select("details table tbody tr")) == len(days)
    assert app.get("/services/linker?range=%00%27").html.select_one('nav.ranges a[aria-current="page"]').text == "24h"


def test_hebrew_for_readers_who_ask_right_to_left_and_cached_apart(engine, make_testapp):
    ids = add_services(engine, ("sefaria.org", "up"), ("Linker", "down"))
    add_incident(engine, "Linker tasks stuck", impact="major", affected={ids["linker"]: "major_outage"})
    app = make_testapp(**{"statusweb.page_cache_seconds": "5"})
    english = app.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    hebrew = app.get("/", headers={"Accept-Language": "he-IL,he;q=0.9,en;q=0.5"})
    assert '<html lang="en" dir="ltr">' in english.text and "Major Outage" in english.text
    assert '<html lang="he" dir="rtl">' in hebrew.text
    assert "השבתה מלאה" in hebrew.html.select_one(".banner h1").text  # Major Outage
    assert "תקלות פעילות" in hebrew.text and "Linker tasks stuck" in hebrew.text  # headings, not what people wrote
    assert hebrew.html.select_one(".incident h3 bdi").text == "Linker tasks stuck"  # English kept apart in RTL
    assert english.headers["ETag"] != hebrew.headers["ETag"] and "Accept-Language" in hebrew.headers["Vary"]
    assert "Major Outage" in app.get("/", headers={"Accept-Language": "fr"}).text  # anything else: English
    switched = app.get("/lang/he?next=/history", status=303)
    assert switched.location == "http://localhost/history" and "lang=he" in switched.headers["Set-Cookie"]
    assert "היסטוריית תקלות" in app.get("/history").text  # the cookie wins over the header
    assert app.get("/lang/en?next=//evil.example/", status=303).location == "http://localhost/"
    for hostile in ("xx", "%00", "he%0d%0aSet-Cookie:x=1"):
        app.get(f"/lang/{hostile}", status=404)
    assert "Major Outage" in app.get("/").text  # back to English by the switcher


def test_spanish_for_readers_who_ask_and_by_the_switcher(engine, make_testapp):
    ids = add_services(engine, ("sefaria.org", "up"), ("Linker", "down"))
    add_incident(engine, "Linker tasks stuck", impact="major", affected={ids["linker"]: "major_outage"})
    app = make_testapp(**{"statusweb.page_cache_seconds": "5"})
    spanish = app.get("/", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    assert '<html lang="es" dir="ltr">' in spanish.text
    assert spanish.html.select_one(".banner h1").text.strip() == "Interrupción grave"
    assert "Incidentes activos" in spanish.text and "Linker tasks stuck" in spanish.text
    footer = [a.text for a in spanish.html.select(".languages a")]
    assert footer == ["English", "עברית", "Español"]
    switched = app.get("/lang/es?next=/history", status=303)
    assert "lang=es" in switched.headers["Set-Cookie"]
    assert "Historial de incidentes" in app.get("/history").text


@pytest.mark.parametrize("language", ["he", "es"])
def test_each_catalog_covers_every_string_the_templates_translate(language):
    import re
    from pathlib import Path

    from statusweb.i18n import catalog

    templates = Path(__file__).resolve().parents[3] / "src" / "statusweb" / "templates"
    wanted = {m.group(1) for p in templates.glob("*.pt") for m in re.finditer(r"_\('((?:[^'\\]|\\.)*)'", p.read_text())}
    missing = sorted(wanted - set(catalog(language)))
    assert not missing, missing


@pytest.mark.parametrize(
    "accept, encoding",
    [
        ("br, gzip", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0.5, gzip", "gzip"),
        ("identity", None),
        ("gzip;q=0, br;q=0", None),
        ("*", "br"),
        ("gzip;q=nonsense", None),
        ("x" * 5000, None),
        ("", None),
    ],
)
def test_cached_pages_go_precompressed_as_the_client_accepts(engine, make_testapp, accept, encoding):
    import gzip

    import brotli
    from webob import Request

    add_services(engine, *((f"Service {n}", "up") for n in range(30)))
    app = make_testapp(**{"statusweb.page_cache_seconds": "30"}).app

    def get(**headers):  # straight to the app: webtest would undo the encoding it can, and refuse brotli
        return Request.blank("/", headers=headers).get_response(app)

    plain = get()  # rendered and stored, with its compressed copies
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    answer = get(**{"Accept-Encoding": accept})
    if encoding is None:
        assert "Content-Encoding" not in answer.headers and answer.body == plain.body
        return
    assert answer.headers["Content-Encoding"] == encoding and len(answer.body) < len(plain.body) / 3
    assert (brotli.decompress if encoding == "br" else gzip.decompress)(answer.body) == plain.body
    assert answer.headers["ETag"] != plain.headers["ETag"]  # one representation, one strong ETag
    assert get(**{"Accept-Encoding": accept, "If-None-Match": answer.headers["ETag"]}).status_int == 304
    assert get(**{"If-None-Match": answer.headers["ETag"]}).status_int == 200  # not this representation's


def cached_shortcut(testapp):
    """The CachedShortcut among the WSGI layers in front of Pyramid (whatever wraps it)."""
    from statusweb.edge.page_cache import CachedShortcut

    layer = testapp.app
    while not isinstance(layer, CachedShortcut):
        layer = layer.app
    return layer


@pytest.mark.parametrize("path", ["/", "/history", "/api/v2/summary.json", "/history.atom", "/services/website"])
def test_a_cached_page_is_answered_before_pyramid_with_the_same_headers(engine, make_testapp, path):
    from webob import Request

    from statusweb.edge.page_cache import CachedShortcut

    add_services(engine, ("Website", "up"), *((f"Service {n}", "up") for n in range(20)))
    testapp = make_testapp(**{"statusweb.page_cache_seconds": "30"})
    shortcut = cached_shortcut(testapp)
    assert isinstance(shortcut, CachedShortcut)
    headers = {"Accept-Encoding": "gzip, br", "Accept-Language": "en"}
    first = Request.blank(path, headers=headers).get_response(testapp.app)  # through Pyramid; stored
    pyramid, shortcut.app = shortcut.app, None  # from now on Pyramid is not there to answer
    second = Request.blank(path, headers=headers).get_response(testapp.app)
    assert second.status_int == 200 and second.body == first.body
    for name in (
        "ETag",
        "Content-Type",
        "Content-Encoding",
        "Vary",
        "Content-Security-Policy",
        "X-Frame-Options",
        "Access-Control-Allow-Origin",
        "Referrer-Policy",
    ):
        assert second.headers.get(name) == first.headers.get(name), name
    assert (
        Request.blank(path, headers={**headers, "If-None-Match": first.headers["ETag"]})
        .get_response(testapp.app)
        .status_int
        == 304
    )
    hebrew = {**headers, "Accept-Language": "he"}
    shortcut.app = pyramid  # another language is another entry: Pyramid renders it
    assert Request.blank(path, headers=hebrew).get_response(testapp.app).body != first.body or path.endswith(
        (".json", ".atom")
    )


def test_the_shortcut_keeps_the_rate_limit_and_private_pages_out(engine, make_testapp, tmp_path):
    from webob import Request

    from statusweb.edge.page_mount import PAGE
    from statusweb.pages.directory import PageInfo
    from tests.statusweb.pages import sync_monitors_toml

    sync_monitors_toml(
        engine,
        tmp_path / "monitors.toml",
        '[[page]]\nslug = "inside"\nprivate = true\n[[monitor]]\nname = "Website"\nurl = "http://127.0.0.1:9/"\n',
    )
    testapp = make_testapp(**{"statusweb.page_cache_seconds": "30", "statusweb.rate_per_client": "3"})
    shortcut = cached_shortcut(testapp)
    client = {"REMOTE_ADDR": "198.51.100.7"}
    Request.blank("/", environ=client).get_response(testapp.app)
    shortcut.app = None  # only the shortcut answers now
    answers = [Request.blank("/", environ=client).get_response(testapp.app).status_int for _ in range(3)]
    assert answers == [200, 200, 429]
    private = Request.blank("/").environ
    private[PAGE] = PageInfo(7, "inside", "Inside", 1, private=True)  # the same path, on a private page
    assert shortcut.cache.shortcut(private) is None  # never answered before the gate
    for n in range(25_000):  # made-up query strings cannot grow what it remembers without bound
        shortcut.cache.key(Request.blank(f"/?utm={n}"), {})
    assert len(shortcut.cache._aliases) <= 20_000
