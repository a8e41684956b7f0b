"""The migrations build exactly the models' schema and come apart cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text

from statusweb.migrations import downgrade, upgrade
from statusweb.models import Base, RollupDaily, get_engine
from tests.statusweb.conftest import create_pg_database, drop_pg_database
from tests.test_deployment import statusweb_admin


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = get_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
        yield engine
        engine.dispose()
        return
    url = create_pg_database()
    engine = get_engine(url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    drop_pg_database(url)


def test_upgrade_downgrade_round_trip(fresh_engine):
    upgrade(fresh_engine)
    tables = set(inspect(fresh_engine).get_table_names())
    assert tables == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    with fresh_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    downgrade(fresh_engine, "base")
    assert set(inspect(fresh_engine).get_table_names()) == {"alembic_version"}
    upgrade(fresh_engine)
    assert set(inspect(fresh_engine).get_table_names()) == tables


def test_histograms_stored_as_text_move_into_columns(fresh_engine):
    """A database from before 0004 with rollups in it: after the upgrade each band's
    count sits in its column, and /metrics-style SUMs add them up."""
    engine = fresh_engine
    upgrade(engine, "0003")
    day = datetime(2026, 2, 8, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO service (id, slug, name, type, position, group_name, description, "
                "hidden, created_at, updated_at) VALUES (1, 'site', 'Site', 'http', 0, '', '', "
                ":no, :at, :at)"
            ),
            {"no": False, "at": day},
        )
        for offset, histogram in enumerate(["3 0 12 0 0 0 0 0 0 0 0 0 0 0 1", "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", ""]):
            connection.execute(
                text(
                    "INSERT INTO rollup_daily (service_id, bucket, up_count, degraded_count, down_count, "
                    "maintenance_count, latency_count, latency_sum_ms, latency_max_ms, latency_p95_ms, "
                    "latency_histogram) VALUES (1, :bucket, 16, 0, 0, 0, 16, 1000, 40000, 100, :histogram)"
                ),
                {"bucket": day.replace(day=8 + offset), "histogram": histogram},
            )
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(RollupDaily.latency_le_25, RollupDaily.latency_le_100, RollupDaily.latency_le_inf).order_by(
                RollupDaily.bucket
            )
        ).all()
    assert [tuple(row) for row in rows] == [(3, 12, 1), (1, 1, 1), (0, 0, 0)]
    with engine.begin() as connection:
        connection.execute(
            insert(RollupDaily),
            [
                {
                    "service_id": 1,
                    "bucket": day.replace(day=20),
                    "up_count": 1,
                    "degraded_count": 0,
                    "down_count": 0,
                    "maintenance_count": 0,
                    "latency_count": 1,
                    "latency_sum_ms": 5,
                    "latency_max_ms": 5,
                    "latency_le_25": 1,
                }
            ],
        )


def test_existing_data_lands_on_the_default_page_of_the_default_organization(fresh_engine):
    """A single-page install from before 0008 with services, an incident, maintenance, a
    subscriber and two users: afterwards all of it is on the default page (page_id NULL),
    the default organization and page exist, and the users are its owner and admin."""
    engine = fresh_engine
    upgrade(engine, "0007")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    no = False
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO service (id, slug, name, type, position, group_name, description, "
                "hidden, created_at, updated_at) VALUES (1, 'site', 'Site', 'http', 0, '', '', "
                ":no, :at, :at)"
            ),
            {"no": no, "at": at},
        )
        connection.execute(
            text(
                "INSERT INTO incident (id, title, impact, status, root_cause, created_at, "
                "updated_at, deleted) VALUES (1, 'Down', 'major', 'investigating', '', :at, :at, "
                ":no)"
            ),
            {"no": no, "at": at},
        )
        connection.execute(
            text(
                "INSERT INTO maintenance (id, title, description, starts_at, ends_at, status, "
                "all_services, rrule, created_at, updated_at, author) VALUES (1, 'Deploy', '', "
                ":at, :at, 'scheduled', :no, '', :at, :at, '')"
            ),
            {"no": no, "at": at},
        )
        for user_id, name, role in ((1, "ada", "admin"), (2, "bo", "editor")):
            connection.execute(
                text(
                    'INSERT INTO "user" (id, name, password_hash, role, created_at, '
                    "session_generation, disabled) VALUES (:id, :name, 'x', :role, :at, 0, :no)"
                ),
                {"id": user_id, "name": name, "role": role, "at": at, "no": no},
            )
    upgrade(engine)
    with engine.connect() as connection:
        for table in ("service", "incident", "maintenance"):
            assert connection.execute(text(f"SELECT page_id FROM {table}")).scalars().all() == [None], table
        assert connection.execute(text("SELECT slug FROM organization")).scalars().all() == ["default"]
        assert connection.execute(text("SELECT slug, private FROM page")).all() == [("default", False)]
        roles = connection.execute(
            text('SELECT u.name, m.role FROM membership m JOIN "user" u ON u.id = m.user_id ORDER BY u.name')
        ).all()
        assert [tuple(row) for row in roles] == [("ada", "owner"), ("bo", "admin")]
        assert connection.execute(text("SELECT title FROM incident")).scalar_one() == "Down"  # nothing lost


def test_domains_set_before_verification_keep_serving(fresh_engine):
    """0012: a page whose domain was set before domains needed proof is marked verified
    (an upgrade takes no page off its address); a page without one stays without."""
    engine = fresh_engine
    upgrade(engine, "0011")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as connection:
        organization = connection.execute(text("SELECT id FROM organization")).scalar_one()
        for page_id, slug, domain in ((10, "acme", "status.acme.example.org"), (11, "beta", None)):
            connection.execute(
                text(
                    "INSERT INTO page (id, organization_id, slug, name, private, domain, created_at, "
                    "updated_at) VALUES (:id, :org, :slug, :slug, :no, :domain, :at, :at)"
                ),
                {"id": page_id, "org": organization, "slug": slug, "no": False, "domain": domain, "at": at},
            )
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT slug, domain_verified_at IS NOT NULL, domain_verified_by FROM page "
                "WHERE slug IN ('acme', 'beta') ORDER BY slug"
            )
        ).all()
    assert [tuple(row) for row in rows] == [("acme", True, "set before verification existed"), ("beta", False, "")]


def test_the_cli_says_what_an_upgrade_ran_and_where_the_database_is(fresh_engine, tmp_path):
    """Issue 30: upgrading 0005 -> 0010 printed "database is at the newest schema", as a
    no-op does. Through the CLI as an operator runs it (a subprocess)."""
    from statusweb.migrations import history

    upgrade(fresh_engine, "0005")
    ini = tmp_path / "app.ini"
    url = fresh_engine.url.render_as_string(hide_password=False)
    ini.write_text(f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {url}\n")
    newest = history()[-1].id
    behind = statusweb_admin("db", "current", str(ini))
    assert behind.returncode == 0 and behind.stdout.startswith("0005; the newest is " + newest)
    listed = statusweb_admin("db", "history", str(ini)).stdout.splitlines()
    assert listed[0].startswith("0001  ") and "0005  " in listed[4] and listed[4].endswith("<- this database")
    done = statusweb_admin("db", "upgrade", str(ini))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ran = len(history()) - 5
    assert lines[0] == f"upgraded from 0005 to {newest}, {ran} migrations:"
    assert [line.split()[0] for line in lines[1:]] == [r.id for r in history()[5:]]
    assert (
        statusweb_admin("initdb", str(ini)).stdout.strip()
        == f"database is at the newest schema ({newest}); nothing to do"
    )
    assert statusweb_admin("db", "current", str(ini)).stdout.strip() == f"{newest} (the newest)"


def test_alembic_upgrade_head_works_from_a_clone(tmp_path):
    """The `alembic` command, run from the repository's root with DATABASE_URL, as the
    README says: no "No 'script_location' key"."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    alembic = Path(os.path.dirname(__import__("sys").executable)) / "alembic"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'clone.sqlite'}"}
    done = subprocess.run(
        [str(alembic), "upgrade", "head"], cwd=root, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    current = subprocess.run([str(alembic), "current"], cwd=root, capture_output=True, text=True, timeout=60, env=env)
    assert "(head)" in current.stdout
    assert (tmp_path / "clone.sqlite").exists() and not (root / "var" / "clone.sqlite").exists()
