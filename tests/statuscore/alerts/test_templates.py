"""Message templates (an [[alert]]'s title_template and body_template, in Jinja2's sandbox):
today's messages unchanged without them, a team's own words with them, and every bad
template a config error at load naming file, sink and key."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statuscore import ConfigError, MemoryStore, Scheduler, TransitionKind, load_config, make_monitor, no_jitter
from statuscore.alerts.apprise_sink import AppriseConfig, AppriseSink
from statuscore.alerts.email import EmailConfig, EmailSink
from statuscore.alerts.pagerduty import PagerDutyConfig, PagerDutySink
from statuscore.alerts.slack import SlackConfig, SlackSink
from statuscore.alerts.templates import TEMPLATE_FIELDS, compile_templates
from statuscore.alerts.webhook import WebhookConfig, WebhookSink
from statuscore.testing import FakeClock
from tests.statuscore.alerts.test_alerts import recovered, went_down
from tests.statuscore.helpers import monitor, sequence_scheduler
from tests.targets import SEQUENCES, SlackShapedServer

ROOT = Path(__file__).resolve().parents[3]
PAGE = "https://status.example.org"


def every_kind():
    """An outage and a recovery, then each of those as every kind of news."""
    down, up = went_down(), recovered()
    return [down, up] + [replace(down, kind=k) for k in TransitionKind] + [replace(up, kind=k) for k in TransitionKind]


def todays_sinks():
    return [
        SlackSink(
            SlackConfig(webhook_url="https://hooks.slack.com/x", channel="#ops", username="bot"),
            instance_name="s",
            status_page_url=PAGE,
        ),
        EmailSink(
            EmailConfig(url="smtp://h:25", sender="a@example.org", to=("b@example.org",)),
            instance_name="e",
            status_page_url=PAGE,
        ),
        WebhookSink(WebhookConfig(url="https://h.example.org/x"), instance_name="w"),
        PagerDutySink(PagerDutyConfig(routing_key="x" * 32), instance_name="p"),
    ]


def test_without_templates_every_sink_sends_exactly_todays_message():
    """tests/data/alert_messages.json was written by the sinks before templates existed."""
    golden = json.loads((ROOT / "tests/data/alert_messages.json").read_text())
    sinks = todays_sinks()
    rendered = [sink.render_alert(t, monitor()) for t in every_kind() for sink in sinks]
    assert json.loads(json.dumps(rendered, default=str)) == golden
    apprise = AppriseSink(AppriseConfig(urls=("discord://1/2",)), instance_name="a", status_page_url=PAGE)
    for sink in [*sinks, apprise]:
        for transition in every_kind():
            assert sink.render_templated(transition, None, None) == sink.render(transition)


def write(tmp_path, table: str) -> str:
    path = tmp_path / "monitors.toml"
    path.write_text(f'[[alert]]\nname = "chat"\n{table}\n')
    return str(path)


SLACK = 'type = "slack"\nwebhook_url = "https://hooks.slack.com/services/T/B/X"\n'


async def test_a_templated_slack_message_reaches_slack(tmp_path, target):
    base, app = target
    app[SEQUENCES]["site"] = [503, 200]
    slack = SlackShapedServer()
    async with slack.running() as url:
        path = tmp_path / "monitors.toml"
        path.write_text(
            f'status_page_url = "{PAGE}"\n[[alert]]\nname = "chat"\ntype = "slack"\nwebhook_url = "{url}"\n'
            'title_template = "{{ icon }} {{ monitor }} is {{ status }}"\n'
            "body_template = '''\n"
            "*{{ heading }}* since {{ since }}{% if kind == 'recovered' %} (down {{ duration_text }}){% endif %}\n"
            "{% if reason %}Reason: `{{ reason }}`{% endif %}\n"
            "Checked: {{ url }} | <{{ page_url }}|status page>'''\n"
        )
        (sink,) = load_config(str(path), env={}).sinks
        store = MemoryStore()
        clock = FakeClock()
        scheduler = Scheduler(  # a query may hold a token: the template's url leaves it out
            [make_monitor(name="Linker", url=f"{base}/sequence/site?token=hidden", retries=0)],
            sinks=[sink],
            store=store,
            clock=clock,
            alert_jitter=no_jitter,
        )
        try:
            await scheduler.check_once()
            await scheduler.notifier.deliver_due()
            clock.advance(300)
            await scheduler.check_once()
            await scheduler.notifier.deliver_due()
        finally:
            await scheduler.close()
    down, up = slack.messages
    assert down["blocks"][0]["text"]["text"] == "🔴 Linker is DOWN"
    body = down["blocks"][1]["text"]["text"]
    assert body.startswith("*Service Down* since ") and "Reason: `HTTP 503 Service Unavailable (expected 2xx)`" in body
    assert f"Checked: {base}/sequence/site |" in body and "hidden" not in body  # no query: it may hold a token
    assert body.endswith(f"<{PAGE}|status page>")
    assert down["text"].startswith("🔴 Linker is DOWN\n*Service Down*")
    assert up["blocks"][0]["text"]["text"] == "🟢 Linker is UP" and "(down ~5 min)" in up["blocks"][1]["text"]["text"]
    assert down["blocks"][-1]["type"] == "context"  # the status page link stays


def test_a_hostile_reason_cannot_ping_the_channel_but_the_authors_mrkdwn_stays(tmp_path):
    (sink,) = load_config(
        write(tmp_path, SLACK + 'body_template = "<{{ page_url }}|page>: {{ reason }}"\n'), env={}
    ).sinks
    sink.status_page_url = PAGE
    hostile = replace(went_down(), result=replace(went_down().result, error="<!channel> & <@U123|boss>"))
    message = sink.render_alert(hostile, monitor())
    assert message["blocks"][1]["text"]["text"] == f"<{PAGE}|page>: &lt;!channel&gt; &amp; &lt;@U123|boss&gt;"
    title = load_config(write(tmp_path, SLACK + 'title_template = "{{ reason }}"\n'), env={}).sinks[0]
    assert title.render_alert(hostile, None)["blocks"][0]["text"]["text"] == "<!channel> & <@U123|boss>"  # plain text


@pytest.mark.parametrize(
    ("table", "key", "said"),
    [
        ('body_template = "{{ monitor "', "body_template", "TemplateSyntaxError (line 1)"),
        ('body_template = "{{ montor }}"', "body_template", "'montor' is undefined; the fields are monitor, slug"),
        ('title_template = "{{ monitor.__class__.__mro__ }}"', "title_template", "SecurityError"),
        ('body_template = "{{ fields.append.__self__ }}"', "body_template", "SecurityError"),
        ('body_template = "{% for i in range(10**9) %}x{% endfor %}"', "body_template", "OverflowError"),
        ('body_template = "{{ 100 // (duration or 0) }}"', "body_template", "ZeroDivisionError"),
        ('body_template = "{{ reason | nosuchfilter }}"', "body_template", "No filter named 'nosuchfilter'"),
        ("body_template = 3", "body_template", "expected a template"),
        ('title_template = "  "', "title_template", "expected a template"),
    ],
)
def test_a_bad_template_is_a_config_error_at_load_naming_file_sink_and_key(tmp_path, table, key, said):
    path = write(tmp_path, SLACK + table)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.file == path and caught.value.key == f"alert[0].{key}"
    assert caught.value.message.startswith("alert sink 'chat': ") and said in caught.value.message, caught.value.message


def test_a_sink_names_the_templates_it_takes(tmp_path):
    path = write(tmp_path, f'type = "pagerduty"\nrouting_key = "{"k" * 32}"\nbody_template = "{{{{ reason }}}}"\n')
    with pytest.raises(ConfigError, match="it takes title_template") as caught:
        load_config(path, env={})
    assert caught.value.key == "alert[0].body_template"
    path = write(
        tmp_path, f'type = "pagerduty"\nrouting_key = "{"k" * 32}"\ntitle_template = "{{{{ monitor }}}} down"\n'
    )
    (sink,) = load_config(path, env={}).sinks
    assert sink.render_alert(went_down(), None)["payload"]["summary"] == "sefaria.org down"
    assert "payload" not in sink.render_alert(recovered(), None)  # a resolve has no summary


def test_a_template_that_fails_on_one_alert_still_sends_the_usual_message(tmp_path, caplog):
    """It passed every sample at load; a real transition that breaks it is not lost."""
    template = "title_template = \"{{ (1 // 0) if monitor == 'sefaria.org' else monitor }}\"\n"
    (sink,) = load_config(write(tmp_path, SLACK + template), env={}).sinks
    with caplog.at_level(logging.WARNING):
        message = sink.render_alert(went_down(), monitor())
    assert message == sink.render(went_down())
    assert "its template failed on sefaria.org (ZeroDivisionError" in caplog.text


def test_email_webhook_and_apprise_take_both_templates(tmp_path):
    words = 'title_template = "{{ monitor }}: {{ status }}"\nbody_template = "{{ reason }} ({{ kind }})"\n'
    for table, title_key, body_key in (
        (
            'type = "email"\nurl = "smtp://127.0.0.1:25"\nsender = "s@example.org"\nto = ["o@example.org"]',
            "subject",
            "text",
        ),
        ('type = "webhook"\nurl = "https://hooks.example.org/x"', "title", "text"),
        ('type = "apprise"\nurls = ["discord://1/2"]', "title", "body"),
    ):
        (sink,) = load_config(write(tmp_path, f"{table}\n{words}"), env={}).sinks
        message = sink.render_alert(went_down(), None)
        assert message[title_key] == "sefaria.org: DOWN"
        assert message[body_key].strip() == "HTTP 503 Service Unavailable (down)"


def test_the_readme_documents_every_template_field_and_the_apprise_keys():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Message templates") :]
    section = section[: section.index("\n### ", 4)]
    for field in TEMPLATE_FIELDS:
        assert f"`{field}`" in section, field
    for key in ("title_template", "body_template", "allow_private", "urls"):
        assert f"`{key}`" in readme, key


async def test_templated_downs_of_a_shared_outage_still_go_as_one_grouped_message(tmp_path, target):
    """Templates x grouping: each templated DOWN is one line of the group's message."""
    base, app = target
    slack = SlackShapedServer()
    async with slack.running() as url:
        path = tmp_path / "monitors.toml"
        path.write_text(
            f'[[alert]]\ntype = "slack"\nwebhook_url = "{url}"\n'
            'title_template = "{{ monitor }} {{ status }}"\nbody_template = "{{ reason }}\\nsecond line"\n'
        )
        (sink,) = load_config(str(path), env={}).sinks
        clock = FakeClock()
        names = ["Web", "Linker", "MCP"]
        for name in names:
            app[SEQUENCES][name] = [503]
        scheduler = sequence_scheduler(base, sink, *names, clock=clock)
        try:
            await scheduler.check_once()
            clock.advance(await scheduler.notifier.deliver_due() or 0)
            clock.advance(await scheduler.notifier.deliver_due() or 0)
            await scheduler.notifier.deliver_due()
        finally:
            await scheduler.close()
    first, group = slack.messages
    assert first["blocks"][0]["text"]["text"] in {f"{name} DOWN" for name in names}
    assert group["text"].startswith("🔴  3 services down within a minute")
    lines = group["blocks"][1]["text"]["text"].splitlines()
    assert sorted(line for line in lines if line.startswith("• ") and "DOWN" in line) == sorted(
        f"• {name} DOWN" for name in names if name not in first["blocks"][0]["text"]["text"]
    )
    assert "second line" not in group["text"]


@settings(
    max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(list(TransitionKind)),
    error=st.one_of(st.none(), st.text(max_size=300)),
    duration=st.one_of(st.none(), st.floats(min_value=0, max_value=1e9)),
    with_monitor=st.booleans(),
)
def test_any_transition_renders_every_field_and_no_reason_escapes_the_slack_body(
    tmp_path, kind, error, duration, with_monitor
):
    """Whatever a target answers and whatever the news, a template that passed its load
    renders (no exception, no lost alert) and the reason it prints is escaped."""
    every_field = " ".join(f"{{{{ {name} }}}}" for name in TEMPLATE_FIELDS)
    sink = SlackSink(SlackConfig(webhook_url="https://hooks.slack.com/x"), instance_name="s")
    sink.templates = compile_templates(
        {"title_template": every_field, "body_template": "[{{ reason }}]"},
        accepted=sink.template_keys,
        body_escape=sink.escape_body,
    )
    down = went_down()
    transition = replace(down, kind=kind, duration=duration, result=replace(down.result, error=error))
    message = sink.render_alert(transition, monitor() if with_monitor else None)
    body = message["blocks"][1]["text"]["text"]
    assert body.startswith("[") and "<" not in body and ">" not in body
    assert len(message["blocks"][0]["text"]["text"]) <= 150 and len(message["text"]) <= 3000
