"""Postmortems (issue 34, point 2), on both databases: an editor publishes Markdown on a
resolved incident in the admin or through /api/v1; the incident's page shows it rendered
(raw HTML as text, no script, no javascript: link, no image), the feeds carry it,
/api/v2 shows Statuspage's `postmortem` update, and a confirmed subscriber gets it once,
through the runner's real fan-out and a local mail server; a correction tells nobody."""

from __future__ import annotations

import json

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import AuditEvent, Incident, Subscriber, get_session_factory
from tests.statuscore.alerts.test_email import Inbox
from tests.statusweb.operations.test_subscriptions import run_outbox
from tests.statusweb.pages import add_incident, add_services
from tests.statusweb.views.test_admin import add_user, login
from tests.targets import free_port

POSTMORTEM = """\
## What happened

The Linker's Celery workers ran out of memory after a deploy.

| when (UTC) | what |
| --- | --- |
| 14:02 | deploy |
| 14:20 | workers restarted |

<script>alert("x")</script> [a trap](javascript:alert(1)) ![pixel](https://tracker.example.net/p.png)
[Sefaria](https://www.sefaria.org) ~~blame~~
"""


@pytest.fixture
def editor(engine, make_testapp):
    add_user(engine, "ops", "editor")
    app = make_testapp()
    login(app, "ops")
    return app


def resolved_incident(engine) -> int:
    ids = add_services(engine, ("Linker", "up"))
    return add_incident(engine, "Linker tasks stuck", status="resolved", affected={ids["linker"]: "major_outage"})


def publish(app, number: int, text: str, status: int = 303):
    form = app.get(f"/admin/incidents/{number}").forms["postmortem-form"]
    form["postmortem"] = text
    return form.submit(status=status)


def test_a_published_postmortem_is_shown_rendered_and_safe_in_the_page_feed_and_api(engine, editor, make_testapp):
    number = resolved_incident(engine)
    publish(editor, number, POSTMORTEM)
    public = make_testapp()
    page = public.get(f"/incidents/{number}")
    section = page.html.select_one("section#postmortem")
    assert section.select_one("h2").text == "Postmortem"
    assert [cell.text for cell in section.select("td")] == ["14:02", "deploy", "14:20", "workers restarted"]
    assert section.select_one("s").text == "blame"
    assert 'alert("x")' in section.text and not page.html.select("main script")
    # an image is only a link (nothing loads from another host unasked); no javascript: link
    assert [a["href"] for a in section.select("a")] == ["https://tracker.example.net/p.png", "https://www.sefaria.org"]
    assert not section.select("img") and "[a trap](javascript:alert(1))" in section.text  # shown as text
    timeline = page.html.select_one("ol.timeline").text
    assert "The postmortem is published" in timeline and "Celery workers ran out" not in timeline
    feed = public.get("/history.atom").text
    assert "&lt;h2&gt;What happened&lt;/h2&gt;" in feed and "href=&quot;javascript" not in feed
    (shown,) = public.get("/api/v2/incidents.json").json["incidents"]
    assert [u["status"] for u in shown["incident_updates"]].count("postmortem") == 1  # Statuspage's status
    assert shown["postmortem"] == POSTMORTEM.strip() and shown["postmortem_published_at"]

    publish(editor, number, POSTMORTEM.replace("a deploy", "a bad deploy"))
    again = public.get(f"/incidents/{number}")
    assert "after a bad deploy" in again.html.select_one("section#postmortem").text
    with get_session_factory(engine)() as session:
        incident = session.get(Incident, number)
        assert [u.status for u in incident.updates].count("postmortem") == 1  # a correction, not a second one
    with get_session_factory(engine)() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("incident.postmortem%")))
        assert sorted(actions) == ["incident.postmortem", "incident.postmortem_corrected"]


def test_a_confirmed_subscriber_gets_the_postmortem_once(engine, editor):
    from statusweb.runner.subscribers import Delivery, Mail

    number = resolved_incident(engine)
    port = free_port()
    delivery = Delivery(mail=Mail(f"smtp://127.0.0.1:{port}", "status@example.org"), page_url="https://s.example")
    now = utcnow()
    run_outbox(engine, delivery, now)  # the fan-out's cursor starts here: the incident's updates are old news
    with get_session_factory(engine).begin() as session:
        session.add(
            Subscriber(
                kind="email",
                address="reader@example.org",
                created_at=now,
                confirmed_at=now,
                confirm_token="c" * 32,
                unsubscribe_token="u" * 32,
            )
        )
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        publish(editor, number, POSTMORTEM)
        for _ in range(3):
            run_outbox(engine, delivery, utcnow())
        publish(editor, number, POSTMORTEM + "\nA correction.\n")
        for _ in range(3):
            run_outbox(engine, delivery, utcnow())
    finally:
        controller.stop()
    (message,) = [m for _, m in inbox.messages]
    assert message["Subject"] == "[Status] Linker tasks stuck: postmortem"
    body = message.get_payload(decode=True).decode()
    assert "## What happened" in body and "https://s.example/incidents/" in body


def test_an_open_incident_has_no_postmortem_yet(engine, editor):
    ids = add_services(engine, ("Linker", "up"))
    number = add_incident(engine, "Still going", affected={ids["linker"]: "major_outage"})
    page = editor.get(f"/admin/incidents/{number}")
    assert "postmortem-form" not in page.forms
    token = page.forms[0]["csrf_token"].value
    answer = editor.post(f"/admin/incidents/{number}/postmortem", {"csrf_token": token, "postmortem": "x"}, status=400)
    assert "Resolve the incident first" in answer.text


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "This is needed."),
        ("x" * 50_001, "At most 50000 characters."),
        ("a\x00b", "cannot be stored"),
    ],
)
def test_a_bad_postmortem_gets_the_form_back_and_saves_nothing(engine, editor, text, error):
    number = resolved_incident(engine)
    answer = publish(editor, number, text, status=400)
    assert error in answer.html.select_one("section#postmortem .field-error").text
    with get_session_factory(engine)() as session:
        assert session.get(Incident, number).postmortem_published_at is None


def test_the_api_publishes_then_corrects_and_refuses_what_it_should(engine, make_testapp):
    from tests.statusweb.api.test_api_tokens import make_token

    add_user(engine, "owner", "admin")
    app = make_testapp()
    login(app, "owner")
    writer, reader = make_token(app, "default", "write"), make_token(app, "default", "read", "dashboards")
    number = resolved_incident(engine)
    api = make_testapp()

    def post(path, body, token=writer, status=201):
        return api.post(
            path,
            body if isinstance(body, bytes) else json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            status=status,
        )

    first = post(f"/api/v1/incidents/{number}/postmortem", {"body": "## Why\nA deploy."}).json["incident"]
    assert first["postmortem"] == "## Why\nA deploy." and first["updates"][-1]["status"] == "postmortem"
    corrected = post(f"/api/v1/incidents/{number}/postmortem", {"body": "## Why\nA bad deploy."}, status=200)
    assert corrected.json["incident"]["postmortem_published_at"] == first["postmortem_published_at"]
    post(f"/api/v1/incidents/{number}/postmortem", {"body": "x"}, token=reader, status=403)
    for bad in ({"body": ""}, {"body": 7}, {"body": "x" * 50_001}, {"body": "\x00"}, [1], b"\xff\xfe", b"{"):
        post(f"/api/v1/incidents/{number}/postmortem", bad, status=400)
    post(f"/api/v1/incidents/{number + 1000}/postmortem", {"body": "x"}, status=404)
    ids = add_services(engine, ("Search", "up"))
    open_one = add_incident(engine, "Open", affected={ids["search"]: "partial_outage"})
    assert (
        "resolve the incident first" in post(f"/api/v1/incidents/{open_one}/postmortem", {"body": "x"}, status=409).text
    )
    with get_session_factory(engine)() as session:
        assert session.scalar(select(Incident.postmortem).where(Incident.id == open_one)) == ""
