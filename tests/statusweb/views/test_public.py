"""The public pages, as a reader's browser gets them (webtest), on both databases."""

from __future__ import annotations

from datetime import timedelta

from statuscore import utcnow
from tests.statusweb.pages import add_daily_uptime, add_incident, add_services


def test_status_page_returns_200_and_shows_all_services(engine, testapp):
    add_services(engine, ("sefaria.org", "up"), ("Linker", "up"), ("MCP Server", "up"), ("Export Server", "up"))
    page = testapp.get("/")
    assert page.status_int == 200
    for name in ("sefaria.org", "Linker", "MCP Server", "Export Server"):
        assert name in page.text
    assert "123 ms" in page.text
    assert 'http-equiv="refresh" content="60"' in page.text


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
    incident_id = add_incident(engine, "Partial outage of the site", impact="minor",
                               affected={ids["site"]: "partial_outage", ids["api"]: "degraded_performance"})
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
    bars = page.select(".bars i")
    assert len(bars) == 90
    assert len(page.select(".bars i.up")) == 30 and len(page.select(".bars i.none")) == 60
    assert "30 days: 99.90%" in page.select_one(".uptime").text


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
        session.add(RunnerHeartbeat(name="runner", holder="test", started_at=now, beat_at=now - timedelta(seconds=5),
                                    interval_s=10, monitors=1))
    assert testapp.get("/healthz").text.startswith("ok")
    with get_session_factory(engine).begin() as session:
        session.get(RunnerHeartbeat, "runner").beat_at = now - timedelta(seconds=31)
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

    from statusweb.pages.cache import PageCache

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
