"""`postgres` and `redis` against the PostgreSQL and Redis on 127.0.0.1: a database that
answers, one that does not exist, a port nobody listens on, a query too slow for the
timeout, a query that would write, and the URL's password never in a reason."""

from __future__ import annotations

import os
import socket

import pytest

from statuscore import ConfigError, Status, load_config
from statuscore.testing import HOST, run_check

PG = os.environ.get("STATUSCORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("STATUSCORE_TEST_REDIS", "redis://127.0.0.1:6379/0")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def reachable(url: str, port: int) -> None:
    try:
        socket.create_connection((HOST, port), timeout=2).close()
    except OSError:
        message = f"nothing listens at {url.split('@')[-1]}: the machine's service is needed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


async def test_postgres_answers_and_its_value_is_usable_in_conditions():
    reachable(PG, 5432)
    result = await run_check("postgres", url=PG, conditions=["postgres.value == 1", "postgres.server_version > 90000"])
    assert result.status is Status.UP, result.error
    counted = await run_check(
        "postgres", url=PG, query="SELECT count(*) FROM pg_database", conditions=["postgres.value > 0"]
    )
    assert counted.status is Status.UP, counted.error


async def test_postgres_failures_say_why_without_the_password():
    reachable(PG, 5432)
    secret = PG.replace("postgres@", "postgres:hunter2-secret@")
    missing = await run_check("postgres", url=secret.rsplit("/", 1)[0] + "/no_such_database", retries=0)
    assert missing.status is Status.DOWN and "no_such_database" in missing.error and "hunter2" not in missing.error
    refused = await run_check(
        "postgres", url=f"postgresql://postgres:hunter2-secret@127.0.0.1:{closed_port()}/x", retries=0
    )
    assert refused.status is Status.DOWN and "hunter2" not in refused.error
    slow = await run_check("postgres", url=PG, query="SELECT pg_sleep(10)", timeout="1s", retries=0)
    assert slow.status is Status.DOWN and slow.latency < 5
    writing = await run_check("postgres", url=PG, query="CREATE TABLE statuscore_monitor_wrote (x int)", retries=0)
    assert writing.status is Status.DOWN and "read-only" in writing.error


async def test_redis_pings():
    reachable(REDIS, 6379)
    result = await run_check("redis", url=REDIS, conditions=['redis.reply == "PONG"', "redis.version exists"])
    assert result.status is Status.UP, result.error


async def test_redis_that_is_not_there_is_down_within_the_timeout():
    result = await run_check("redis", url=f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0", retries=0)
    assert result.status is Status.DOWN and "hunter2" not in result.error


@pytest.mark.parametrize(
    ("table", "key", "said"),
    [
        ('type = "postgres"\nurl = "mysql://db/x"', "url", "expected postgresql:// or postgres://"),
        (
            'type = "postgres"\nurl = "postgresql://db/x"\nquery = "SELECT 1; DROP TABLE x"',
            "query",
            "one SQL statement",
        ),
        ('type = "redis"\nurl = "http://cache:6379"', "url", "expected redis:// or rediss://"),
        ('type = "redis"\nurl = "redis://cache:6379\\r\\nX"', "url", "control character"),
    ],
)
def test_mistakes_fail_at_load_naming_the_key_and_never_the_password(tmp_path, table, key, said):
    path = tmp_path / "monitors.toml"
    path.write_text(f'[[monitor]]\nname = "Database"\n{table}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env={})
    assert caught.value.key == key and said in caught.value.message, str(caught.value)


def test_the_url_is_never_in_the_repr(tmp_path):
    path = tmp_path / "monitors.toml"
    path.write_text('[[monitor]]\nname = "Database"\ntype = "postgres"\nurl = "${DB_URL}"\n')
    (monitor,) = load_config(str(path), env={"DB_URL": "postgresql://u:hunter2-secret@db/x"}).monitors
    assert "hunter2" not in repr(monitor)
