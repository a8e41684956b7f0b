"""What the public page says (issue 30, point 6), through webtest on both databases with
results recorded by the runner's store: a `public = false` monitor is checked and shown
in the admin but is on no status page, JSON, badge or subscription form; a certificate
expiring soon is DEGRADED in the admin (and alerts) but operational on the page, unless
the monitor says `public_degraded = true`."""

from __future__ import annotations

import pytest

from statuscore import ConfigError, MonitorState, Status, load_config, utcnow
from tests.statusweb.helpers import result
from tests.statusweb.pages import sync_monitors_toml
from tests.statusweb.views.test_admin import add_user, login

MONITORS = """
[[monitor]]
name = "Website"
url = "http://127.0.0.1:9/"

[[monitor]]
name = "Nightly Export DB"
url = "http://127.0.0.1:9/db"
public = false

[[monitor]]
name = "Certificate"
type = "tls_cert"
host = "127.0.0.1"
"""


async def record(engine, statuses: dict[str, Status]) -> None:
    from statusweb.runner.sql_store import SqlStore

    store = SqlStore(engine)
    store.sync_services(load_config(store_path.path, env={}).monitors)
    for slug, status in statuses.items():
        checked = result(
            slug, status, utcnow(), error="certificate expires in 10 days" if slug == "certificate" else None
        )
        await store.record(checked, MonitorState(status=status, last_result=checked), [], [])
    await store.close()


class store_path:  # the monitors.toml each test wrote (record() syncs it as a runner would)
    path = None


@pytest.fixture
def monitors(engine, tmp_path):
    def write(text: str = MONITORS):
        store_path.path = tmp_path / "monitors.toml"
        sync_monitors_toml(engine, store_path.path, text)

    return write


async def test_a_private_monitor_and_an_expiring_certificate_stay_off_the_public_banner(engine, monitors, make_testapp):
    monitors()
    await record(engine, {"website": Status.UP, "nightly-export-db": Status.DOWN, "certificate": Status.DEGRADED})
    app = make_testapp()
    home = app.get("/")
    assert home.html.select_one(".banner h1").text == "All Systems Operational"
    assert "Nightly Export DB" not in home.text
    cert = next(head for head in home.html.select(".service-head") if "Certificate" in head.text)
    assert cert.select_one(".state").text == "Operational"
    summary = app.get("/api/v2/summary.json").json
    assert summary["status"]["indicator"] == "none"
    assert {c["name"] for c in summary["components"]} == {"Website", "Certificate"}
    assert {c["name"] for c in app.get("/api/v2/components.json").json["components"]} == {"Website", "Certificate"}
    for path in (
        "/services/nightly-export-db",
        "/badge/nightly-export-db/status.svg",
        "/history.atom?service=nightly-export-db",
    ):
        app.get(path, status=404)
    assert "Nightly Export DB" not in app.get("/subscribe").text
    add_user(engine, "root", "admin")
    login(app, "root")
    dashboard = app.get("/admin").text
    assert "Nightly Export DB" in dashboard and "(not on status pages)" in dashboard
    assert "(status pages show it operational)" in dashboard


async def test_the_operator_may_show_a_certificate_warning_publicly(engine, monitors, make_testapp):
    monitors(MONITORS.replace('host = "127.0.0.1"', 'host = "127.0.0.1"\npublic_degraded = true'))
    await record(engine, {"website": Status.UP, "certificate": Status.DEGRADED})
    home = make_testapp().get("/")
    assert home.html.select_one(".banner h1").text == "Degraded Performance"


async def test_a_public_monitor_made_private_leaves_the_page_and_comes_back(engine, monitors, make_testapp):
    monitors()
    await record(engine, {"website": Status.UP})
    monitors(MONITORS.replace("public = false", "public = true"))
    assert "Nightly Export DB" in make_testapp().get("/").text
    monitors()
    assert "Nightly Export DB" not in make_testapp().get("/").text


@pytest.mark.parametrize("value", ['"no"', "0", '"false"'])
def test_public_takes_true_or_false_and_the_error_names_monitor_and_key(tmp_path, value):
    path = tmp_path / "monitors.toml"
    path.write_text(f'[[monitor]]\nname = "DB"\nurl = "http://127.0.0.1:9/"\npublic = {value}\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    assert raised.value.monitor == "DB" and raised.value.key == "public" and str(path) in str(raised.value)


async def test_todays_bar_shows_the_first_checks_at_once_not_a_minute_later(engine, monitors, make_testapp):
    """Issue 30, point 8: with histories kept a minute (the default), a page rendered
    before the first check said "no data" for that minute although checks passed."""
    monitors()
    app = make_testapp(**{"statusweb.history_seconds": "60"})
    website = lambda: next(li for li in app.get("/").html.select("li.service") if "Website" in li.text)  # noqa: E731
    assert "30 days: no data" in website().select_one(".uptime").text
    await record(engine, {"website": Status.UP})
    assert "30 days: 100.00%" in website().select_one(".uptime").text
