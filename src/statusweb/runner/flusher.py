"""SqlStore's rhythm: its batch written at least every `interval`, at once when woken (an
alert waits to be stored), and after a failure a pause of twice the interval, so a sick
database gets room to breathe instead of a retry at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Flusher:
    """Calls `flush` (True when it wrote) until stopped; started on first use."""

    def __init__(self, flush: Callable[[], Awaitable[bool]], interval: float) -> None:
        self.flush = flush
        self.interval = interval
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.ensure_future(self._run())

    def wake(self) -> None:
        """Write now (started first, if it was not)."""
        self.start()
        assert self._wake is not None
        self._wake.set()

    async def stop(self) -> None:
        """Let a write in progress end; the caller writes what is left."""
        if self._task is not None:
            # A flag, not cancel(): on Python 3.11 a cancellation that races a wake-up
            # can be swallowed by the wait, and the flusher would run on.
            self._closing = True
            self.wake()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closing:
            try:
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if self._closing:
                return
            if not await self.flush():
                await _pause(self.interval * 2, self._wake)  # let a sick database breathe


async def _pause(seconds: float, wake: asyncio.Event) -> None:
    """Sleep, but wake early when asked (to close)."""
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        pass
