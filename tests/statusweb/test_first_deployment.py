"""A first deployment with nothing but the defaults: no Slack, and Settings that refuse
what would be unsafe."""

from __future__ import annotations

from pathlib import Path

import pytest

import statuscore
from statuscore.cli import main as statuscore_main
from statusweb.runner.runner import Runner
from statusweb.settings import RunnerSettings, Settings, SettingsError
from tests.statusweb.views.test_admin import add_user, login

ROOT = Path(__file__).resolve().parents[2]
SEFARIA = str(ROOT / "examples" / "sefaria.toml")


def test_sefaria_example_loads_without_slack_and_says_alerts_are_off(monkeypatch, capsys):
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    config = statuscore.load_config(SEFARIA)
    assert len(config.monitors) == 4 and config.sinks == ()
    assert config.warnings == (
        "alert sink 'slack' is off: environment variable SLACK_WEBHOOK_URL is not set "
        "(write ${SLACK_WEBHOOK_URL:-default} for a fallback)",
    )
    assert statuscore.load_monitors(SEFARIA)[1].name == "Linker"  # the README's library snippet
    assert statuscore_main(["validate", SEFARIA]) == 0
    assert "warning: alert sink 'slack' is off" in capsys.readouterr().out
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.example/services/T/B/X")
    assert [sink.instance_name for sink in statuscore.load_config(SEFARIA).sinks] == ["slack"]


@pytest.mark.parametrize("slack", [None, "https://hooks.slack.example/services/T/B/X"])
def test_the_runner_starts_without_slack_and_the_admin_says_so(engine, db_url, make_testapp, monkeypatch, slack):
    if slack:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack)
    else:
        monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    runner = Runner(RunnerSettings(database_url=db_url, monitors_path=SEFARIA), engine=engine)
    runner.duties.beat()  # what the running runner writes every few seconds
    add_user(engine, "ed", "editor")
    app = make_testapp()
    login(app, "ed")
    page = app.get("/admin").text
    if slack:
        assert "Alerts go to: slack" in page and "No alert sink configured" not in page
    else:
        assert "No alert sink configured" in page and "SLACK_WEBHOOK_URL" in page
        assert "hooks.slack" not in page


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"statusweb.secure_cookies": "true"}, "STATUSWEB_SECRET is not set"),
        ({"statusweb.secure_cookies": "true", "statusweb.secret": "x" * 31}, "STATUSWEB_SECRET is 31 characters"),
        ({"statusweb.page_url": "javascript:alert(1)"}, "STATUS_PAGE_URL must be an http:// or https://"),
        ({"statusweb.page_url": "https://user:pw@status.example"}, "STATUS_PAGE_URL must be"),
        ({"statusweb.page_cache_seconds": "soon"}, "statusweb.page_cache_seconds must be a number"),
        ({"statusweb.trusted_proxy": "proxy.internal"}, "STATUSWEB_TRUSTED_PROXY must be"),
    ],
)
def test_settings_refuse_what_would_be_unsafe_naming_the_variable(settings, words):
    with pytest.raises(SettingsError, match=words.replace("(", r"\(")):
        Settings.from_settings({"sqlalchemy.url": "sqlite://", **settings})


def test_the_app_stops_with_one_line_instead_of_a_traceback():
    from statusweb import main

    with pytest.raises(SystemExit) as stopped:
        main({}, **{"sqlalchemy.url": "sqlite://", "statusweb.secure_cookies": "true"})
    assert str(stopped.value).startswith("statusweb: STATUSWEB_SECRET is not set")
