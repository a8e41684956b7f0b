"""Backups that restore (issue 35, point 3), as an operator meets them: deploy/backup.sh
(run by sh, as the compose `backup` service runs it) dumps the local PostgreSQL after a
run with incidents and history, rotating old dumps; `statusweb-admin restore-check`
restores a dump into a scratch database, migrates it and counts its rows against the
live ones; and the app serves the same summary.json from a restored copy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from statusweb.migrations import upgrade
from statusweb.models import get_engine
from tests.statusweb.conftest import _admin_engine, create_pg_database, drop_pg_database
from tests.statusweb.pages import add_daily_uptime, add_incident, add_services
from tests.test_deployment import statusweb_admin

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ROOT / "deploy" / "backup.sh"


@pytest.fixture
def live(tmp_path):
    """A status database after a run: services with 40 days of history, incidents."""
    url = create_pg_database()
    engine = get_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    ids = add_services(engine, ("sefaria.org", "up"), ("Linker", "down"), ("MCP Server", "degraded"))
    add_daily_uptime(engine, ids["sefaria-org"], days=40, up=1430, down=10)
    add_incident(engine, "Linker tasks stuck", impact="major", affected={ids["linker"]: "major_outage"})
    add_incident(engine, "Old export delay", status="resolved")
    ini = tmp_path / "production.ini"
    ini.write_text(f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {url.render_as_string(hide_password=False)}\n")
    yield url, engine, ini
    engine.dispose()
    drop_pg_database(url)


def backup(url, folder: Path, keep: int = 2, **extra: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "BACKUP_DIR": str(folder),
        "BACKUP_KEEP": str(keep),
        **extra,
    }
    return subprocess.run(["sh", str(BACKUP)], env=env, capture_output=True, text=True, timeout=120)


def summary(url) -> dict:
    from webtest import TestApp

    from statusweb import main

    app = TestApp(
        main(
            {"here": "."},
            **{
                "sqlalchemy.url": url.render_as_string(hide_password=False),
                "statusweb.runner": "false",
                "statusweb.page_cache_seconds": "0",
                "statusweb.page_url": "http://localhost",
            },
        )
    )
    try:
        return app.get("/api/v2/summary.json").json
    finally:
        app.app.registry["statusweb.engine"].dispose()


def test_a_nightly_backup_restores_and_serves_the_same_page(live, tmp_path):
    url, _engine, ini = live
    folder = tmp_path / "backups"
    for _ in range(3):
        done = backup(url, folder)
        assert done.returncode == 0, done.stderr
        assert "backup: wrote " in done.stdout and "keeping the newest 2" in done.stdout
    dumps = sorted(folder.glob("statusweb-*.dump"), key=lambda path: path.stat().st_mtime)
    assert len(dumps) == 2 and not list(folder.glob(".*partial"))  # rotated; only whole files
    checked = statusweb_admin("restore-check", str(ini), str(dumps[-1]), "--keep", timeout=300)
    assert checked.returncode == 0, checked.stderr
    lines = checked.stdout.splitlines()
    from statusweb.migrations import history

    assert lines[-1].startswith("the dump restores: ") and f"schema {history()[-1].id}" in lines[-1]
    counts = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ") and len(line.split()) == 3}
    assert counts["service"] == ["3", "3"] and counts["incident"] == ["2", "2"]
    assert counts["rollup_daily"] == ["40", "40"]
    scratch = next(line.split()[-1].rstrip(".") for line in lines if "into the scratch database" in line)
    restored = url.set(database=scratch)
    try:
        assert summary(restored) == summary(url)  # the page from the backup is the page
    finally:
        drop_pg_database(restored)


def test_without_keep_the_scratch_copy_is_dropped(live, tmp_path):
    url, _engine, ini = live
    assert backup(url, tmp_path).returncode == 0
    (dump,) = tmp_path.glob("statusweb-*.dump")
    assert statusweb_admin("restore-check", str(ini), str(dump), timeout=300).returncode == 0
    with _admin_engine().connect() as connection:
        left = (
            connection.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{url.database}_restore_check_%"}
            )
            .scalars()
            .all()
        )
    assert left == []


def test_bad_dumps_and_databases_are_refused_with_what_to_do(live, tmp_path):
    url, _engine, ini = live
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"PGDMP" + os.urandom(2000))
    for dump, says in ((garbage, "pg_restore could not restore"), (tmp_path / "missing.dump", "no dump at")):
        refused = statusweb_admin("restore-check", str(ini), str(dump), timeout=300)
        assert refused.returncode == 2 and says in refused.stderr and "Traceback" not in refused.stderr
    sqlite = tmp_path / "sqlite.ini"
    sqlite.write_text(f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = sqlite:///{tmp_path / 'x.sqlite'}\n")
    refused = statusweb_admin("restore-check", str(sqlite), str(garbage), timeout=300)
    assert refused.returncode == 2 and "needs the PostgreSQL" in refused.stderr


def test_a_failed_backup_leaves_the_earlier_ones_and_no_partial_file(live, tmp_path):
    url, _engine, _ini = live
    assert backup(url, tmp_path).returncode == 0
    before = sorted(tmp_path.glob("statusweb-*.dump"))
    failed = backup(url.set(database="no_such_database_here"), tmp_path)
    assert failed.returncode != 0 and "pg_dump failed; the earlier backups are untouched" in failed.stderr
    assert sorted(tmp_path.glob("statusweb-*.dump")) == before and not list(tmp_path.glob(".*partial"))
    assert backup(url, tmp_path, keep=0).returncode == 2
