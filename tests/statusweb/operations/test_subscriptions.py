"""Subscriptions end to end: the public form (webtest), the fan-out and delivery the
runner does, a real SMTP server on 127.0.0.1 (aiosmtpd) and a local webhook receiver,
both failing for a while; both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import Service, Subscriber, SubscriberMessage, get_session_factory
from statusweb.runner.subscribers import Delivery, Mail, deliver_due, fan_out
from tests.statuscore.alerts.test_email import Inbox
from tests.statusweb.pages import add_incident, add_services
from tests.statusweb.views.test_admin import add_user, login
from tests.targets import free_port


class Receiver:
    """A webhook receiver on 127.0.0.1 that can be told to fail the next N posts; it
    answers a verification with its challenge (unless `echo` is off) and keeps the secret."""

    def __init__(self, echo: bool = True) -> None:
        self.bodies: list[tuple[dict, dict]] = []
        self.secrets: list[str] = []
        self.fail_next = 0
        self.echo = echo
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = b""
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                elif json.loads(body).get("type") == "url_verification":
                    sent = json.loads(body)
                    receiver.secrets.append(sent["secret"])
                    answer = json.dumps({"challenge": sent["challenge"] if receiver.echo else "no"}).encode()
                    self.send_response(200)
                else:
                    receiver.bodies.append((dict(self.headers), json.loads(body) | {"_raw": body.decode()}))
                    self.send_response(204)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def run_outbox(engine, delivery, now):
    """What the runner does every second: fan out, then deliver what is due."""
    with get_session_factory(engine).begin() as session:
        fan_out(session, now, delivery)
    return deliver_due(engine, delivery, now)


def text_of(message) -> str:
    return message.get_payload(decode=True).decode()


@pytest.fixture
def mail_port():
    return free_port()


def test_email_double_opt_in_exactly_once_per_update_in_order_through_a_mail_outage(engine, make_testapp, mail_port):
    ids = add_services(engine, ("Website", "up"), ("Linker", "up"))
    app = make_testapp(**{"statusweb.page_url": "https://status.example.org", "statusweb.page_name": "Sefaria Status"})
    delivery = Delivery(
        mail=Mail(f"smtp://127.0.0.1:{mail_port}", "status@example.org"),
        page_url="https://status.example.org",
        page_name="Sefaria Status",
    )
    now = utcnow()
    run_outbox(engine, delivery, now)  # first run: the cursor starts at today's updates
    form = app.get("/subscribe").forms[0]
    form["address"] = "reader@example.org"
    form.set("service", True, index=1)  # the Linker only
    answer = form.submit()
    assert "Check your inbox" in answer.text
    other = app.get("/subscribe").forms[0]
    other["address"] = "website-only@example.org"
    other.set("service", True, index=0)
    other.submit()
    inbox = Inbox()
    assert run_outbox(engine, delivery, now) == (0, 2)  # the mail server is down: kept, retried later
    controller = Controller(inbox, hostname="127.0.0.1", port=mail_port)
    controller.start()
    try:
        now += timedelta(seconds=31)
        assert run_outbox(engine, delivery, now) == (2, 0)
        confirm = [m for rcpt, m in inbox.messages if rcpt == ["reader@example.org"]][0]
        link = re.search(r"https://status\.example\.org(/subscribe/confirm/\S+)", text_of(confirm)).group(1)
        add_incident(engine, "Before confirming", affected={ids["linker"]: "major_outage"})
        assert "Send updates to reader@example.org?" in app.get(link).text  # a mail scanner's GET confirms nothing
        with get_session_factory(engine)() as session:
            assert (
                session.scalar(select(Subscriber.confirmed_at).where(Subscriber.address == "reader@example.org"))
                is None
            )
        assert "now gets updates" in app.get(link).forms[0].submit().text
        incident = add_incident(engine, "Linker tasks stuck", impact="major", affected={ids["linker"]: "major_outage"})
        add_incident(engine, "Website only", affected={ids["website"]: "partial_outage"})
        user_app = make_testapp()
        add_user(engine, "ops", "editor")
        login(user_app, "ops")
        page = user_app.get(f"/admin/incidents/{incident}")
        update = [f for f in page.forms.values() if f.action.endswith("/updates")][0]
        update["status"], update["body"] = "resolved", "Workers restarted."
        update.submit(status=303)
        for _ in range(3):  # the runner runs again and again: nothing is queued twice
            now += timedelta(seconds=1)
            run_outbox(engine, delivery, now)
    finally:
        controller.stop()
    mine = [m for rcpt, m in inbox.messages if rcpt == ["reader@example.org"]]
    subjects = [m["Subject"] for m in mine]
    print("\nreader@example.org got:", subjects)
    assert subjects == [
        "Confirm your Sefaria Status updates",
        "[Sefaria Status] Linker tasks stuck: investigating",
        "[Sefaria Status] Linker tasks stuck: resolved",
    ]
    unsubscribe = mine[1]["List-Unsubscribe"].strip("<>")
    assert mine[1]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text_of(mine[1]) and "Workers restarted." in text_of(mine[2])
    assert [m for rcpt, m in inbox.messages if rcpt == ["website-only@example.org"]] and len(
        [m for rcpt, m in inbox.messages if rcpt == ["website-only@example.org"]]
    ) == 1  # unconfirmed: confirm only
    path = unsubscribe.removeprefix("https://status.example.org")
    assert "Stop updates to reader@example.org?" in app.get(path).text  # a link scanner's GET changes nothing
    app.post(path, {"List-Unsubscribe": "One-Click"})  # the mail client's one-click POST
    with get_session_factory(engine)() as session:
        assert session.scalars(select(Subscriber.address)).all() == ["website-only@example.org"]
    assert app.get(path, status=404)


def test_webhooks_are_signed_statuspage_json_and_a_bad_one_blocks_nobody(engine, make_testapp):
    ids = add_services(engine, ("Website", "up"))
    good, bad = Receiver(), Receiver()
    bad.fail_next = 10**6  # a receiver that is gone for good
    good.fail_next = 2  # one that fails for a while
    try:
        app = make_testapp(**{"statusweb.private_webhooks": "true"})
        delivery = Delivery(mail=None, page_url="http://localhost", allow_private_webhooks=True)
        now = utcnow()
        run_outbox(engine, delivery, now)
        for url in (good.url, bad.url):
            form = app.get("/subscribe").forms[0]
            form["kind"], form["address"] = "webhook", url
            assert "verification request" in form.submit().text
        good.fail_next = 0
        run_outbox(engine, delivery, now)  # the challenges: the good one echoes it, the bad one is gone
        assert len(good.secrets) == 1 and not bad.secrets
        good.fail_next = 2
        incident = add_incident(engine, "Website errors", affected={ids["website"]: "major_outage"})
        for _ in range(8):
            now += timedelta(minutes=5)
            run_outbox(engine, delivery, now)
    finally:
        good.close()
        bad.close()
    [(headers, body)] = good.bodies
    assert body["incident"]["id"] == str(incident) and body["incident"]["status"] == "investigating"
    assert body["incident"]["incident_updates"][0]["body"] == "We are looking into it."
    assert body["meta"]["unsubscribe"].startswith("http://localhost/subscribe/unsubscribe/")
    signed = hmac.new(
        good.secrets[0].encode(), f"{headers['X-Statuscore-Timestamp']}.{body['_raw']}".encode(), hashlib.sha256
    ).hexdigest()
    assert headers["X-Statuscore-Signature"] == f"sha256={signed}"
    with get_session_factory(engine)() as session:
        stuck = session.scalars(select(SubscriberMessage).where(SubscriberMessage.sent_at.is_(None))).one()
        assert stuck.attempts >= 3 and "503" in stuck.last_error and stuck.event.startswith("verify:")
    add_user(engine, "ops", "editor")
    admin = make_testapp()
    login(admin, "ops")
    listing = admin.get("/admin/subscribers").text
    assert "HTTP Error 503" in listing and good.url in listing


def test_knowing_a_webhook_url_gives_nobody_its_secret(engine, make_testapp):
    """The audit: subscribing an already-subscribed URL answered with its secret. Now the
    form shows no secret and answers the same whether the URL is subscribed or not; the
    secret goes to the URL itself with a challenge, and counts only once echoed."""
    add_services(engine, ("Website", "up"))
    owner, silent = Receiver(), Receiver(echo=False)
    try:
        app = make_testapp(**{"statusweb.private_webhooks": "true"})
        delivery = Delivery(mail=None, page_url="http://localhost", allow_private_webhooks=True)
        now = utcnow()
        run_outbox(engine, delivery, now)

        def submit(url: str) -> str:
            form = app.get("/subscribe").forms[0]
            form["kind"], form["address"] = "webhook", url
            return form.submit().html.select_one("main").text

        first = submit(owner.url)
        run_outbox(engine, delivery, now + timedelta(seconds=1))
        again = submit(owner.url)  # someone else who knows the URL
        assert first == again and owner.secrets[0] not in again and "secret" not in again.split("holds")[0]
        submit(silent.url)
        for step in range(2, 5):
            run_outbox(engine, delivery, now + timedelta(seconds=step))
        with get_session_factory(engine)() as session:
            rows = {row.address: row for row in session.scalars(select(Subscriber))}
        assert len(owner.secrets) == 2 and owner.secrets[0] != owner.secrets[1]
        assert rows[owner.url].secret == owner.secrets[1]  # the receiver echoed the new challenge: it rotated
        assert rows[silent.url].confirmed_at is None and rows[silent.url].secret == ""  # never echoed: nothing
    finally:
        owner.close()
        silent.close()


@pytest.mark.parametrize(
    "kind, address, words",
    [
        ("email", "not an address", "does not look like an email"),
        ("email", "a@b", "does not look like an email"),
        ("email", "x" * 300 + "@example.org", "does not look like an email"),
        ("email", "mallory@example.org>\r\nBcc: all@example.org", "does not look like an email"),
        ("email", "a@[b.c", "does not look like an email"),
        ("email", "\u00e4rger@example.org", "does not look like an email"),  # no SMTPUTF8 local parts
        ("webhook", "https://exa mple.org/hook", "is not a host name"),
        ("webhook", "https://example.org/hook\r\nX-Evil: 1", "control character"),
        ("webhook", "http://127.0.0.1:8080/hook", "https://"),
        ("webhook", "https://127.0.0.1/hook", "private network"),
        ("webhook", "https://10.0.0.7/hook", "private network"),
        ("webhook", "https://[::1]/hook", "private network"),
        ("webhook", "https://[64:ff9b::7f00:1]/hook", "private network"),  # NAT64 of 127.0.0.1
        ("webhook", "https://[2002:a00:7::1]/hook", "private network"),  # 6to4 of 10.0.0.7
        ("webhook", "https://[::ffff:127.0.0.1]/hook", "private network"),
        ("webhook", "https://user:pw@example.org/hook", "no user or password"),
        ("webhook", "javascript:alert(1)", "https://"),
        ("sms", "+15555550100", "Choose one of"),
    ],
)
def test_the_form_refuses_what_it_cannot_use_and_keeps_what_was_typed(engine, testapp, kind, address, words):
    add_services(engine, ("Website", "up"))
    form = testapp.get("/subscribe").forms[0]
    answer = testapp.post(
        "/subscribe", {"csrf_token": form["csrf_token"].value, "kind": kind, "address": address}, status=400
    )
    assert words in answer.text and "nothing was saved" in answer.text
    with get_session_factory(engine)() as session:
        assert session.scalars(select(Subscriber)).all() == []


def test_a_webhook_url_is_stored_as_it_will_be_called_and_an_address_as_mail_will_go(engine, testapp):
    """Parsed and re-serialised (yarl): a space becomes %20, so the runner can call it;
    an address as email-validator reads it (a Unicode domain in ASCII)."""
    add_services(engine, ("Website", "up"))
    for kind, typed in (("webhook", "https://1.1.1.1/a b"), ("email", "reader@\u4f8b\u3048.jp")):
        form = testapp.get("/subscribe").forms[0]
        testapp.post("/subscribe", {"csrf_token": form["csrf_token"].value, "kind": kind, "address": typed})
    with get_session_factory(engine)() as session:
        stored = dict(session.execute(select(Subscriber.kind, Subscriber.address)).all())
    assert stored == {"webhook": "https://1.1.1.1/a%20b", "email": "reader@xn--r8jz45g.jp"}


def test_subscribing_is_rate_limited_per_address_and_per_client(engine, testapp):
    token = testapp.get("/subscribe").forms[0]["csrf_token"].value
    for _ in range(3):
        testapp.post("/subscribe", {"csrf_token": token, "kind": "email", "address": "same@example.org"})
    assert (
        "Too many requests"
        in testapp.post(
            "/subscribe", {"csrf_token": token, "kind": "email", "address": "same@example.org"}, status=429
        ).text
    )
    for number in range(7):
        testapp.post("/subscribe", {"csrf_token": token, "kind": "email", "address": f"r{number}@example.org"})
    testapp.post("/subscribe", {"csrf_token": token, "kind": "email", "address": "fresh@example.org"}, status=429)
    with get_session_factory(engine)() as session:
        confirmations = session.scalars(
            select(SubscriberMessage).join(Subscriber).where(Subscriber.address == "same@example.org")
        ).all()
        assert len(confirmations) == 3  # asked three times: three confirmation mails at most, then refused


def test_refused_attempts_count_tag_variants_are_one_address_and_a_domain_is_capped(engine, make_testapp):
    """The audit: failed attempts were free (an oracle of "does not resolve" against
    "private network"), victim+1@ ... slipped past the per-address limit, and one domain
    could be sent any number of confirmations."""
    from statusweb.views.subscribe import PER_CLIENT_PER_HOUR, PER_DOMAIN_PER_HOUR

    app = make_testapp()
    token = app.get("/subscribe").forms[0]["csrf_token"].value

    def post(address: str, client: str, status: int):
        return app.post(
            "/subscribe",
            {"csrf_token": token, "kind": "email", "address": address},
            extra_environ={"REMOTE_ADDR": client},
            status=status,
        )

    for _ in range(PER_CLIENT_PER_HOUR):
        post("not an address", "192.0.2.1", 400)
    post("fine@example.org", "192.0.2.1", 429)  # ten refused tries spent this client's hour
    for tag in range(3):
        post(f"Victim+{tag}@example.org", "192.0.2.2", 200)
    post("victim+3@example.org", "192.0.2.3", 429)  # one mailbox, whatever the tag or client
    for number in range(PER_DOMAIN_PER_HOUR - 3):
        post(f"reader{number}@example.org", f"198.51.100.{number}", 200)
    post("one-more@example.org", "203.0.113.9", 429)  # the domain's confirmations for this hour
    post("someone@example.net", "203.0.113.9", 200)  # another domain is not held up


SECOND_PAGE = """
[[page]]
slug = "acme"
name = "Acme Status"
organization = "acme"
[[monitor]]
name = "Sefaria Website"
url = "http://127.0.0.1:9/"
[[monitor]]
name = "Acme Shop"
url = "http://127.0.0.1:9/"
page = "acme"
"""


def test_a_subscriber_of_a_second_page_gets_links_that_all_work(engine, make_testapp, tmp_path, mail_port):
    """Subscribed on /pages/acme/: the confirmation link, the update's links and its
    List-Unsubscribe header all point at that page, without a doubled slash, and work."""
    from tests.statusweb.pages import sync_monitors_toml

    pages = sync_monitors_toml(engine, tmp_path / "monitors.toml", SECOND_PAGE)
    app = make_testapp(**{"statusweb.page_url": "https://status.example.org"})
    delivery = Delivery(
        mail=Mail(f"smtp://127.0.0.1:{mail_port}", "status@example.org"),
        page_url="https://status.example.org",
        page_name="Sefaria Status",
    )
    now = utcnow()
    run_outbox(engine, delivery, now)
    form = app.get("/pages/acme/subscribe").forms[0]
    form["address"] = "reader@example.org"
    assert "Check your inbox" in form.submit().text
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=mail_port)
    controller.start()
    try:
        assert run_outbox(engine, delivery, now) == (1, 0)
        link = re.search(r"https://status\.example\.org(\S+)", text_of(inbox.messages[0][1])).group(1)
        assert link.startswith("/pages/acme/subscribe/confirm/") and "//" not in link
        assert "now gets updates" in app.get(link).forms[0].submit().text
        with get_session_factory(engine)() as session:
            shop = session.scalar(select(Service.id).where(Service.slug == "acme-shop"))
        add_incident(engine, "Shop checkout failing", affected={shop: "major_outage"}, page_id=pages["acme"])
        now += timedelta(seconds=1)
        assert run_outbox(engine, delivery, now) == (1, 0)
    finally:
        controller.stop()
    update = inbox.messages[1][1]
    links = re.findall(r"https://status\.example\.org(\S+)", text_of(update))
    links.append(update["List-Unsubscribe"].strip("<>").removeprefix("https://status.example.org"))
    assert len(links) == 3 and all(path.startswith("/pages/acme/") and "//" not in path for path in links), links
    for path in links:
        app.get(path, status=200)
