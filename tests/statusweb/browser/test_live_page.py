"""An open page updates without reloading (Debian's Chromium): an incident posted in the
admin, and a status change the runner writes, appear within 5 s; the reader can pause it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from statuscore import utcnow
from statusweb.models import ServiceState, get_session_factory
from tests.statusweb.browser.test_incident_flow import browser, log_in, open_incident, serving  # noqa: F401 (fixture)
from tests.statusweb.pages import add_services
from tests.statusweb.views.test_admin import add_user

pytestmark = pytest.mark.browser


@pytest.fixture
def live_site(engine, db_url):
    """With production's page cache (10 s): live updates must not wait for it."""
    with serving(db_url, "10") as url:
        yield url


def wait_for_text(page, selector: str, text: str, seconds: float = 5.0) -> float:
    started = time.monotonic()
    page.wait_for_function(
        "([s, t]) => (document.querySelector(s) || {}).textContent?.includes(t)",
        arg=[selector, text],
        timeout=seconds * 1000,
    )
    return time.monotonic() - started


def test_an_open_page_shows_a_new_incident_and_a_status_change_within_five_seconds(engine, live_site, browser):  # noqa: F811
    ids = add_services(engine, ("sefaria.org", "up"), ("Linker", "up"))
    add_user(engine, "ops", "editor")
    reader = browser.new_page()
    reader.goto(f"{live_site}/")
    reader.evaluate("window.notReloaded = true")
    assert reader.inner_text(".banner h1") == "All Systems Operational"
    reader.wait_for_timeout(2500)  # the page has its first version

    admin = browser.new_page()
    log_in(admin, live_site, "ops")
    open_incident(admin, live_site, "Linker tasks are not finishing", "We are restarting the workers.", "major")
    admin.click("main button[type=submit]")
    took = wait_for_text(reader, "main", "Linker tasks are not finishing")
    assert reader.inner_text(".banner h1") == "Major Outage"
    assert "Page updated: Major Outage" in reader.inner_text("#live-status")
    print(f"\nincident on the open page after {took:.1f} s")

    with get_session_factory(engine).begin() as session:  # what the runner writes when a check fails
        session.execute(
            update(ServiceState)
            .where(ServiceState.service_id == ids["sefaria-org"])
            .values(status="down", last_status="down", last_checked_at=utcnow(), updated_at=utcnow())
        )
    took = wait_for_text(reader, ".service.status-major_outage .name", "sefaria.org")
    print(f"status change on the open page after {took:.1f} s")
    assert reader.evaluate("window.notReloaded") is True  # updated in place, never reloaded

    reader.click("#live-toggle")
    assert reader.get_attribute("#live-toggle", "aria-pressed") == "true"
    with get_session_factory(engine).begin() as session:
        session.execute(
            update(ServiceState)
            .where(ServiceState.service_id == ids["sefaria-org"])
            .values(status="up", last_status="up", last_checked_at=utcnow() + timedelta(seconds=1))
        )
    reader.wait_for_timeout(4000)
    assert "sefaria.org" in reader.inner_text(".service.status-major_outage .name")  # paused: nothing moved
