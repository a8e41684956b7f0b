"""The runner's settings fail like the web app's: a SettingsError naming the ini key and
the environment variable that sets it, and `statusweb-admin run-checks` says it in one
line instead of a traceback."""

from __future__ import annotations

import pytest

from statusweb.settings import RunnerSettings, SettingsError
from tests.test_deployment import statusweb_admin

BASE = {"sqlalchemy.url": "sqlite://", "statuscore.monitors": "m.toml"}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"sqlalchemy.url": ""}, "DATABASE_URL"),
        ({"statuscore.monitors": ""}, "STATUSCORE_MONITORS"),
        ({"statusweb.retention_days": "sixty"}, "statusweb.retention_days (HEALTH_CHECK_RETENTION_DAYS)"),
        ({"statusweb.retention_days": "-5"}, "HEALTH_CHECK_RETENTION_DAYS"),
        ({"statusweb.heartbeat_interval": "10s"}, "statusweb.heartbeat_interval must be a number"),
        ({"statusweb.region": "eu west\r\n"}, "statusweb.region (STATUSWEB_REGION)"),
    ],
)
def test_a_bad_runner_setting_is_named(overrides, named):
    with pytest.raises(SettingsError, match=named.replace("(", r"\(").replace(")", r"\)")):
        RunnerSettings.from_settings({**BASE, **overrides})


def test_run_checks_says_which_variable_is_wrong_in_one_line(tmp_path):
    ini = tmp_path / "runner.ini"
    ini.write_text(
        "[app:main]\nuse = egg:statuscore\nsqlalchemy.url = sqlite:///%(here)s/s.db\nstatuscore.monitors = m.toml\n"
    )
    done = statusweb_admin("run-checks", str(ini), env={"HEALTH_CHECK_RETENTION_DAYS": "a week"})
    assert done.returncode != 0
    assert "HEALTH_CHECK_RETENTION_DAYS" in done.stderr and "Traceback" not in done.stderr
