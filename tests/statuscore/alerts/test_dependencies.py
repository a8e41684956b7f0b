"""Monitors that depend on others (`depends_on`): when Database goes down and Website,
API and Export with it, Slack gets one message naming them all; a dependent that fails
while Database is up alerts as ever; a dependent that goes down later says why; a
recovery is never held back and names what is still down. Real checks against a local
target, a local Slack-shaped receiver and PagerDuty-shaped one, virtual time."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import pytest

from statuscore import ConfigError, MemoryStore, Scheduler, load_config, make_monitor, no_jitter
from statuscore.alerts.pagerduty import PagerDutyConfig, PagerDutySink
from statuscore.alerts.slack import SlackConfig, SlackSink
from statuscore.alerts.webhook import WebhookConfig, WebhookSink
from statuscore.dependencies import Dependencies
from statuscore.testing import FakeClock, serve_app
from tests.statuscore.alerts.test_routing import ROUTING_KEY, Receiver
from tests.targets import SEQUENCES, SlackShapedServer

CHILDREN = ["Website", "API", "Export"]


def write(tmp_path, text: str) -> str:
    path = tmp_path / "monitors.toml"
    path.write_text(text)
    return str(path)


def monitors_toml(database: str = "", **children: str) -> str:
    text = f'[[monitor]]\nname = "Database"\nurl = "http://127.0.0.1:9/"\n{database}\n'
    for name, extra in children.items():
        text += f'[[monitor]]\nname = "{name}"\nurl = "http://127.0.0.1:9/"\n{extra}\n'
    return text


# -- the file -----------------------------------------------------------------------------


def test_depends_on_takes_names_or_slugs_and_keeps_slugs(tmp_path):
    config = load_config(
        write(tmp_path, monitors_toml(Website='depends_on = "Database"', API='depends_on = ["database", "website"]'))
    )
    by_name = {monitor.name: monitor for monitor in config.monitors}
    assert by_name["Website"].depends_on == ("database",)
    assert by_name["API"].depends_on == ("database", "website")
    assert by_name["Database"].depends_on == ()
    dependencies = Dependencies(config.monitors)
    assert dependencies.descendants("Database") == ["Website", "API"]
    assert dependencies.parents("API") == ("Database", "Website")


@pytest.mark.parametrize(
    ("children", "message"),
    [
        (
            {"Website": 'depends_on = ["Databse"]'},
            "monitor 'Website': key 'depends_on[0]': no monitor is named 'Databse'",
        ),
        (
            {"Website": 'depends_on = ["Website"]'},
            "monitor 'Website': key 'depends_on': a cycle of dependencies: Website -> Website",
        ),
        (
            {"Website": 'depends_on = ["API"]', "API": 'depends_on = ["Export"]', "Export": 'depends_on = ["website"]'},
            "key 'depends_on': a cycle of dependencies: Website -> API -> Export -> Website",
        ),
        ({"Website": 'depends_on = [["Database"]]'}, "monitor 'Website': key 'depends_on"),
        ({"Website": "depends_on = [1]"}, "monitor 'Website': key 'depends_on"),
        ({"Website": 'depends_on = ["\\r\\nDatabase\\u0000"]'}, "no monitor is named"),
    ],
)
def test_a_wrong_dependency_is_named_by_file_monitor_and_key(tmp_path, children, message):
    path = write(tmp_path, monitors_toml(**children))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(path)
    assert message in str(error.value)


def test_a_dependency_in_defaults_makes_the_monitor_it_names_a_cycle_unless_it_says_otherwise(tmp_path):
    text = '[defaults]\ndepends_on = ["Database"]\n' + monitors_toml(Website="")
    with pytest.raises(ConfigError, match="monitor 'Database': key 'depends_on': a cycle"):
        load_config(write(tmp_path, text))
    text = '[defaults]\ndepends_on = ["Database"]\n' + monitors_toml("depends_on = []", Website="")
    config = load_config(write(tmp_path, text))
    assert [m.depends_on for m in config.monitors] == [(), ("database",)]


# -- the alerts ---------------------------------------------------------------------------


def texts(slack: SlackShapedServer) -> list[str]:
    return [message["text"] for message in slack.messages]


@asynccontextmanager
async def watched(base: str, *sinks, database: dict | None = None, store=None):
    """Database and three monitors that need it, each a /sequence/ of the local target."""
    clock = FakeClock()
    monitors = [make_monitor(name="Database", url=f"{base}/sequence/database", retries=0, **(database or {}))]
    monitors += [
        make_monitor(name=name, url=f"{base}/sequence/{name.lower()}", retries=0, depends_on=["Database"])
        for name in CHILDREN
    ]
    scheduler = Scheduler(
        monitors, sinks=list(sinks), store=store or MemoryStore(), clock=clock, alert_jitter=no_jitter
    )
    try:
        yield scheduler, clock
    finally:
        await scheduler.close()


@asynccontextmanager
async def on_slack(base: str, **database):
    """`watched` telling a local Slack-shaped receiver; yields (scheduler, clock, slack)."""
    slack = SlackShapedServer()
    async with slack.running() as hook:
        sink = SlackSink(SlackConfig(webhook_url=hook), instance_name="slack")
        async with watched(base, sink, database=database or None) as (scheduler, clock):
            yield scheduler, clock, slack


async def settle(scheduler: Scheduler, clock: FakeClock, rounds: int = 20) -> None:
    """Deliver until nothing is pending, moving virtual time to each retry or hold."""
    for _ in range(rounds):
        wait = await scheduler.notifier.deliver_due()
        if not await scheduler.store.pending_alerts(clock.now()):
            return
        clock.advance(wait or 1.0)
    raise AssertionError("alerts still pending")


def fail(app, *names: str, code: int = 503) -> None:
    for name in names:
        app[SEQUENCES][name.lower()] = [code]


async def test_a_parent_and_three_dependents_down_together_are_one_message_and_recover_one_by_one(target):
    base, app = target
    async with on_slack(base) as (scheduler, clock, slack):
        await scheduler.check_once()
        await settle(scheduler, clock)
        assert slack.messages == []  # all up: nothing to say
        fail(app, "Database", *CHILDREN)
        await scheduler.check_once()
        await settle(scheduler, clock)
        assert len(slack.messages) == 1, texts(slack)
        (text,) = texts(slack)
        assert text.startswith("🔴  Service Down: Database")
        assert "Also affected: Website, API, Export (they depend on Database)" in text
        assert "Also affected" in json.dumps(slack.messages[0]["blocks"], ensure_ascii=False)
        fail(app, "Database", *CHILDREN, code=200)
        clock.advance(60)
        await scheduler.check_once()
        await settle(scheduler, clock)
    recoveries = texts(slack)[1:]
    assert [t.split("\n")[0].split(" (")[0] for t in recoveries] == [
        f"🟢  Service Recovered: {name}" for name in ["Database", *CHILDREN]
    ]
    assert not any("Still down" in t for t in recoveries)


async def test_a_dependent_failing_while_its_parent_is_up_alerts_at_once_as_usual(target):
    base, app = target
    async with on_slack(base) as (scheduler, clock, slack):
        await scheduler.check_once()
        fail(app, "API")
        await scheduler.check_once()
        assert await scheduler.notifier.deliver_due() is None  # nothing held
        fail(app, "API", code=200)
        clock.advance(60)
        await scheduler.check_once()
        await settle(scheduler, clock)
    assert [t.split(" (")[0] for t in texts(slack)] == ["🔴  Service Down: API", "🟢  Service Recovered: API"]
    assert not any("Database" in t for t in texts(slack))


async def test_dependents_that_go_down_first_wait_for_their_failing_parent_and_ride_along(target):
    """Database needs two failed checks to be DOWN: its dependents, DOWN after one, wait
    (at most group_wait) while it is failing, and go inside its message."""
    base, app = target
    async with on_slack(base, failure_threshold=2) as (scheduler, clock, slack):
        await scheduler.check_once()
        fail(app, "Database", *CHILDREN)
        await scheduler.check_once()
        assert await scheduler.notifier.deliver_due() == 10.0  # held: Database is failing
        assert slack.messages == []
        clock.advance(4)
        await scheduler.check_once()  # Database is DOWN now
        await settle(scheduler, clock)
    (text,) = texts(slack)
    assert text.startswith("🔴  Service Down: Database") and "Also affected: Website, API, Export" in text


async def test_a_held_dependent_goes_on_its_own_after_group_wait_if_its_parent_never_goes_down(target):
    base, app = target
    async with on_slack(base, failure_threshold=5) as (scheduler, clock, slack):
        await scheduler.check_once()
        fail(app, "Database", "Website")
        await scheduler.check_once()
        assert await scheduler.notifier.deliver_due() == 10.0
        clock.advance(10)
        assert await scheduler.notifier.deliver_due() is None
    assert [t.split(" (")[0] for t in texts(slack)] == ["🔴  Service Down: Website"]


async def test_a_later_dependent_says_why_and_the_parents_recovery_names_what_is_still_down(target):
    base, app = target
    async with on_slack(base) as (scheduler, clock, slack):
        await scheduler.check_once()
        fail(app, "Database")
        await scheduler.check_once()
        assert await scheduler.notifier.deliver_due() is None  # the first DOWN goes at once
        clock.advance(30)
        fail(app, "Website")
        await scheduler.check_once()
        await settle(scheduler, clock)
        clock.advance(30)
        fail(app, "Database", code=200)
        await scheduler.check_once()
        await settle(scheduler, clock)
        clock.advance(30)
        fail(app, "Website", code=200)
        await scheduler.check_once()
        await settle(scheduler, clock)
    database_down, website_down, database_up, website_up = texts(slack)
    assert database_down.startswith("🔴  Service Down: Database") and "Also affected" not in database_down
    assert website_down.startswith("🔴  Service Down: Website") and "Depends on Database, which is down" in website_down
    assert database_up.startswith("🟢  Service Recovered: Database")
    assert "Still down: Website (depends on Database)" in database_up
    assert website_up.startswith("🟢  Service Recovered: Website")


async def test_a_failing_receiver_gets_the_folded_message_once_when_it_is_back(target):
    base, app = target
    slack = SlackShapedServer()
    slack.fail_next(500)
    slack.fail_next(429, {"Retry-After": "3"})
    async with slack.running() as hook:
        sink = SlackSink(SlackConfig(webhook_url=hook), instance_name="slack")
        async with watched(base, sink) as (scheduler, clock):
            await scheduler.check_once()
            fail(app, "Database", *CHILDREN)
            await scheduler.check_once()
            await settle(scheduler, clock)
    assert slack.requests == 3
    (text,) = texts(slack)
    assert "Also affected: Website, API, Export" in text


async def test_pagerduty_keeps_one_incident_per_monitor_each_saying_what_it_depends_on(target):
    base, app = target
    pager = Receiver("/v2/enqueue")
    async with serve_app(pager.app) as pager_base:
        sink = PagerDutySink(
            PagerDutyConfig(routing_key=ROUTING_KEY, url=f"{pager_base}/v2/enqueue"), instance_name="pager"
        )
        async with watched(base, sink) as (scheduler, clock):
            await scheduler.check_once()
            fail(app, "Database", *CHILDREN)
            await scheduler.check_once()
            assert await scheduler.notifier.deliver_due() is None  # PagerDuty never waits
    triggers = {event["dedup_key"]: event["payload"]["custom_details"] for event in pager.bodies}
    assert sorted(triggers) == sorted(f"statuscore/{name.lower()}" for name in ["Database", *CHILDREN])
    assert "note" not in triggers["statuscore/database"]
    assert all(triggers[f"statuscore/{n.lower()}"]["note"] == "Depends on Database, which is down" for n in CHILDREN)


async def test_a_webhook_receiver_reads_the_dependents_as_a_field(target):
    base, app = target
    hook = Receiver("/hook", 200)
    async with serve_app(hook.app) as hook_base:
        sink = WebhookSink(WebhookConfig(url=f"{hook_base}/hook"), instance_name="hook")
        async with watched(base, sink) as (scheduler, clock):
            await scheduler.check_once()
            fail(app, "Database", *CHILDREN)
            await scheduler.check_once()
            await settle(scheduler, clock)
    (body,) = hook.bodies
    assert body["monitor"] == "Database"
    assert [item["name"] for item in body["also_affected"]] == CHILDREN
    assert body["note"] == "Also affected: Website, API, Export (they depend on Database)"


async def test_a_parent_in_maintenance_is_not_down_so_its_dependents_alert_as_usual(target):
    base, app = target
    async with on_slack(base, maintenance=True) as (scheduler, clock, slack):
        await scheduler.check_once()
        fail(app, "Database", "Website")
        await scheduler.check_once()
        assert await scheduler.notifier.deliver_due() is None
    assert [t.split(" (")[0] for t in texts(slack)] == ["🔴  Service Down: Website"]


async def test_a_vendors_outage_is_told_to_nobody_but_named_in_the_dependents_down(target):
    """GitHub's own status page (a `statuspage` monitor, which tells no sink) says Git
    Operations is down, and our deploys fail with it: Slack hears of the deploys once,
    with why, and nothing of GitHub itself."""
    from tests.targets import VendorPages

    base, app = target
    vendors, slack = VendorPages(), SlackShapedServer()
    async with vendors.running() as vendor_base, slack.running() as hook:
        github = make_monitor(
            name="GitHub", type="statuspage", url=f"{vendor_base}/github", component="Git Operations", retries=0
        )
        deploys = make_monitor(name="Deploys", url=f"{base}/sequence/deploys", retries=0, depends_on=["github"])
        clock = FakeClock()
        scheduler = Scheduler(
            [github, deploys],
            sinks=[SlackSink(SlackConfig(webhook_url=hook), instance_name="slack")],
            store=MemoryStore(),
            clock=clock,
            alert_jitter=no_jitter,
        )
        try:
            await scheduler.check_once()
            vendors.set_status("github", "Git Operations", "major_outage")
            fail(app, "Deploys")
            await scheduler.check_once()
            await settle(scheduler, clock)
            vendors.set_status("github", "Git Operations", "operational")
            fail(app, "Deploys", code=200)
            clock.advance(60)
            await scheduler.check_once()
            await settle(scheduler, clock)
        finally:
            await scheduler.close()
    down, up = texts(slack)
    assert down.startswith("🔴  Service Down: Deploys") and "Depends on GitHub, which is down" in down
    assert up.startswith("🟢  Service Recovered: Deploys")
