"""One incident, every output: a field written once (here the root cause, given in the
admin when resolving) reaches the admin, /api/v1, /api/v2, the feeds, subscriber mail
and subscriber webhooks, because each starts from services/incidents.incident_json.
Who wrote an update stays inside the organization (/api/v1 and the admin only)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import feedparser
from aiosmtpd.controller import Controller

from statuscore import utcnow
from statusweb.runner.subscribers import Delivery, Mail
from tests.statuscore.alerts.test_email import Inbox
from tests.statusweb.api.test_api_tokens import bearer, make_token
from tests.statusweb.operations.test_subscriptions import Receiver, run_outbox, text_of
from tests.statusweb.pages import add_services
from tests.statusweb.views.test_admin import add_user, login
from tests.targets import free_port

ROOT_CAUSE = "A migration locked the refs table — for 14 minutes"


def test_a_root_cause_written_once_reaches_every_output(engine, make_testapp):
    ids = add_services(engine, ("Linker", "up"))
    port = free_port()
    receiver, inbox = Receiver(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_testapp(**{"statusweb.private_webhooks": "true", "statusweb.page_url": "https://status.example.org"})
        delivery = Delivery(
            mail=Mail(f"smtp://127.0.0.1:{port}", "status@example.org"),
            page_url="https://status.example.org",
            allow_private_webhooks=True,
        )
        now = utcnow()
        run_outbox(engine, delivery, now)  # the cursor starts at today's updates
        for kind, address in (("email", "reader@example.org"), ("webhook", receiver.url)):
            form = app.get("/subscribe").forms[0]
            form["kind"], form["address"] = kind, address
            form.submit()
        run_outbox(engine, delivery, now)  # the confirmation mail, the webhook's challenge
        [(_, confirm)] = inbox.messages
        link = re.search(r"https://status\.example\.org(/subscribe/confirm/\S+)", text_of(confirm)).group(1)
        app.get(link).forms[0].submit()

        add_user(engine, "ops", "admin")
        admin = make_testapp()
        login(admin, "ops")
        form = admin.get("/admin/incidents/new").forms[1]
        form["title"], form["body"] = "Linker tasks stuck", "Looking into it."
        form[f"service-{ids['linker']}"] = "major_outage"
        incident_id = int(form.submit(status=303).location.rstrip("/").rsplit("/", 1)[1])
        update = [
            f for f in admin.get(f"/admin/incidents/{incident_id}").forms.values() if f.action.endswith("/updates")
        ][0]
        update["status"], update["body"], update["root_cause"] = "resolved", "Workers restarted.", ROOT_CAUSE
        update.submit(status=303)
        for _ in range(3):
            now += timedelta(minutes=1)
            run_outbox(engine, delivery, now)
        token = make_token(admin, "default", "read")
    finally:
        controller.stop()
        receiver.close()

    assert ROOT_CAUSE in admin.get(f"/admin/incidents/{incident_id}").text
    ours = admin.get(f"/api/v1/incidents/{incident_id}", headers=bearer(token)).json["incident"]
    assert ours["root_cause"] == ROOT_CAUSE
    assert [u["author"] for u in ours["updates"]] == ["ops", "ops"]  # inside the organization: who wrote it
    [public] = app.get("/api/v2/incidents.json").json["incidents"]
    assert public["root_cause"] == ROOT_CAUSE and public["name"] == "Linker tasks stuck"
    assert all("author" not in u for u in public["incident_updates"])
    assert ROOT_CAUSE in feedparser.parse(app.get("/history.atom").body).entries[0].content[0].value
    assert ROOT_CAUSE in feedparser.parse(app.get("/history.rss").body).entries[0].description

    mails = [text_of(m) for rcpt, m in inbox.messages if "Resolved" in text_of(m)]
    assert len(mails) == 1 and f"Root cause: {ROOT_CAUSE}" in mails[0]
    resolved = [body["incident"] for _, body in receiver.bodies if body["incident"]["status"] == "resolved"]
    assert len(resolved) == 1 and resolved[0]["root_cause"] == ROOT_CAUSE
    assert [u["status"] for u in resolved[0]["incident_updates"]] == ["resolved", "investigating"]
    assert all("author" not in u for u in resolved[0]["incident_updates"])
    first = [body["incident"] for _, body in receiver.bodies if body["incident"]["status"] == "investigating"]
    # the first message is the incident as it was then: one update, nothing of what came later
    assert [u["body"] for u in first[0]["incident_updates"]] == ["Looking into it."]
    assert json.dumps(first).count("Workers restarted") == 0


def test_a_root_cause_and_a_window_description_from_the_api_reach_the_public_outputs(engine, make_testapp):
    add_services(engine, ("Export", "up"))
    add_user(engine, "ops", "admin")
    admin = make_testapp()
    login(admin, "ops")
    token = make_token(admin, "default", "write")

    def post(path, body, status=201):
        return admin.post(path, json.dumps(body), headers=bearer(token), content_type="application/json", status=status)

    made = post("/api/v1/incidents", {"title": "Exports late", "body": "Queue backed up.", "root_cause": "A full disk"})
    assert made.json["incident"]["root_cause"] == "A full disk"
    post(
        f"/api/v1/incidents/{made.json['incident']['id']}/updates",
        {"body": "Space freed.", "root_cause": "x" * 5001},
        400,
    )
    post(
        f"/api/v1/incidents/{made.json['incident']['id']}/updates",
        {"body": "Space freed.", "root_cause": "A full /var"},
    )
    [public] = admin.get("/api/v2/incidents.json").json["incidents"]
    assert public["root_cause"] == "A full /var"

    starts = utcnow() + timedelta(days=1)
    window = post(
        "/api/v1/maintenance",
        {
            "title": "Export server upgrade",
            "description": "Exports pause for an hour.",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "services": ["export"],
        },
    ).json["maintenance"]
    assert window["author"] == "token deploy" and window["description"] == "Exports pause for an hour."
    [shown] = admin.get("/api/v2/scheduled-maintenances.json").json["scheduled_maintenances"]
    assert shown["description"] == "Exports pause for an hour." and "author" not in shown
    assert shown["id"] == f"m{window['id']}" and shown["status"] == "scheduled"
    assert "Exports pause for an hour." in feedparser.parse(admin.get("/history.atom").body).entries[0].content[0].value
