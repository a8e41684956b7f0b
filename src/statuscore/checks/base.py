"""What a check type is, and what it gets to work with.

A check type only probes (the blackbox_exporter shape): the runner in
`statuscore.checking` owns the deadline, turns exceptions into reasons, measures the
duration and evaluates conditions. So `run` is usually a dozen lines.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import aiohttp
from yarl import URL

from ..clock import utcnow
from ..model import Attempt, Monitor
from ..push import PushLedger


@dataclass
class CheckContext:
    """Handed to `CheckType.run`: the shared session, the deadline and a logger.

    Set `phase` as the check moves on ("waiting for headers", "polling task 7 (2/10)"):
    when the deadline passes, the timeout reason says where the time ran out.
    """

    session: aiohttp.ClientSession
    monitor: Monitor
    deadline: float
    log: logging.Logger | logging.LoggerAdapter[Any]
    phase: str = "connecting"
    now: datetime = field(default_factory=utcnow)  # the scheduler's clock, when the check began
    pushes: PushLedger | None = None  # where `push` monitors' pushes are (None: nowhere)

    def remaining(self) -> float:
        """Seconds left before the monitor's timeout, by the event loop's clock."""
        return max(0.0, self.deadline - asyncio.get_running_loop().time())

    def __deepcopy__(self, memo: dict[int, Any]) -> CheckContext:
        # A live handle (session, loop): copying it is meaningless. Request recorders
        # that deep-copy request kwargs (aioresponses) get the same object back.
        return self

    async def sleep(self, seconds: float) -> None:
        """Wait inside a check (between polls); the deadline still cuts it short."""
        await asyncio.sleep(min(seconds, self.remaining()))

    def request(self, method: str, url: str | URL, **kwargs: Any) -> Any:
        """`session.request(...)` for this check: `async with ctx.request("GET", url) as
        response:`. With `phase` set to "connecting to host:port" before it, a timeout
        says whether the time ran out connecting or waiting for headers, on any session
        (`reasons.phase_when_raised`)."""
        return self.session.request(method, url, **kwargs)


ConfigT = TypeVar("ConfigT")


class CheckType(Generic[ConfigT]):
    """Base for check types: set `name` and `Config`, write `run`. Subclass it as
    `CheckType[MyConfig]` and `self.config` is typed as your `MyConfig`.

    `Config` is a frozen dataclass validated at load time by `statuscore.schema`
    (raise `statuscore.FieldError(key, message)` from `__post_init__` for rules the
    annotations cannot say). `condition_subjects` names extra values the check reports
    in `Attempt.values` that conditions may test (e.g. `days_left`). `public_degraded`
    is the default of the monitor key of that name: False when this type's DEGRADED is
    for operators only (a certificate expiring soon is not a degraded service).
    `third_party` marks a type that reports someone else's status (a vendor's
    Statuspage): its monitors are shown in a "Third-party" group, never alerted unless
    they set `notify = true`, and left out of a status page's overall status.
    """

    name: ClassVar[str]
    Config: ClassVar[type[Any]]
    condition_subjects: ClassVar[frozenset[str]] = frozenset()
    public_degraded: ClassVar[bool] = True
    third_party: ClassVar[bool] = False

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    async def run(self, ctx: CheckContext) -> Attempt:
        raise NotImplementedError
