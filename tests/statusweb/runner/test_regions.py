"""Monitors checked from several regions: the vote count, who decides, and two runners in
two network namespaces (one cannot reach the target) on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import ServiceState, get_session_factory
from statusweb.pages.queries import silent_regions
from statusweb.runner.leases import LeaseBook
from tests.statusweb.helpers import wait_for
from tests.statusweb.runner.test_cluster import GatedTarget
from tests.statusweb.runner.test_leases import add_services, silence
from tests.statusweb.runner.test_outage import CuttableProxy
from tests.statusweb.runner.test_runner import RunnerProcess
from tests.targets import SlackShapedServer

on_postgresql = pytest.mark.parametrize("migrated_engine", ["postgresql"], indirect=True)


def eu_and_us(engine) -> tuple[int, LeaseBook, LeaseBook]:
    """A monitor checked from eu then us, and a member in each region holding its lease there."""
    (sid,) = add_services(engine, 1)
    eu = LeaseBook(engine, ttl=20, region="eu", member="eu-1")
    us = LeaseBook(engine, ttl=20, region="us", member="us-1")
    for book in (eu, us):
        book.join([sid], {sid: ("eu", "us")})
    for book in (eu, us, eu, us):
        book.rebalance()
    return sid, eu, us


@on_postgresql
def test_the_first_listed_region_with_a_live_runner_decides(engine):
    sid, eu, us = eu_and_us(engine)
    assert set(eu.held) == set(us.held) == {sid}  # one lease per region
    assert eu.deciding == {sid} and us.deciding == set()
    assert silent_regions(engine, 20) == {}
    silence(engine, "eu-1", 25)
    change = us.rebalance()
    assert change.now_deciding == {sid} and us.deciding == {sid}
    assert silent_regions(engine, 20) == {"eu": 1}
    with get_session_factory(engine)() as session:  # eu's late state write is refused
        assert eu.fence(session, [sid]) == ({sid}, set())


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


NETS = {"eu": ("10.231.1.1", "10.231.1.2"), "us": ("10.231.2.1", "10.231.2.2")}


@pytest.fixture
def two_regions():
    """Two network namespaces, each joined to this host by a veth pair: eu can reach
    10.231.1.1 (where the target listens), us only 10.231.2.1. Skips, saying why, where
    namespaces cannot be made (not root, no iproute2, no permission)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2's `ip`: the two-region part cannot run here")
    tag = str(os.getpid() % 100000)
    made: list[tuple[str, str]] = []
    try:
        for region, (host_ip, inside_ip) in NETS.items():
            _clear_address(host_ip)
            namespace, outside, inside = f"sw{tag}{region}", f"swh{tag}{region}", f"swn{tag}{region}"
            _ip("netns", "add", namespace)
            made.append((namespace, outside))
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", namespace)
            _ip("addr", "add", f"{host_ip}/24", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("netns", "exec", namespace, "ip", "addr", "add", f"{inside_ip}/24", "dev", inside)
            _ip("netns", "exec", namespace, "ip", "link", "set", inside, "up")
            _ip("netns", "exec", namespace, "ip", "link", "set", "lo", "up")
    except subprocess.CalledProcessError as exc:
        _remove(made)
        pytest.skip(
            f"cannot make network namespaces here ({exc.stderr.decode().strip()}): the two-region part cannot run"
        )
    yield {region: f"sw{tag}{region}" for region in NETS}
    _remove(made)


def _clear_address(address: str) -> None:
    """A run that was killed may have left a veth holding our address: remove it."""
    shown = subprocess.run(["ip", "-o", "addr", "show", "to", address], capture_output=True, text=True, timeout=10)
    for line in shown.stdout.splitlines():
        subprocess.run(["ip", "link", "del", line.split()[1]], capture_output=True, timeout=10)


def _remove(made: list[tuple[str, str]]) -> None:
    for namespace, outside in made:
        subprocess.run(["ip", "link", "del", outside], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)


def write_region_config(tmp_path, db_url, target: str, hook: str) -> dict[str, str]:
    monitors = tmp_path / "monitors.toml"
    monitors.write_text(f'''status_page_url = "https://status.test"
[[alert]]
type = "slack"
webhook_url = "{hook}"

[[monitor]]
name = "Site"
url = "{target}/m/site"
interval = "1s"
timeout = "0.8s"
retries = 0
regions = ["eu", "us"]
quorum = 2
''')
    inis = {}
    for region, url in db_url.items():
        ini = tmp_path / f"{region}.ini"
        ini.write_text(
            f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {url}\n"
            f"statuscore.monitors = {monitors}\nstatusweb.heartbeat_interval = 0.5\n"
        )
        inis[region] = str(ini)
    return inis


@pytest.mark.slow
@on_postgresql
async def test_one_region_cut_off_pages_nobody_both_down_pages_once_a_lost_region_is_told(
    engine, tmp_path, two_regions, runner_processes
):
    gated = GatedTarget()
    slack = SlackShapedServer()
    proxies = {region: CuttableProxy(engine.url.port or 5432, listen=NETS[region][0]) for region in NETS}
    for proxy in proxies.values():
        await proxy.restore()
    urls = {
        region: engine.url.set(host=NETS[region][0], port=proxy.port).render_as_string(hide_password=False)
        for region, proxy in proxies.items()
    }
    try:
        async with serve_app_on(gated, NETS["eu"][0]) as target, slack.running(host=NETS["eu"][0]) as hook:
            inis = write_region_config(tmp_path, urls, target, hook)
            runners = {
                region: RunnerProcess(
                    inis[region],
                    hook,
                    tmp_path / f"{region}.log",
                    prefix=("ip", "netns", "exec", two_regions[region]),
                    env={"STATUSWEB_REGION": region},
                )
                for region in NETS
            }
            runner_processes.extend(runners.values())
            for runner in runners.values():
                await runner.start()

            def state():
                with get_session_factory(engine)() as session:
                    return session.execute(select(ServiceState.status, ServiceState.last_error)).first()

            # us cannot reach the target: one region of two sees it down. Nobody is paged.
            await wait_for(lambda: (s := state()) and s.last_error and "us: down" in s.last_error, 30)
            await asyncio.sleep(3)
            assert state().status == "up"
            assert slack.messages == []

            # The target fails for eu too: two of two, DOWN, one alert naming both regions.
            gated.down = {"site"}
            await wait_for(lambda: slack.messages, 15)
            assert state().status == "down"
            gated.down = set()
            await wait_for(lambda: len(slack.messages) >= 2, 15)

            # us loses its runner: told once; once its last vote is too old to count, us is
            # unknown, so eu alone pages nobody.
            await runners["us"].kill()
            await wait_for(lambda: len(slack.messages) >= 3, 15)
            await wait_for(lambda: (s := state()) and "us: unknown" in (s.last_error or ""), 15)
            gated.down = {"site"}
            await wait_for(lambda: (s := state()) and "eu: down" in (s.last_error or ""), 10)
            await asyncio.sleep(2)
            assert state().status == "up" and len(slack.messages) == 3
            gated.down = set()
            await runners["us"].start()
            await wait_for(lambda: len(slack.messages) >= 4, 15)
            await asyncio.sleep(2)  # room for a duplicate
            for runner in runners.values():
                assert await runner.stop() == 0
    finally:
        for proxy in proxies.values():
            await proxy.cut()
    titles = [m["text"].split(" (", 1)[0] for m in slack.messages]
    assert titles == [
        "🔴  Service Down: Site",
        "🟢  Service Recovered: Site",
        "🟠  No Runner In Region: Region us",
        "🟢  Runner Back In Region: Region us",
    ]
    assert "eu: down" in slack.messages[0]["text"] and "us: down" in slack.messages[0]["text"]
    assert "start a runner with STATUSWEB_REGION=us" in slack.messages[2]["text"]


def serve_app_on(gated: GatedTarget, host: str):
    from statuscore.testing import serve_app

    return serve_app(gated.app, host=host)


@on_postgresql
def test_the_admin_and_healthz_report_runners_regions_and_what_each_region_saw(engine, testapp):
    from statusweb.models import RegionObservation, RunnerHeartbeat
    from tests.statusweb.pages import add_services as add_named_services
    from tests.statusweb.views.test_admin import add_user, login

    ids = add_named_services(engine, ("Site", "up"))
    now = utcnow()
    with get_session_factory(engine).begin() as session:
        session.add(
            RunnerHeartbeat(name="runner", holder="eu-host:1", started_at=now, beat_at=now, interval_s=10, monitors=1)
        )
        session.add(
            RegionObservation(
                service_id=ids["site"],
                region="us",
                status="down",
                checked_at=now,
                latency_ms=0,
                error="cannot connect to 10.0.0.1:80",
            )
        )
    eu = LeaseBook(engine, ttl=20, region="eu", member="eu-host:1:aa")
    eu.join([ids["site"]], {ids["site"]: ("eu", "us")})
    eu.rebalance()
    assert testapp.get("/healthz", status=503).text == (
        "region us: no live runner; 1 monitors are not checked from there (counted as unknown)\n"
    )
    add_user(engine, "ann", "admin")
    login(testapp, "ann")
    dashboard = testapp.get("/admin").html
    text = " ".join(dashboard.get_text().split())
    assert "eu-host:1:aa (region eu, 0 monitors)" in text or "eu-host:1:aa (region eu, 1 monitors)" in text
    assert "Region us has no live runner: 1 monitors are not checked from there" in text
    service = " ".join(testapp.get(f"/admin/services/{ids['site']}").html.get_text().split())
    assert "What each region saw last" in service and "cannot connect to 10.0.0.1:80" in service
    public = testapp.get("/services/site")
    assert " ".join(public.html.select_one("p.regions").get_text().split()) == "Checked from us: Major Outage"
    assert "10.0.0.1" not in public.text  # what a region saw, never its raw error, on a public page
    hebrew = testapp.get("/services/site", headers={"Accept-Language": "he"})
    assert "נבדק מהאזורים" in hebrew.text
    us = LeaseBook(engine, ttl=20, region="us", member="us-host:2:bb")
    us.join([ids["site"]], {ids["site"]: ("eu", "us")})
    us.rebalance()
    assert testapp.get("/healthz").text.startswith("ok")


def test_a_bad_region_setting_names_the_key(tmp_path):
    from statusweb.settings import RunnerSettings

    base = {"sqlalchemy.url": "sqlite://", "statuscore.monitors": "m.toml"}
    with pytest.raises(ValueError, match="statusweb.region .STATUSWEB_REGION. must be a short name"):
        RunnerSettings.from_settings({**base, "statusweb.region": "EU West ☃"})
    assert RunnerSettings.from_settings({**base, "statusweb.region": "eu-west"}).region == "eu-west"


@on_postgresql
def test_a_region_without_a_runner_is_told_once_per_episode_whoever_tells(engine):
    from statusweb.runner import region_alerts

    sid, eu, us = eu_and_us(engine)
    told: list[tuple[str, str, int]] = []

    def render(region, kind, count, since):
        told.append((region, kind, count))
        return []

    assert region_alerts.evaluate(engine, 20, utcnow(), render) == [] and told == []
    silence(engine, "us-1", 25)
    region_alerts.evaluate(engine, 20, utcnow(), render)
    region_alerts.evaluate(engine, 20, utcnow(), render)  # a second leader, or the next round: nothing new
    assert told == [("us", "lost", 1)]
    us.rebalance()
    region_alerts.evaluate(engine, 20, utcnow(), render)
    region_alerts.evaluate(engine, 20, utcnow(), render)
    assert told == [("us", "lost", 1), ("us", "back", 1)]
