"""A first deployment with nothing but the defaults: no Slack, Settings that refuse
what would be unsafe, and migrations that carry existing data along."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

import statuscore
from statuscore.cli import main as statuscore_main
from statusweb.migrations import upgrade
from statusweb.models import RollupDaily, get_engine
from statusweb.runner import Runner
from statusweb.settings import RunnerSettings, Settings, SettingsError
from tests.statusweb.conftest import create_pg_database, drop_pg_database
from tests.statusweb.views.test_admin import add_user, login

ROOT = Path(__file__).resolve().parents[2]
SEFARIA = str(ROOT / "examples" / "sefaria.toml")


def test_sefaria_example_loads_without_slack_and_says_alerts_are_off(monkeypatch, capsys):
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    config = statuscore.load_config(SEFARIA)
    assert len(config.monitors) == 4 and config.sinks == ()
    assert config.warnings == ("alert sink 'slack' is off: environment variable SLACK_WEBHOOK_URL is not set "
                               "(write ${SLACK_WEBHOOK_URL:-default} for a fallback)",)
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
    runner._beat()  # what the running runner writes every few seconds
    add_user(engine, "ed", "editor")
    app = make_testapp()
    login(app, "ed")
    page = app.get("/admin").text
    if slack:
        assert "Alerts go to: slack" in page and "No alert sink configured" not in page
    else:
        assert "No alert sink configured" in page and "SLACK_WEBHOOK_URL" in page
        assert "hooks.slack" not in page


@pytest.mark.parametrize("settings, words", [
    ({"statusweb.secure_cookies": "true"}, "STATUSWEB_SECRET is not set"),
    ({"statusweb.secure_cookies": "true", "statusweb.secret": "x" * 31}, "STATUSWEB_SECRET is 31 characters"),
    ({"statusweb.page_url": "javascript:alert(1)"}, "STATUS_PAGE_URL must be an http:// or https://"),
    ({"statusweb.page_url": "https://user:pw@status.example"}, "STATUS_PAGE_URL must be"),
    ({"statusweb.page_cache_seconds": "soon"}, "statusweb.page_cache_seconds must be a number"),
    ({"statusweb.trusted_proxy": "proxy.internal"}, "STATUSWEB_TRUSTED_PROXY must be"),
])
def test_settings_refuse_what_would_be_unsafe_naming_the_variable(settings, words):
    with pytest.raises(SettingsError, match=words.replace("(", r"\(")):
        Settings.from_settings({"sqlalchemy.url": "sqlite://", **settings})


def test_the_app_stops_with_one_line_instead_of_a_traceback():
    from statusweb import main

    with pytest.raises(SystemExit) as stopped:
        main({}, **{"sqlalchemy.url": "sqlite://", "statusweb.secure_cookies": "true"})
    assert str(stopped.value).startswith("statusweb: STATUSWEB_SECRET is not set")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        engine = get_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
        yield engine
        engine.dispose()
        return
    url = create_pg_database()
    engine = get_engine(url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    drop_pg_database(url)


def test_histograms_stored_as_text_move_into_columns(empty_database):
    """A database from before 0004 with rollups in it: after the upgrade each band's
    count sits in its column, and /metrics-style SUMs add them up."""
    engine = empty_database
    upgrade(engine, "0003")
    day = datetime(2026, 2, 8, tzinfo=timezone.utc)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO service (id, slug, name, type, position, group_name, description, "
                                "hidden, created_at, updated_at) VALUES (1, 'site', 'Site', 'http', 0, '', '', "
                                ":no, :at, :at)"), {"no": False, "at": day})
        for offset, histogram in enumerate(["3 0 12 0 0 0 0 0 0 0 0 0 0 0 1", "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", ""]):
            connection.execute(text(
                "INSERT INTO rollup_daily (service_id, bucket, up_count, degraded_count, down_count, "
                "maintenance_count, latency_count, latency_sum_ms, latency_max_ms, latency_p95_ms, "
                "latency_histogram) VALUES (1, :bucket, 16, 0, 0, 0, 16, 1000, 40000, 100, :histogram)"),
                {"bucket": day.replace(day=8 + offset), "histogram": histogram})
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(RollupDaily.latency_le_25, RollupDaily.latency_le_100,
                                         RollupDaily.latency_le_inf).order_by(RollupDaily.bucket)).all()
    assert [tuple(row) for row in rows] == [(3, 12, 1), (1, 1, 1), (0, 0, 0)]
    with engine.begin() as connection:
        connection.execute(insert(RollupDaily), [{"service_id": 1, "bucket": day.replace(day=20), "up_count": 1,
                                                  "degraded_count": 0, "down_count": 0, "maintenance_count": 0,
                                                  "latency_count": 1, "latency_sum_ms": 5, "latency_max_ms": 5,
                                                  "latency_p95_ms": 5, "latency_le_25": 1}])
