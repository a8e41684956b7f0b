"""`depends_on` on the status pages and in a runner that shares monitors, on both
databases: beside a service that is down with what it needs the page says "Affected by
Database" (in the reader's language; a need kept off the pages is not named); a service
up, or down while what it needs is up, says nothing; and a runner reads the state of a
needed monitor another runner checks, so its alerts can say so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from statuscore import MonitorState, Scheduler, Status
from statusweb.models import Service, get_session_factory
from tests.statusweb.pages import record_statuses, sync_monitors_toml

MONITORS = """
[[monitor]]
name = "Database"
url = "http://127.0.0.1:9/db"

[[monitor]]
name = "Queue"
url = "http://127.0.0.1:9/queue"
public = false

[[monitor]]
name = "Website"
url = "http://127.0.0.1:9/"
depends_on = ["Database"]

[[monitor]]
name = "Linker API"
url = "http://127.0.0.1:9/linker"
depends_on = ["database", "Queue"]

[[monitor]]
name = "Export"
url = "http://127.0.0.1:9/export"
depends_on = ["Queue"]

[[monitor]]
name = "Search"
url = "http://127.0.0.1:9/search"
depends_on = ["Database"]
"""


@pytest.fixture
def monitors_file(engine, tmp_path):
    path = tmp_path / "monitors.toml"
    sync_monitors_toml(engine, path, MONITORS)
    return path


def affected(page) -> dict[str, str]:
    """Each service's "affected by" line on a page, by service name."""
    found = {}
    for item in page.html.select("li.service"):
        line = item.select_one(".affected")
        if line is not None:
            found[item.select_one(".name").text] = line.text
    return found


async def test_the_page_says_what_a_down_service_is_affected_by(engine, monitors_file, make_testapp):
    await record_statuses(
        engine,
        monitors_file,
        {
            "database": Status.DOWN,
            "queue": Status.DOWN,
            "website": Status.DOWN,
            "linker-api": Status.DOWN,
            "export": Status.DOWN,
            "search": Status.UP,
        },
    )
    with get_session_factory(engine)() as session:
        needs = {slug: needed for slug, needed in session.execute(select(Service.slug, Service.depends_on_slugs))}
    assert needs["linker-api"] == "database queue" and needs["database"] == ""
    app = make_testapp()
    home = app.get("/")
    assert affected(home) == {
        "Website": "Affected by Database",
        "Linker API": "Affected by Database",  # the queue is not public: not named twice
        "Export": "Affected by a service it depends on",
    }
    assert "Queue" not in home.text
    service = app.get("/services/website")
    assert service.html.select_one(".affected").text == "Affected by Database"
    app.set_cookie("lang", "he")
    hebrew = app.get("/services/export")
    assert hebrew.html.select_one(".affected").text == "מושפע מתקלה בשירות שהוא תלוי בו"


async def test_nothing_is_said_while_what_a_service_needs_is_up(engine, monitors_file, make_testapp):
    await record_statuses(engine, monitors_file, {"database": Status.UP, "queue": Status.UP, "website": Status.DOWN})
    home = make_testapp().get("/")
    assert affected(home) == {}
    await record_statuses(engine, monitors_file, {"database": Status.DOWN, "website": Status.UP, "search": Status.DOWN})
    assert affected(make_testapp().get("/")) == {"Search": "Affected by Database"}


async def test_a_dependency_dropped_from_the_file_is_dropped_from_the_page(engine, monitors_file, make_testapp):
    await record_statuses(engine, monitors_file, {"database": Status.DOWN, "website": Status.DOWN})
    sync_monitors_toml(engine, monitors_file, MONITORS.replace('depends_on = ["Database"]\n', "", 1))
    assert affected(make_testapp().get("/")) == {}


@pytest.mark.parametrize("migrated_engine", ["postgresql"], indirect=True)
async def test_a_runner_reads_the_state_of_a_needed_monitor_another_runner_checks(engine, monitors_file):
    """The runner checks only Website here; Database, which it needs, is another
    runner's: its saved DOWN reaches this runner's notifier within a duty round."""
    from statusweb.runner.runner import Runner
    from statusweb.settings import RunnerSettings

    await record_statuses(engine, monitors_file, {"database": Status.DOWN, "search": Status.UP, "website": Status.DOWN})
    runner = Runner(RunnerSettings(database_url="unused", monitors_path=str(monitors_file)), engine=engine)
    assert runner.sharing is not None
    assert runner.sharing.related == {"database", "queue", "website", "linker-api", "export", "search"}
    runner.store.sync_services(runner.config.monitors)
    runner.scheduler = Scheduler(runner.config.monitors, states_elsewhere=runner.sharing.state_elsewhere)
    runner.scheduler.assign(["website"])
    runner.scheduler.states["website"] = MonitorState(status=Status.UP)
    await runner.sharing.read_related_states()
    database = runner.scheduler.state_of("database")
    assert database is not None and database.status is Status.DOWN
    assert runner.scheduler.state_of("search").status is Status.UP
    assert runner.scheduler.state_of("website").status is Status.UP  # its own, not the saved one
    assert "website" not in runner.sharing.states_elsewhere
    assert runner.scheduler.state_of("queue") is None  # never checked yet
