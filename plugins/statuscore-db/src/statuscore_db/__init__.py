"""`postgres` and `redis`: the database accepts a connection and answers one harmless
query, within the monitor's timeout.

[[monitor]]
name = "Database"
type = "postgres"
url = "${STATUS_DB_URL}"          # postgresql://monitor:secret@db:5432/sefaria, from the environment
query = "SELECT 1"                # the default; run in a read-only transaction
conditions = ["postgres.value == 1"]

[[monitor]]
name = "Cache"
type = "redis"
url = "${STATUS_REDIS_URL}"       # redis://:secret@cache:6379/0, rediss:// for TLS

A URL holds a password, so it comes from the environment (`${NAME}`) and is never shown:
not in a reason, a log line or the config's repr. `postgres` runs `query` in a read-only
transaction with a statement timeout of what is left of the monitor's timeout, so a
monitor can never write or hold a lock for long; conditions see `postgres.value` (the
first column of the first row) and `postgres.server_version`. `redis` sends PING
(conditions see `redis.reply`, "PONG") and reads `redis.version` from INFO server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import statuscore
from statuscore import Attempt, CheckContext, CheckType, FieldError, has_control_characters


def _checked_url(url: str, schemes: tuple[str, ...]) -> str:
    if has_control_characters(url):
        raise FieldError("url", "a URL may not hold a control character")
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        shown = f"{parts.scheme}://" if parts.scheme else "it"
        raise FieldError("url", f"expected {' or '.join(s + '://' for s in schemes)}host..., got {shown}")
    return url


@dataclass(frozen=True, kw_only=True)
class PostgresConfig:
    url: str
    query: str = "SELECT 1"

    def __post_init__(self) -> None:
        _checked_url(self.url, ("postgresql", "postgres"))
        if not self.query.strip() or ";" in self.query.strip().rstrip(";"):
            raise FieldError("query", "one SQL statement (it runs read-only)")

    def __repr__(self) -> str:  # the URL holds a password
        return f"PostgresConfig(query={self.query!r})"


@dataclass(frozen=True, kw_only=True)
class RedisConfig:
    url: str

    def __post_init__(self) -> None:
        _checked_url(self.url, ("redis", "rediss"))

    def __repr__(self) -> str:
        return "RedisConfig(...)"


class PostgresCheck(CheckType[PostgresConfig]):
    name = "postgres"
    Config = PostgresConfig
    condition_subjects = frozenset({"postgres"})

    async def run(self, ctx: CheckContext) -> Attempt:
        import psycopg

        parts = urlsplit(self.config.url)
        ctx.phase = f"connecting to {parts.hostname}:{parts.port or 5432}"
        budget = max(0.1, ctx.remaining())
        try:
            connection = await psycopg.AsyncConnection.connect(
                self.config.url.replace("postgres://", "postgresql://", 1), connect_timeout=max(1, int(budget))
            )
        except psycopg.OperationalError as exc:
            return Attempt(ok=False, retryable=True, error=_first_line(exc))
        version = connection.info.server_version
        try:
            ctx.phase = "running the query"
            await connection.set_read_only(True)
            async with connection.cursor() as cursor:
                await cursor.execute(f"SET statement_timeout = {max(100, int(ctx.remaining() * 1000))}")
                await cursor.execute(self.config.query)  # the operator's own SQL, read-only
                row = await cursor.fetchone() if cursor.description else None
            await connection.rollback()
        except psycopg.Error as exc:
            return Attempt(ok=False, retryable=isinstance(exc, psycopg.OperationalError), error=_first_line(exc))
        finally:
            await connection.close()
        value = row[0] if row else None
        values = {"postgres": {"value": _plain(value), "server_version": version}}
        return Attempt(ok=True, values=values)


class RedisCheck(CheckType[RedisConfig]):
    name = "redis"
    Config = RedisConfig
    condition_subjects = frozenset({"redis"})

    async def run(self, ctx: CheckContext) -> Attempt:
        import redis.asyncio
        import redis.exceptions

        parts = urlsplit(self.config.url)
        ctx.phase = f"connecting to {parts.hostname}:{parts.port or 6379}"
        budget = max(0.1, ctx.remaining())
        client = redis.asyncio.Redis.from_url(
            self.config.url, socket_connect_timeout=budget, socket_timeout=budget, retry_on_timeout=False
        )
        try:
            reply = await client.ping()
            ctx.phase = "reading INFO server"
            info = await client.info("server")
        except redis.exceptions.AuthenticationError:
            return Attempt(ok=False, error="the password was refused (AUTH)")
        except (redis.exceptions.RedisError, OSError) as exc:
            return Attempt(ok=False, retryable=True, error=_first_line(exc))
        finally:
            await client.aclose()
        values = {"redis": {"reply": "PONG" if reply else "", "version": str(info.get("redis_version", ""))}}
        return Attempt(ok=bool(reply), values=values, error=None if reply else "PING had no answer")


def _first_line(exc: BaseException) -> str:
    """The driver's reason, one line, with any URL in it cut down to its host."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return statuscore.redact_urls(text)[:200]


def _plain(value: Any) -> Any:
    """A value conditions can compare: numbers, text, booleans and None as they are."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


@statuscore.hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [PostgresCheck, RedisCheck]
