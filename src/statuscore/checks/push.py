"""`push`: the job calls us (Uptime Kuma's push shape). UP while the last push is
recent enough and said up; DOWN when none came within expect_every + grace, or
when the job said it failed; before its first push is due, waiting (UNKNOWN: no
verdict, not down, no latency)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..durations import format_duration
from ..errors import FieldError
from ..hookspecs import hookimpl
from ..model import Attempt
from ..schema import Duration
from .base import CheckContext, CheckType

MIN_TOKEN_CHARS = 24


@dataclass(frozen=True, kw_only=True)
class PushConfig:
    token: str
    expect_every: Duration
    grace: Duration = 0.0

    def __post_init__(self) -> None:
        if len(self.token) < MIN_TOKEN_CHARS:
            raise FieldError(
                "token",
                f"must be at least {MIN_TOKEN_CHARS} characters (it is the only "
                "secret a job needs); e.g. python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(24))'",
            )
        if not all(c.isalnum() or c in "-_." for c in self.token):
            raise FieldError("token", "may hold only letters, digits, '-', '_' and '.' (it goes in a URL)")
        if self.expect_every < 1:
            raise FieldError("expect_every", "must be at least 1s")

    def __repr__(self) -> str:  # never print the token
        return f"PushConfig(expect_every={self.expect_every}, grace={self.grace})"


class PushCheck(CheckType[PushConfig]):
    name = "push"
    Config = PushConfig

    _first_run_at: datetime | None = None

    def _first_run(self, now: datetime) -> datetime:
        if self._first_run_at is None:
            self._first_run_at = now
        return self._first_run_at

    async def run(self, ctx: CheckContext) -> Attempt:
        allowed = self.config.expect_every + self.config.grace
        record = await ctx.pushes.last_push(ctx.monitor.slug) if ctx.pushes else None
        now = ctx.now
        expected = _describe(self.config.expect_every, self.config.grace)
        if record is None or record.at is None:
            # the first push is due `allowed` after watching began: the ledger's word for
            # when (statusweb's: the service's creation), else this check's first run
            since = (record.watching_since if record else None) or self._first_run(now)
            if (now - since).total_seconds() <= allowed:  # nobody could have pushed yet: no verdict
                return Attempt(
                    ok=True,
                    values={"last_push": None},
                    pending=f"waiting for its first push (expected every {expected})",
                )
            return Attempt(
                ok=False, values={"last_push": None}, error=f"no push received yet (expected every {expected})"
            )
        # `last_push` tells alerts to say when the job last reported, not an HTTP code
        values: dict[str, Any] = {"last_push": record.at.isoformat()}
        if record.ping_ms is not None:
            values["latency_ms"] = record.ping_ms
        age = (now - record.at).total_seconds()
        if age > allowed:
            return Attempt(
                ok=False, values=values, error=(f"no push for {format_duration(age)} (expected every {expected})")
            )
        if record.status == "down":
            said = f": {record.message}" if record.message else ""
            return Attempt(ok=False, values=values, error=f"the job reported down{said}")
        return Attempt(ok=True, values=values)


def _describe(every: float, grace: float) -> str:
    text = format_duration(every)
    return f"{text} + {format_duration(grace)} grace" if grace else text


@hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [PushCheck]
