"""Component groups on the status page, on both databases: a group's worst status is its
own; a [[group]] table's description is shown and in components.json (Statuspage's
shape: `group: true`, `components`, each member's `group_id`); a group the file starts
closed opens by itself while anything in it is not operational; services without a
group stand on their own; a group dropped from the file goes from the database. In
Debian's Chromium, a closed group opens and closes with a click and passes axe; the live page keeps what the reader opened or closed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from statuscore import Status
from statusweb.models import ServiceGroup, get_session_factory
from tests.statusweb.pages import record_statuses, sync_monitors_toml

MONITORS = """
[[group]]
name = "Texts"
description = "Reading and searching the library"
collapsed = true

[[group]]
name = "APIs"
description = "For developers"
collapsed = true

[[monitor]]
name = "Website"
url = "http://127.0.0.1:9/"
group = "Texts"

[[monitor]]
name = "Search"
url = "http://127.0.0.1:9/search"
group = "Texts"

[[monitor]]
name = "Linker API"
url = "http://127.0.0.1:9/linker"
group = "APIs"

[[monitor]]
name = "MCP Server"
url = "http://127.0.0.1:9/mcp"
group = "APIs"

[[monitor]]
name = "Export"
url = "http://127.0.0.1:9/export"
group = "Jobs"

[[monitor]]
name = "Blog"
url = "http://127.0.0.1:9/blog"
"""
TROUBLED = {
    "website": Status.UP,
    "search": Status.UP,
    "linker-api": Status.DOWN,
    "mcp-server": Status.DEGRADED,
    "export": Status.UP,
    "blog": Status.UP,
}


@pytest.fixture
def grouped(engine, tmp_path):
    path = tmp_path / "monitors.toml"
    sync_monitors_toml(engine, path, MONITORS)
    return path


def groups_on(page) -> dict[str, dict]:
    """Each group's summary on the page, by name: status label, open, description, services."""
    found = {}
    for details in page.html.select("section.services details.group"):
        described = details.select_one(".group-description")
        found[details.select_one("summary h2").text] = {
            "state": details.select_one("summary .state").text,
            "open": details.has_attr("open"),
            "description": described.text if described else "",
            "services": [a.text for a in details.select(".service .name")],
        }
    return found


async def test_each_group_shows_its_worst_status_and_a_closed_one_opens_for_trouble(engine, grouped, make_testapp):
    await record_statuses(engine, grouped, TROUBLED)
    home = make_testapp().get("/")
    assert groups_on(home) == {
        "Texts": {
            "state": "Operational",
            "open": False,  # closed by the file, and nothing in it is wrong
            "description": "Reading and searching the library",
            "services": ["Website", "Search"],
        },
        "APIs": {
            "state": "Major Outage",
            "open": True,  # closed by the file, opened by the outage in it
            "description": "For developers",
            "services": ["Linker API", "MCP Server"],
        },
        "Jobs": {"state": "Operational", "open": True, "description": "", "services": ["Export"]},
    }
    alone = [a.text for a in home.html.select("section.services > ul.service-list .service .name")]
    assert alone == ["Blog"]  # no group: no summary around it


async def test_components_json_has_the_groups_as_statuspage_does(engine, grouped, make_testapp):
    await record_statuses(engine, grouped, TROUBLED)
    components = make_testapp().get("/api/v2/components.json").json["components"]
    by_id = {component["id"]: component for component in components}
    apis = by_id["group-apis"]
    assert apis["group"] is True and apis["components"] == ["linker-api", "mcp-server"]
    assert apis["status"] == "major_outage" and apis["description"] == "For developers"
    assert by_id["group-jobs"]["description"] is None
    assert by_id["linker-api"]["group_id"] == "group-apis" and by_id["blog"]["group_id"] is None


async def test_a_group_dropped_from_the_file_goes_and_a_changed_one_changes(engine, grouped, make_testapp):
    sync_monitors_toml(engine, grouped, MONITORS.replace("For developers", "For people who build on Sefaria"))
    text = MONITORS.replace('[[group]]\nname = "Texts"\ndescription = "Reading and searching the library"\n', "")
    sync_monitors_toml(engine, grouped, text.replace("collapsed = true\n", "", 1))
    with get_session_factory(engine)() as session:
        rows = {row.name: (row.description, row.collapsed) for row in session.scalars(select(ServiceGroup))}
    assert rows == {"APIs": ("For developers", True)}
    await record_statuses(engine, grouped, {"website": Status.UP})
    assert groups_on(make_testapp().get("/"))["Texts"]["open"] is True


@pytest.mark.browser
@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
def test_a_person_opens_and_closes_a_group_and_axe_finds_nothing_serious(engine, grouped, db_url):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from playwright.sync_api import sync_playwright

    from tests.statusweb.browser.test_accessibility import audit
    from tests.statusweb.browser.test_incident_flow import CHROMIUM, FLAGS, serving

    asyncio.run(record_statuses(engine, grouped, TROUBLED))
    with serving(db_url, "1") as site, sync_playwright() as playwright, ThreadPoolExecutor(1) as elsewhere:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 900}, bypass_csp=True)  # for axe
        page.goto(site)
        website = page.locator(".service .name", has_text="Website")
        linker = page.locator(".service .name", has_text="Linker API")
        assert not website.is_visible() and linker.is_visible()
        page.click("details.group summary:has-text('Texts')")
        website.wait_for(state="visible", timeout=5000)
        page.click("details.group summary:has-text('APIs')")
        linker.wait_for(state="hidden", timeout=5000)
        assert audit(page) == []
        # Export goes down: the live page swaps itself in again, and what the reader
        # opened (Texts) and closed (APIs, which the server shows open) stays so.
        elsewhere.submit(asyncio.run, record_statuses(engine, grouped, {"export": Status.DOWN})).result()
        page.locator(".service", has_text="Export").locator(".state", has_text="Major Outage").wait_for(timeout=15000)
        assert website.is_visible() and not linker.is_visible()
        browser.close()
