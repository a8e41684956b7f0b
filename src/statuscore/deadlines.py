"""Deadlines for check attempts, cheaper than `asyncio.timeout` at thousands a second.

`asyncio.timeout` pushes a timer handle on the loop's heap for every attempt and cancels
it after: about a twentieth of a cheap check's CPU (bench/engine.py). Here attempts
register in slots of `SLOT` seconds, and one timer per loop sweeps the slots that have
passed: registering is a set insertion, and a deadline fires at most one slot late.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import weakref
from types import TracebackType

SLOT = 0.01  # seconds: how late a deadline may fire


class Deadline:
    """`with Deadline(at):` (or `async with`) inside a task raises TimeoutError when the
    loop's clock passes `at` inside the block, as `asyncio.timeout_at(at)` does; an
    outside cancellation still propagates as CancelledError.

    Pass the running `loop` when the caller has it: CPython finds it with a getpid()
    system call, which the check path would otherwise make twice on every check."""

    __slots__ = ("at", "expired", "_loop", "_task", "_wheel", "_slot")

    def __init__(self, at: float, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.at = at
        self.expired = False
        self._loop = loop

    def __enter__(self) -> Deadline:
        """`with Deadline(at):` inside a coroutine: the same without the two coroutine
        objects `async with` makes (the check path runs it for every attempt)."""
        task = asyncio.current_task(self._loop)
        if task is None:
            raise RuntimeError("Deadline must be used inside a task (of `loop`, when given)")
        self._task = task
        self._wheel = _wheel_for(self._loop or task.get_loop())
        self._slot = self._wheel.add(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._wheel.discard(self)
        if self.expired and kind is asyncio.CancelledError and self._task.uncancel() == 0:
            raise TimeoutError from exc

    async def __aenter__(self) -> Deadline:
        return self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(kind, exc, tb)

    def expire(self) -> None:
        self.expired = True
        self._task.cancel()


class _Wheel:
    """One loop's pending deadlines, by slot number, and one timer for the earliest."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # weak, like `_wheels`' key: a finished loop must be free to go
        self._slots: dict[int, set[Deadline]] = {}
        self._order: list[int] = []  # slot numbers with a set, earliest first
        self._timer: asyncio.TimerHandle | None = None
        self._timer_slot: int | None = None
        self._pending = 0  # deadlines registered and not yet discarded or expired

    def add(self, deadline: Deadline) -> int:
        slot = math.ceil(deadline.at / SLOT)
        waiting = self._slots.get(slot)
        if waiting is None:
            waiting = self._slots[slot] = set()
            heapq.heappush(self._order, slot)
            if self._timer_slot is None or slot < self._timer_slot:
                self._arm(slot)
        waiting.add(deadline)
        self._pending += 1
        return slot

    def discard(self, deadline: Deadline) -> None:
        waiting = self._slots.get(deadline._slot)
        if waiting is not None and deadline in waiting:
            waiting.remove(deadline)
            self._pending -= 1
            if not self._pending:
                self._reset()

    def _reset(self) -> None:
        """Nothing pending: drop the slots and the timer (which holds the loop)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_slot = None
        self._slots.clear()
        self._order.clear()

    def _arm(self, slot: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = self._loop()
        if loop is not None:
            self._timer_slot = slot
            self._timer = loop.call_at(slot * SLOT, self._sweep)

    def _sweep(self) -> None:
        self._timer = self._timer_slot = None
        loop = self._loop()
        if loop is None:
            return
        now = loop.time()
        while self._order and self._order[0] * SLOT <= now:
            for deadline in self._slots.pop(heapq.heappop(self._order)):
                self._pending -= 1
                deadline.expire()
        if self._order:
            self._arm(self._order[0])


_wheels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wheel] = weakref.WeakKeyDictionary()
# The wheel handed out last, nearly always the one asked for next: one weak reference to
# call instead of a WeakKeyDictionary lookup, which makes a new one on every attempt.
_latest: _Wheel | None = None


def _wheel_for(loop: asyncio.AbstractEventLoop) -> _Wheel:
    global _latest
    wheel = _latest
    if wheel is None or wheel._loop() is not loop:
        wheel = _wheels.get(loop)
        if wheel is None:
            wheel = _wheels[loop] = _Wheel(loop)
        _latest = wheel
    return wheel
