"""The email sink against a real SMTP server on 127.0.0.1 (aiosmtpd), including the
server being down for a while."""

from __future__ import annotations

from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from statuscore import ConfigError, MemoryStore, Scheduler, load_config, make_monitor, no_jitter
from statuscore.alerts.email import EmailConfig, EmailSink, render_email
from statuscore.testing import FakeClock
from tests.statuscore.alerts.test_alerts import went_down
from tests.targets import SEQUENCES, free_port


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def test_render_email_names_the_outage():
    mail = render_email(went_down(), status_page_url="https://status.example.org")
    assert mail["subject"] == "[DOWN] sefaria.org"
    assert "Error:      HTTP 503 Service Unavailable" in mail["text"]
    assert mail["text"].rstrip().endswith("Status page: https://status.example.org")


def test_email_config_from_the_environment_and_its_mistakes(tmp_path):
    path = tmp_path / "monitors.toml"
    path.write_text(
        '[[alert]]\nname = "ops-mail"\ntype = "email"\nurl = "${SMTP_URL}"\n'
        'sender = "status@example.org"\nto = ["ops@example.org"]\n'
    )
    config = load_config(str(path), env={"SMTP_URL": "smtp://user:pw@127.0.0.1:2525"})
    assert config.sinks[0].instance_name == "ops-mail" and "pw" not in repr(config.sinks[0].config)
    assert load_config(str(path), env={}).sinks == ()  # unset: off, with a warning
    path.write_text('[[alert]]\ntype = "email"\nurl = "http://mail/"\nsender = "a@b"\nto = ["c@d"]\n')
    with pytest.raises(ConfigError, match="smtp://host:port"):
        load_config(str(path), env={})


async def test_down_and_recovery_arrive_by_mail_even_after_the_server_was_down(target):
    base, app = target
    app[SEQUENCES]["site"] = [503, 200]
    port = free_port()
    inbox = Inbox()
    sink = EmailSink(
        EmailConfig(url=f"smtp://127.0.0.1:{port}", sender="status@example.org", to=("ops@example.org",), timeout=5),
        instance_name="mail",
    )
    store = MemoryStore()
    clock = FakeClock()
    scheduler = Scheduler(
        [make_monitor(name="Site", url=f"{base}/sequence/site", retries=0)],
        sinks=[sink],
        store=store,
        clock=clock,
        alert_jitter=no_jitter,
    )
    await scheduler.check_once()
    assert await scheduler.notifier.deliver_due() == 1.0  # nothing listens yet: retried in 1 s
    (alert,) = store.alerts.values()
    assert alert.attempts == 1 and alert.last_error.startswith("SMTP: ConnectionRefusedError")
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(1)
        assert await scheduler.notifier.deliver_due() is None
        await scheduler.check_once()
        await scheduler.notifier.deliver_due()
    finally:
        controller.stop()
        await scheduler.close()
    subjects = [message["Subject"] for _, message in inbox.messages]
    assert subjects == ["[DOWN] Site", "[RECOVERED] Site"]
    recipients, first = inbox.messages[0]
    assert recipients == ["ops@example.org"] and first["From"] == "status@example.org"
    assert "Error:      HTTP 503" in first.get_payload(decode=True).decode()


def test_an_address_that_could_never_be_sent_fails_at_load_naming_the_key(tmp_path):
    """email-validator's reading, at load: not at three in the morning in the sink."""
    import pytest

    from statuscore import ConfigError, load_config

    path = tmp_path / "monitors.toml"
    for bad, key in (
        ('to = ["ops@example.org", "a@[b.c"]', "alert[0].to[1]"),
        ('to = ["ops@example.org"]\nsender = "status@example.org>\\r\\nBcc: x@example.org"', "alert[0].sender"),
    ):
        path.write_text(f'[[alert]]\ntype = "email"\nurl = "smtp://127.0.0.1:25"\nsender = "s@example.org"\n{bad}\n')
        if "sender =" in bad:
            path.write_text(f'[[alert]]\ntype = "email"\nurl = "smtp://127.0.0.1:25"\n{bad}\n')
        with pytest.raises(ConfigError) as error:
            load_config(str(path))
        assert f"key '{key}'" in str(error.value) and str(path) in str(error.value)
    path.write_text(
        '[[alert]]\ntype = "email"\nurl = "smtp://127.0.0.1:25"\nsender = "s@example.org"\n'
        'to = ["Ops@Example.ORG"]\n[[alert]]\ntype = "webhook"\nurl = "https://example.org/h\\r\\nX: 1"\n'
    )
    with pytest.raises(ConfigError, match="control character"):
        load_config(str(path))
