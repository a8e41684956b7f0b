"""A reader subscribes in Debian's Chromium, confirms from the mail (a real SMTP server on
127.0.0.1), and gets exactly one email per incident update, sent by a real runner."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from statusweb.runner.runner import Runner
from statusweb.settings import RunnerSettings
from tests.statuscore.alerts.test_email import Inbox
from tests.statusweb.browser.test_incident_flow import browser, log_in, open_incident  # noqa: F401 (fixture)
from tests.statusweb.browser.test_live_page import live_site  # noqa: F401 (fixture)
from tests.statusweb.pages import add_services
from tests.statusweb.views.test_admin import add_user
from tests.targets import free_port

pytestmark = pytest.mark.browser


def wait_until(condition, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_reader_gets_exactly_one_email_per_update(engine, db_url, live_site, browser, tmp_path):  # noqa: F811
    add_services(engine, ("sefaria.org", "up"), ("Linker", "up"))
    add_user(engine, "ops", "editor")
    (tmp_path / "monitors.toml").write_text("")  # no monitors: this runner only sends mail
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    runner = Runner(
        RunnerSettings(
            database_url=db_url,
            monitors_path=str(tmp_path / "monitors.toml"),
            duty_interval=0.2,
            smtp_url=f"smtp://127.0.0.1:{port}",
            mail_from="status@example.org",
            page_url=live_site,
            page_name="Status",
        ),
        engine=engine,
    )
    thread = threading.Thread(target=lambda: asyncio.run(runner.run()), daemon=True)
    thread.start()
    try:
        reader = browser.new_page()
        reader.goto(f"{live_site}/")
        reader.click("text=Get updates")
        reader.fill("input[name=address]", "reader@example.org")
        reader.click("main button[type=submit]")
        assert "Check your inbox" in reader.inner_text("main")
        wait_until(lambda: len(inbox.messages) == 1)
        text = inbox.messages[0][1].get_payload(decode=True).decode()
        reader.goto(re.search(r"(http://\S+/subscribe/confirm/\S+)", text).group(1))
        assert "Send updates to reader@example.org?" in reader.inner_text("main")
        reader.click("main button[type=submit]")  # a scanner opening the link confirms nothing: a person clicks
        assert "now gets updates" in reader.inner_text("main")

        admin = browser.new_page()
        log_in(admin, live_site, "ops")
        open_incident(admin, live_site, "Linker tasks are not finishing", "We are restarting the workers.")
        admin.click("main button[type=submit]")
        wait_until(lambda: len(inbox.messages) == 2)
        admin.select_option("section select[name=status]", "resolved")
        admin.fill("section textarea[name=body]", "Workers are back.")
        admin.click("section button[type=submit]")
        wait_until(lambda: len(inbox.messages) == 3)
        time.sleep(1.5)  # several more runner rounds: nothing is sent twice
    finally:
        runner.stop()
        thread.join(30)
        controller.stop()
    subjects = [message["Subject"] for _, message in inbox.messages]
    print("\nthe reader's inbox:", subjects)
    assert subjects == [
        "Confirm your Status updates",
        "[Status] Linker tasks are not finishing: investigating",
        "[Status] Linker tasks are not finishing: resolved",
    ]
