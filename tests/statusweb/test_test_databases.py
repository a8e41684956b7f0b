"""The suite's own PostgreSQL databases (issue 30, point 10): on a server two machines
share, a run drops only the orphans its own host left, never another host's live ones."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import text

from tests.statusweb.conftest import (
    PREFIX,
    _admin_engine,
    _drop_orphans,
    create_pg_database,
    database_name,
    drop_pg_database,
)


def _exists(connection, name: str) -> bool:
    return connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None


def test_only_this_hosts_dead_runs_databases_are_dropped():
    drop_pg_database(create_pg_database())  # skips (or fails on CI) without PostgreSQL
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()  # a pid that has just ended
    ours, theirs = database_name(int(dead)), database_name(int(dead), hostname="other-machine.example")
    admin = _admin_engine()
    try:
        with admin.connect() as connection:
            for name in (ours, theirs):
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            _drop_orphans(connection)
            assert not _exists(connection, ours)  # this host's, its process gone: dropped
            assert _exists(connection, theirs)  # the other machine's: never ours to judge
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{theirs}" WITH (FORCE)'))
        admin.dispose()
    assert ours.startswith(PREFIX) and len(ours) <= 63


def test_the_prefix_comes_from_the_environment_and_is_checked(tmp_path):
    program = "import tests.statusweb.conftest as c; print(c.database_name(1, 'ci-7.example'))"
    named = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        env={"STATUS_TEST_DB_PREFIX": "teamb_", "PATH": "/usr/bin:/bin"},
    )
    assert named.returncode == 0, named.stderr
    assert named.stdout.startswith("teamb_ci7example_1_")
    refused = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        env={"STATUS_TEST_DB_PREFIX": "Bad-Prefix;", "PATH": "/usr/bin:/bin"},
    )
    assert refused.returncode != 0 and "STATUS_TEST_DB_PREFIX" in refused.stderr
