"""Database fixtures: every database test runs on SQLite and on the real PostgreSQL.

Each test run creates its own PostgreSQL database (and drops it afterwards, and drops
ones this machine's killed runs left), so parallel or interrupted runs never collide.
A database's name is `STATUS_TEST_DB_PREFIX` (default `statusweb_test_`), this host's
name, the process id and a random tag: on a PostgreSQL server that several machines
share, a run only ever drops databases its own host made. With CI set, an unreachable
PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import re
import secrets
import socket

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import OperationalError

from statusweb.migrations import upgrade
from statusweb.models import Base, get_engine
from statusweb.runner.spool import process_alive

PG_URL = os.environ.get("STATUS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PREFIX = os.environ.get("STATUS_TEST_DB_PREFIX", "statusweb_test_")
if not re.fullmatch(r"[a-z][a-z0-9_]{0,29}", PREFIX):
    raise pytest.UsageError(
        f"STATUS_TEST_DB_PREFIX={PREFIX!r}: lower-case letters, digits and _, at most 30, starting with a letter"
    )


def host_tag(hostname: str | None = None) -> str:
    """This host in a database name: its name's letters and digits, at most 16."""
    return re.sub(r"[^a-z0-9]", "", (hostname or socket.gethostname()).lower())[:16] or "host"


def database_name(pid: int | None = None, hostname: str | None = None) -> str:
    return f"{PREFIX}{host_tag(hostname)}_{os.getpid() if pid is None else pid}_{secrets.token_hex(4)}"


def _admin_engine() -> Engine:
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def create_pg_database() -> URL:
    """A new, empty PostgreSQL database for this process; skips (or fails on CI) when
    the server is unreachable."""
    admin = _admin_engine()
    try:
        with admin.connect() as connection:
            _drop_orphans(connection)
            name = database_name()
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        message = f"PostgreSQL unreachable at {make_url(PG_URL).render_as_string()}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so this fails the run)")
        pytest.skip(message)
    finally:
        admin.dispose()
    return make_url(PG_URL).set(database=name)


def drop_pg_database(url: URL) -> None:
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _drop_orphans(connection) -> None:  # type: ignore[no-untyped-def]
    """Drop test databases this host made whose process is gone (a run that was killed);
    another host's are never touched, whatever their process ids."""
    mine = f"{PREFIX}{host_tag()}_"
    names = connection.execute(
        text("SELECT datname FROM pg_database WHERE starts_with(datname, :p)"), {"p": mine}
    ).scalars()
    for name in list(names):
        pid = name[len(mine) :].split("_")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_url():
    url = create_pg_database()
    yield url
    drop_pg_database(url)


def sqlite_url(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'statusweb.sqlite'}"


def migrated(url: str) -> Engine:
    engine = get_engine(url)
    upgrade(engine)
    return engine


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_engine(request, tmp_path_factory):
    """One migrated database per backend for the whole run."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory)
    else:
        url = request.getfixturevalue("pg_url").render_as_string(hide_password=False)
    engine = migrated(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine):
    """The backend's database, emptied before the test."""
    with migrated_engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    return migrated_engine


@pytest.fixture
def db_url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def make_testapp(db_url):
    """A webtest app over the test database (no runner thread); settings may be overridden.
    Each app's engine is disposed after the test, so connections never pile up."""
    from webtest import TestApp

    from statusweb import main

    built = []

    def build(**overrides):
        settings = {
            "sqlalchemy.url": db_url,
            "statusweb.runner": "false",
            "statusweb.page_cache_seconds": "0",
            "statusweb.history_seconds": "0",
            "statusweb.page_url": "http://localhost",
            "statusweb.metrics_public": "true",
            "statusweb.metrics_cache_seconds": "0",
            **overrides,
        }
        app = TestApp(main({"here": "."}, **settings))
        built.append(app)
        return app

    yield build
    for app in built:
        app.app.registry["statusweb.engine"].dispose()


@pytest.fixture
def testapp(make_testapp):
    return make_testapp()
