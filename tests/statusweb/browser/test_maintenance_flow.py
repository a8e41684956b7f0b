"""An operator plans maintenance in the admin, in Debian's Chromium: a bad form comes
back with its error, a good one is on the public page at once (in the reader's time
too), the service shows Under Maintenance, and "End now" moves it on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from statuscore import utcnow
from tests.statusweb.browser.test_incident_flow import ARTIFACTS, browser, log_in, site  # noqa: F401 (fixtures)
from tests.statusweb.pages import add_services
from tests.statusweb.views.test_admin import add_user

pytestmark = pytest.mark.browser


def test_operator_plans_maintenance_the_public_sees_it_then_it_ends(engine, site, browser):  # noqa: F811
    ids = add_services(engine, ("sefaria.org", "up"), ("Linker", "down"), ("Export", "up"))
    add_user(engine, "ops", "editor")
    page = browser.new_page()
    log_in(page, site, "ops")
    page.click("text=Maintenance")
    page.click("text=Plan maintenance")
    start = utcnow() - timedelta(minutes=1)
    page.fill("input[name=title]", "Linker database upgrade")
    page.fill("textarea[name=description]", "PostgreSQL 15 to 17; the Linker answers slowly or not at all.")
    page.fill("input[name=starts_at]", f"{start:%Y-%m-%dT%H:%M}")
    page.fill("input[name=ends_at]", f"{start - timedelta(hours=1):%Y-%m-%dT%H:%M}")
    page.check(f"input[name=service][value='{ids['linker']}']")
    page.click("main form.form button[type=submit]")
    assert "the end must come after the start" in page.inner_text("main")  # the form, back with its error
    assert page.input_value("input[name=title]") == "Linker database upgrade"
    page.fill("input[name=ends_at]", f"{start + timedelta(hours=2):%Y-%m-%dT%H:%M}")
    page.click("main form.form button[type=submit]")
    assert "In Progress" in page.inner_text("h1").title()

    public = browser.new_page()
    public.goto(f"{site}/")
    assert public.inner_text(".banner h1") == "Under Maintenance"
    section = public.inner_text("section.maintenance-now")
    assert "Linker database upgrade" in section and "Affects: Linker" in section
    assert "(" in public.inner_text("section.maintenance-now .meta")  # the reader's own time, added by script
    assert public.inner_text(".status-under_maintenance .name") == "Linker"
    ARTIFACTS.mkdir(exist_ok=True)
    public.set_viewport_size({"width": 1280, "height": 900})
    public.screenshot(path=str(ARTIFACTS / f"maintenance-desktop-{engine.dialect.name}.png"), full_page=True)
    active = public.request.get(f"{site}/api/v2/scheduled-maintenances/active.json").json()
    assert active["scheduled_maintenances"][0]["status"] == "in_progress"

    page.click("text=End now")
    assert "verifying" in page.inner_text("h1")
    public.wait_for_timeout(1100)  # the page cache holds a page for 1 s here
    public.goto(f"{site}/")
    assert public.inner_text(".banner h1") == "Major Outage"  # Linker still fails: no window hides it now
