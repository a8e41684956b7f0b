"""Third-party components (`type = "statuspage"`) through a real runner, on both
databases: the vendors' recorded summary.json on 127.0.0.1, a Slack-shaped receiver
for the alerts. A vendor's row sits in the "Third-party" group after our own, says it
is the vendor's word, and never turns the page's banner; nobody is told of it unless
the monitor says `notify = true`; /api/v2 and the sync agree."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from statuscore.testing import FakeClock
from statusweb.models import Service, get_session_factory
from tests.targets import SlackShapedServer, VendorPages

MONITORS = """
[[alert]]
type = "slack"
name = "oncall"
webhook_url = "{slack}"

[[monitor]]
name = "GitHub"
type = "statuspage"
url = "{vendors}/github"
component = "Git Operations"
retries = 0

[[monitor]]
name = "Website"
url = "{vendors}/stripe/api/v2/summary.json"
retries = 0

[[monitor]]
name = "Cloudflare API"
type = "statuspage"
url = "{vendors}/cloudflare/"
component = "Europe / API"
notify = true
retries = 0
"""


async def run_once(engine, monitors) -> list:
    from statusweb.runner.runner import Runner
    from statusweb.settings import RunnerSettings

    runner = Runner(
        RunnerSettings(database_url="unused", monitors_path=str(monitors)), engine=engine, clock=FakeClock()
    )
    return await runner.run(once=True)


def rows(page) -> dict[str, tuple[str, str, str]]:
    """Each service on the page: (its group, its state, the provider line)."""
    found = {}
    for group in page.html.select("section.services details.group, section.services > ul"):
        title = group.select_one("summary h2")
        for item in group.select("li.service"):
            provider = item.select_one(".third-party")
            found[item.select_one("a.name").text] = (
                title.text if title else "",
                item.select_one(".state").text,
                provider.text if provider else "",
            )
    return found


async def test_a_vendors_outage_is_shown_apart_and_told_only_when_asked(engine, tmp_path, make_testapp):
    pages, slack = VendorPages(), SlackShapedServer()
    monitors = tmp_path / "monitors.toml"
    async with pages.running() as vendors, slack.running() as hook:
        monitors.write_text(MONITORS.format(vendors=vendors, slack=hook))
        first = {result.monitor: result.status.value for result in await run_once(engine, monitors)}
        assert first == {"GitHub": "up", "Website": "up", "Cloudflare API": "down"}
        pages.set_status("github", "Git Operations", "major_outage")
        second = {result.monitor: result for result in await run_once(engine, monitors)}
    assert second["GitHub"].status.value == "down"
    assert second["GitHub"].error == "GitHub reports Git Operations: major outage"
    # Cloudflare's asked to be told (notify = true); GitHub's DOWN goes to nobody
    assert [message["text"] for message in slack.messages if "GitHub" in message["text"]] == []
    told = [message["text"] for message in slack.messages]
    assert len(told) == 1 and "Cloudflare API" in told[0] and "Cloudflare reports API: major outage" in told[0]

    page = make_testapp().get("/")
    assert page.html.select_one(".banner").text.strip().startswith("All Systems Operational")
    assert rows(page) == {
        "Website": ("", "Operational", ""),
        "GitHub": ("Third-party", "Major Outage", "As its provider reports it"),
        "Cloudflare API": ("Third-party", "Major Outage", "As its provider reports it"),
    }
    assert list(rows(page)) == ["Website", "GitHub", "Cloudflare API"]  # our own first
    summary = make_testapp().get("/api/v2/summary.json").json
    assert summary["status"]["indicator"] == "none"
    by_name = {component["name"]: component for component in summary["components"]}
    assert by_name["GitHub"]["status"] == "major_outage"
    assert by_name["Third-party"]["group"] is True
    with get_session_factory(engine)() as session:
        flags = dict(session.execute(select(Service.slug, Service.third_party)).all())
    assert flags == {"github": True, "website": False, "cloudflare-api": True}


async def test_in_spanish_and_hebrew_the_provider_line_is_translated(engine, tmp_path, make_testapp):
    from tests.statusweb.pages import sync_monitors_toml

    sync_monitors_toml(
        engine, tmp_path / "monitors.toml", MONITORS.format(vendors="http://127.0.0.1:9", slack="http://127.0.0.1:9/x")
    )
    app = make_testapp()
    for language, line in (("es", "Según lo informa su proveedor"), ("he", "כפי שהספק שלו מדווח")):
        page = app.get("/", headers={"Accept-Language": language})
        assert [p.text for p in page.html.select(".third-party")] == [line, line]


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
def test_the_group_a_file_names_wins_over_third_party(engine, tmp_path, make_testapp):
    from tests.statusweb.pages import sync_monitors_toml

    text = MONITORS.format(vendors="http://127.0.0.1:9", slack="http://127.0.0.1:9/x")
    sync_monitors_toml(
        engine, tmp_path / "monitors.toml", text.replace("retries = 0\n", 'retries = 0\ngroup = "Vendors"\n', 1)
    )
    groups = {name: group for name, (group, _, _) in rows(make_testapp().get("/")).items()}
    assert groups == {"Website": "", "GitHub": "Vendors", "Cloudflare API": "Third-party"}
