"""axe-core (npm `axe-core`, injected by Playwright into Debian's Chromium) finds no
serious or critical violation on the public pages and every admin page, at desktop
(1280 px) and phone (390 px) widths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.statusweb.api.test_open_interfaces import add_maintenance
from tests.statusweb.browser.test_incident_flow import browser, log_in, site  # noqa: F401 (fixtures)
from tests.statusweb.pages import add_daily_uptime, add_incident, add_services
from tests.statusweb.views.test_admin import add_user

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "js" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)


def audit(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: make test installs it (npm ci --prefix tests/js)")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "where": [node["target"] for node in v["nodes"]][:3],
        }
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def a_troubled_day(engine) -> None:
    """Every colour the page has: up, down and degraded services, a major incident, maintenance."""
    ids = add_services(engine, ("sefaria.org", "up"), ("Linker", "down"), ("MCP Server", "degraded"))
    add_daily_uptime(engine, ids["sefaria-org"], days=40, up=1430, down=10)
    add_incident(engine, "Linker tasks stuck", impact="major", affected={ids["linker"]: "major_outage"})
    add_maintenance(engine)


def audit_every_width(page, url: str, label: str, problems: dict) -> None:
    """Audit `url` at each width into `problems` under `label @width`."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        problems[f"{label} @{width}"] = audit(page)


def add_page_with_an_unproven_domain(engine) -> int:
    """A second page whose domain waits for its DNS proof (its edit screen shows the record)."""
    from statuscore import utcnow
    from statusweb.models import Page, get_session_factory
    from statusweb.services.domain_checks import set_domain
    from statusweb.services.organizations import organization_named

    now = utcnow()
    with get_session_factory(engine).begin() as session:
        organization = organization_named(session, "default", now)  # root owns it
        page = Page(slug="partners", name="Partners", organization_id=organization.id, created_at=now, updated_at=now)
        set_domain(page, "status.partners.example.org", now=now)
        session.add(page)
        session.flush()
        return page.id


def test_no_serious_or_critical_violation_on_any_page(engine, site, browser):  # noqa: F811
    ids = add_services(engine, ("sefaria.org", "up"), ("Linker", "down"), ("MCP Server", "degraded"), ("Export", ""))
    add_daily_uptime(engine, ids["sefaria-org"], days=40, up=1430, down=10)
    incident = add_incident(engine, "Linker tasks stuck", impact="major", affected={ids["linker"]: "major_outage"})
    add_incident(engine, "Old export delay", status="resolved")
    add_maintenance(engine)
    add_user(engine, "root", "admin")
    waiting = add_page_with_an_unproven_domain(engine)
    public = ["/", "/history", "/services/sefaria-org", f"/incidents/{incident}", "/subscribe", "/admin/login"]
    admin = [
        "/admin",
        "/admin/incidents",
        "/admin/incidents/new",
        f"/admin/incidents/{incident}",
        "/admin/maintenance",
        "/admin/maintenance/new",
        f"/admin/services/{ids['linker']}",
        "/admin/sla",
        "/admin/checks",
        "/admin/users",
        "/admin/subscribers",
        "/admin/sessions",
        "/admin/2fa",
        "/admin/pages",
        f"/admin/pages/{waiting}",
    ]
    page = browser.new_page(bypass_csp=True)  # our CSP forbids injected scripts, axe's included
    problems = {}
    for path in public:
        audit_every_width(page, f"{site}{path}", path, problems)
        assert page.locator("h1").count() == 1, f"{path}: one h1 per page"
    log_in(page, site, "root")
    for path in admin:
        audit_every_width(page, f"{site}{path}", path, problems)
        assert page.locator("h1").count() == 1, f"{path}: one h1 per page (not a 404)"
    assert "_statusweb.status.partners.example.org" in page.content()
    failing = {where: found for where, found in problems.items() if found}
    print(f"\naxe-core: {len(problems)} page audits, {len(failing)} with serious or critical violations")
    assert not failing, json.dumps(failing, indent=1)[:6000]


def test_a_days_details_open_on_hover_focus_and_tap(engine, site, browser):  # noqa: F811
    ids = add_services(engine, ("sefaria.org", "up"))
    add_daily_uptime(engine, ids["sefaria-org"], days=5, up=1430, down=10)
    add_incident(engine, "Search is slow", impact="minor", affected={ids["sefaria-org"]: "degraded_performance"})
    page = browser.new_page()
    page.goto(f"{site}/")
    today = page.locator(".bars .bar").last
    today.focus()  # the bar's one tab stop
    assert page.is_visible("#bar-tip") and "Incident (minor): Search is slow" in page.inner_text("#bar-tip")
    page.keyboard.press("ArrowLeft")
    assert "0.69% down" not in page.inner_text("#bar-tip") and "10 min down" in page.inner_text("#bar-tip")
    page.keyboard.press("Escape")
    assert not page.is_visible("#bar-tip")
    page.locator(".bars .bar").nth(80).hover()
    assert page.is_visible("#bar-tip") and "no data" in page.inner_text("#bar-tip")
    phone = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True)
    phone.goto(f"{site}/")
    phone.locator(".bars .bar").last.tap()
    assert phone.is_visible("#bar-tip") and "Search is slow" in phone.inner_text("#bar-tip")


def test_dark_mode_is_readable_too(engine, site, browser):  # noqa: F811
    from tests.statusweb.browser.test_incident_flow import ARTIFACTS

    a_troubled_day(engine)
    page = browser.new_page(color_scheme="dark", bypass_csp=True)
    problems = {}
    for path in ("/", "/history", "/services/sefaria-org"):
        audit_every_width(page, f"{site}{path}", f"dark {path}", problems)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(3, 7, 18)"  # the dark palette is in use
    page.goto(f"{site}/")
    page.set_viewport_size({"width": 1280, "height": 900})
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"status-dark-{engine.dialect.name}.png"), full_page=True)
    assert not {where: found for where, found in problems.items() if found}


BANNERS = [  # (the banner's words, the one service's last check, an active incident's impact)
    ("All Systems Operational", "up", None),
    ("Degraded Performance", "degraded", None),
    ("Partial Outage", "up", "minor"),
    ("Major Outage", "down", None),
    ("Under Maintenance", "maintenance", None),
]


def test_every_banner_state_is_readable_in_light_and_dark(engine, db_url, browser):  # noqa: F811
    """Issue 30: "Updated 7 s ago" on the green banner was 4.38:1 and no fixture ever
    showed the all-green page. Each banner the page can show, each width, both schemes."""
    from sqlalchemy import update

    from statusweb.models import Incident, ServiceState, get_session_factory
    from tests.statusweb.browser.test_incident_flow import serving

    ids = add_services(engine, ("sefaria.org", "up"))
    problems = {}
    with serving(db_url, "0") as site:
        for words, checked, impact in BANNERS:
            with get_session_factory(engine).begin() as session:
                session.execute(update(ServiceState).values(last_status=checked, status=checked))
                session.execute(update(Incident).values(status="resolved"))
            if impact:
                add_incident(
                    engine, f"{impact} trouble", impact=impact, affected={ids["sefaria-org"]: "partial_outage"}
                )
            for scheme in ("light", "dark"):
                page = browser.new_page(color_scheme=scheme, bypass_csp=True)
                audit_every_width(page, f"{site}/", f"{words} ({scheme})", problems)
                assert page.inner_text(".banner h1") == words
                assert page.locator(".banner .updated").count() == 1  # the line the audit missed
                page.close()
    failing = {where: found for where, found in problems.items() if found}
    assert not failing, json.dumps(failing, indent=1)[:6000]


def test_dangerous_admin_buttons_ask_first(engine, site, browser):  # noqa: F811
    incident = add_incident(engine, "Posted by mistake")
    add_user(engine, "root", "admin")
    page = browser.new_page()
    log_in(page, site, "root")
    page.goto(f"{site}/admin/incidents/{incident}")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("button.danger")
    assert asked and "cannot be undone" in asked[0]
    assert page.url.endswith(f"/admin/incidents/{incident}")  # said no: still there
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button.danger")
    page.wait_for_url(f"{site}/admin/incidents")
    assert "Posted by mistake" not in page.inner_text("main")


def test_hebrew_right_to_left_is_readable_too(engine, site, browser):  # noqa: F811
    from tests.statusweb.browser.test_incident_flow import ARTIFACTS

    a_troubled_day(engine)
    page = browser.new_page(locale="he-IL", bypass_csp=True)
    problems = {}
    for path in ("/", "/history", "/services/sefaria-org", "/subscribe"):
        audit_every_width(page, f"{site}{path}", f"he {path}", problems)
        assert page.get_attribute("html", "dir") == "rtl"
    page.goto(f"{site}/")
    assert page.inner_text(".banner h1") == "השבתה מלאה"
    for width, name in ((1280, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"status-hebrew-{name}-{engine.dialect.name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.click("text=English")
    assert page.get_attribute("html", "dir") == "ltr" and page.inner_text(".banner h1") == "Major Outage"
    assert not {where: found for where, found in problems.items() if found}
