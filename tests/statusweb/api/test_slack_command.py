"""The /status Slack slash command (POST /api/v1/slack/command), signed the way Slack signs
it: incidents and maintenance from a channel, and everything unsigned, stale, from another
workspace or aimed at another organization's records refused."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from statusweb.models import AffectedService, AuditEvent, Incident, Maintenance, get_session_factory
from tests.statusweb.pages import add_incident, add_services
from tests.statusweb.views.test_admin import add_user

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documentation's example signing secret
URL = "/api/v1/slack/command"


def signed(body: bytes, secret: str = SECRET, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": f"v0={digest}"}


def command(app, text: str, *, status: int = 200, team: str = "T0001", secret: str = SECRET, stamp=None):
    """What Slack POSTs for `/status <text>` typed by ann."""
    body = urlencode(
        {
            "token": "deprecated",
            "team_id": team,
            "channel_id": "C2147483705",
            "user_id": "U2147483697",
            "user_name": "ann",
            "command": "/status",
            "text": text,
            "response_url": "https://hooks.slack.com/commands/1234/5678",
        }
    ).encode()
    return app.post(
        URL,
        body,
        headers=signed(body, secret, stamp),
        content_type="application/x-www-form-urlencoded",
        status=status,
    )


@pytest.fixture
def slack_app(engine, make_testapp):
    add_user(engine, "root", "admin")  # the default organization
    add_services(engine, ("Linker", "up"), ("Web", "up"))
    return make_testapp(**{"statusweb.slack_signing_secret": SECRET, "statusweb.slack_team": "T0001"})


def test_open_update_and_resolve_an_incident_from_slack(engine, slack_app):
    opened = command(slack_app, "open major +linker Linker is down -- Timeouts from the API; looking into it").json
    assert opened["response_type"] == "in_channel" and opened["text"].startswith("Opened incident #")
    with get_session_factory(engine)() as session:
        incident = session.scalar(select(Incident))
        assert (incident.title, incident.impact, incident.status) == ("Linker is down", "major", "investigating")
        assert incident.updates[0].body == "Timeouts from the API; looking into it"
        assert incident.updates[0].author == "slack ann"
        assert session.scalar(select(AffectedService.component_status)) == "partial_outage"
        assert session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "incident.create")) == "slack ann"
    assert "Linker is down" in slack_app.get("/").text
    number = incident.id
    said = command(slack_app, f"update {number} identified A bad deploy; rolling back").json
    assert said["response_type"] == "in_channel" and "identified" in said["text"]
    assert (
        "Open" not in command(slack_app, "list").json["text"]
        and f"#{number} Linker is down" in command(slack_app, "list").json["text"]
    )
    assert "resolved" in command(slack_app, f"resolve #{number} Rolled back, all well").json["text"]
    again = command(slack_app, f"resolve {number}").json
    assert again["response_type"] == "ephemeral" and "Usage:" in again["text"]
    assert command(slack_app, "list").json["text"].startswith("No open incidents.")


def test_a_maintenance_window_from_slack(engine, slack_app):
    started = command(slack_app, "maintenance 30m +web Deploying the new reader").json
    assert started["response_type"] == "in_channel" and "under way until" in started["text"]
    with get_session_factory(engine)() as session:
        window = session.scalar(select(Maintenance))
        assert window.status == "in_progress" and window.title == "Deploying the new reader"
        assert round((window.ends_at - window.starts_at).total_seconds()) == 1800
    assert "ended" in command(slack_app, f"end {window.id}").json["text"]
    with get_session_factory(engine)() as session:
        assert session.get(Maintenance, window.id).status == "verifying"
    assert "is verifying" in command(slack_app, f"end {window.id}").json["text"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "Usage:"),
        ("help", "Usage:"),
        ("dance", "I do not know 'dance'"),
        ("open major +nosuch Broken", "no service 'nosuch'"),
        ("open major", "needs a title"),
        ("open " + "x" * 300, "needs a title"),
        ("update 1", "no incident #1"),
        ("update abc identified x", "is not an incident number"),
        ("update 99999999999999999999 identified x", "is not an incident number"),
        ("update -1 identified x", "is not an incident number"),
        ("maintenance forever Deploy", "needs a duration"),
        ("maintenance 10d Deploy", "needs a duration"),
        ("end 12345", "no maintenance #12345"),
        ("open Ünïcödé 🔥 title\r\nwith a break", "Opened incident"),
    ],
)
def test_what_slack_may_send_is_answered_never_a_500(slack_app, text, said):
    answer = command(slack_app, text).json
    assert said in answer["text"], answer


def test_unsigned_stale_forged_or_foreign_requests_are_refused(engine, slack_app, make_testapp):
    command(slack_app, "list", secret="not the secret", status=401)
    command(slack_app, "list", stamp=int(time.time()) - 600, status=401)  # a replay, ten minutes late
    command(slack_app, "list", stamp=10**15, status=401)
    command(slack_app, "list", team="T9999", status=403)  # another workspace
    slack_app.post(URL, b"text=list", content_type="application/x-www-form-urlencoded", status=401)
    body = b"text=%FF%FE&team_id=T0001"
    garbled = slack_app.post(URL, body, headers=signed(body), content_type="application/x-www-form-urlencoded")
    assert garbled.json["response_type"] == "ephemeral" and "I do not know" in garbled.json["text"]  # not UTF-8
    unset = make_testapp()  # no signing secret: no command at all
    command(unset, "list", status=401)
    with get_session_factory(engine)() as session:
        assert session.scalar(select(Incident)) is None


def test_the_command_acts_on_its_own_page_only(engine, make_testapp, tmp_path):
    from tests.statusweb.pages import sync_monitors_toml
    from tests.statusweb.views.test_pages import TWO_ORGANIZATIONS, VIEWER_PASSWORD

    sync_monitors_toml(
        engine, tmp_path / "monitors.toml", TWO_ORGANIZATIONS, env={"BETA_VIEWER_PASSWORD": VIEWER_PASSWORD}
    )
    other = add_incident(engine, "Someone else's outage")  # on the default page, not acme's
    app = make_testapp(**{"statusweb.slack_signing_secret": SECRET, "statusweb.slack_page": "acme"})
    assert "no incident" in command(app, f"update {other} identified mine now").json["text"]
    assert "Someone else's" not in command(app, "list").json["text"]
    opened = command(app, "open minor Acme checkout slow").json
    assert opened["response_type"] == "in_channel"
    with get_session_factory(engine)() as session:
        page_ids = {i.title: i.page_id for i in session.scalars(select(Incident))}
    assert page_ids["Someone else's outage"] is None and page_ids["Acme checkout slow"] is not None
    missing = make_testapp(**{"statusweb.slack_signing_secret": SECRET, "statusweb.slack_page": "nope"})
    assert "no page 'nope'" in command(missing, "list").json["text"]
