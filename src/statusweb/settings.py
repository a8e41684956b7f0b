"""Settings: the ini's [app:main], overridden by the environment, converted to types once.

Environment variables win over the ini (warehouse's `maybe_set` pattern), so one
production.ini serves every deployment and secrets never sit in a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

ENVIRONMENT_OVERRIDES = {
    "DATABASE_URL": "sqlalchemy.url",
    "STATUSCORE_MONITORS": "statuscore.monitors",
    "STATUS_PAGE_URL": "statusweb.page_url",
    "HEALTH_CHECK_RETENTION_DAYS": "statusweb.retention_days",
    "STATUSWEB_SECRET": "statusweb.secret",
    "STATUSWEB_RUNNER": "statusweb.runner",
}


def apply_environment(settings: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of `settings` with every set environment override applied."""
    env = os.environ if env is None else env
    merged = dict(settings)
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        if env.get(variable):
            merged[key] = env[variable]
    return merged


def as_bool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class RunnerSettings:
    database_url: str
    monitors_path: str
    retention_days: int = 60
    heartbeat_interval: float = 10.0
    cleanup_hour_utc: int = 3

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], here: str = ".") -> RunnerSettings:
        url = settings.get("sqlalchemy.url")
        if not url:
            raise ValueError("no database: set sqlalchemy.url in the ini's [app:main] or DATABASE_URL")
        monitors = settings.get("statuscore.monitors")
        if not monitors:
            raise ValueError("no monitors: set statuscore.monitors in the ini's [app:main] "
                             "(the path of a monitors.toml) or STATUSCORE_MONITORS")
        path = Path(monitors)
        if not path.is_absolute():
            path = Path(here) / path
        return cls(database_url=url, monitors_path=str(path),
                   retention_days=int(settings.get("statusweb.retention_days", 60)),
                   heartbeat_interval=float(settings.get("statusweb.heartbeat_interval", 10)))


def load_ini_settings(config_uri: str) -> tuple[dict[str, Any], str]:
    """[app:main] of an ini (with %(here)s filled), environment applied; and its folder."""
    from pyramid.paster import get_appsettings

    here = str(Path(config_uri.split("#")[0]).resolve().parent)
    return apply_environment(get_appsettings(config_uri)), here
