"""Runs every monitor on its interval, in one asyncio loop, through the whole pipeline:
check (with retries) -> state machine -> store (result, state, transitions, alerts in one
call) -> notifier. Designed for 10,000 monitors in one process: a heap of due times,
one shared session, a concurrency limit, and first checks spread over an interval so a
restart does not hit every target at once.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import aiohttp

from .alerts.base import AlertSink
from .alerts.notifier import Notifier
from .alerts.queueing import alerts_for
from .checking import build_check
from .clock import Clock, SystemClock
from .dependencies import Dependencies
from .maintenance import MaintenanceSource
from .model import Alert, CheckResult, Monitor, Status, Transition
from .plugins import PluginRegistry, default_registry
from .pool import map_limited
from .push import PushLedger
from .session import new_session
from .state import MonitorState, advance
from .store import MemoryStore, Store

log = logging.getLogger("statuscore.scheduler")

ResultHook = Callable[[CheckResult], None]
# Between a check and the state machine: the result to judge, or None to judge nothing
# (a process that is one of several vantage points records its observation and stops).
Verdict = Callable[[Monitor, CheckResult], "CheckResult | None"]
TransitionHook = Callable[[Transition], None]
HookValue = TypeVar("HookValue")
START_RATE = 50.0  # first checks per second, at most, when spreading the first round
# Checks due within this many seconds of each other start together: each at most that
# late, and the event loop woken once for them instead of once each (bench/restart.py,
# 10,000 monitors a minute: runner CPU per check 0.80 -> 0.34 ms, most of it the loop's
# own work for checks started one by one). Not applied to a virtual clock.
LAUNCH_TICK = 0.05
NO_STATE = MonitorState()  # a monitor never checked (frozen: one instance serves them all)


class Scheduler:
    """Checks `monitors` forever (or for `duration` seconds) until `stop()`.

    Hooks: `on_result(result)` after every check, `on_transition(transition)` after
    every state change; plugins' `statuscore_on_transition` is called too. Pass a
    `clock` (see `statuscore.testing.FakeClock`) to run through virtual time,
    `maintenance` (a `MaintenanceCalendar`) to record checks inside windows as
    MAINTENANCE, `pushes` (a `PushLedger`) for `push` monitors, and `verdict` to judge
    a result together with other vantage points' before the state machine sees it.
    `states_elsewhere` gives the state of a monitor another process checks (by slug),
    for the alerts of monitors that depend on it.
    """

    def __init__(
        self,
        monitors: Iterable[Monitor],
        *,
        store: Store | None = None,
        sinks: Sequence[AlertSink[Any]] = (),
        registry: PluginRegistry | None = None,
        clock: Clock | None = None,
        concurrency: int = 100,
        keepalive: bool = True,
        session: aiohttp.ClientSession | None = None,
        on_result: ResultHook | None = None,
        on_transition: TransitionHook | None = None,
        seed: int | None = None,
        maintenance: MaintenanceSource | None = None,
        pushes: PushLedger | None = None,
        verdict: Verdict | None = None,
        launch_tick: float = LAUNCH_TICK,
        alert_jitter: Callable[[float], float] | None = None,
        states_elsewhere: Callable[[str], MonitorState | None] | None = None,
    ) -> None:
        self.registry = registry or default_registry()
        self.checks = [build_check(m, self.registry) for m in monitors]
        self.store: Store = store if store is not None else MemoryStore()
        self.sinks = {sink.instance_name: sink for sink in sinks}
        self.clock: Clock = clock or SystemClock()
        self.concurrency = concurrency
        self.keepalive = keepalive
        self.on_result = on_result
        self.on_transition = on_transition
        self.maintenance = maintenance
        self.pushes = pushes
        self.verdict = verdict
        self.launch_tick = launch_tick
        self.alert_jitter = alert_jitter  # the notifier's retry jitter (tests pass no_jitter)
        self.states_elsewhere = states_elsewhere
        self._index_of = {check.monitor.slug: index for index, check in enumerate(self.checks)}
        self.states: dict[str, MonitorState] = {}
        self.checks_done = 0
        self.lag_samples: deque[float] = deque(maxlen=200_000)
        self.session: aiohttp.ClientSession | None = session
        self.notifier: Notifier | None = None
        self._own_session = session is None
        self._random = random.Random(seed)
        self._heap: list[tuple[float, int, int]] = []  # (due, index, the index's epoch)
        self._epochs = [0] * len(self.checks)  # raised when a monitor is given away: its entries go stale
        self._active: set[int] | None = None  # None: every monitor; see `assign`
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Event | None = None
        self._sleeper: asyncio.Future[None] | None = None
        self._sleep_until: float | None = None
        self._interrupted = False
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def monitors(self) -> list[Monitor]:
        return [check.monitor for check in self.checks]

    @property
    def assigned(self) -> list[str]:
        """The slugs this scheduler checks (every monitor unless `assign` said otherwise)."""
        return [check.monitor.slug for index, check in enumerate(self.checks) if self._is_active(index)]

    def assign(self, slugs: Iterable[str], states: Mapping[str, MonitorState] | None = None) -> None:
        """Check only `slugs` from now on, for processes that share monitors with others.
        A monitor given away stops after any check in flight; one taken on starts from
        `states` (where the previous checker left it) and is due as after a restart.
        Unknown slugs are ignored."""
        wanted = {self._index_of[slug] for slug in slugs if slug in self._index_of}
        current = set(range(len(self.checks))) if self._active is None else self._active
        for index in current - wanted:
            self._epochs[index] += 1
            self.states.pop(self.checks[index].monitor.slug, None)
        added = wanted - current
        for index in added:
            self._epochs[index] += 1
            slug = self.checks[index].monitor.slug
            if states is not None and slug in states:
                self.states[slug] = states[slug]
        self._active = wanted
        if self._loop is not None and added:
            self._schedule(self.clock.monotonic(), sorted(added))
            self._interrupt_sleep()

    def _is_active(self, index: int) -> bool:
        return self._active is None or index in self._active

    async def start(self) -> None:
        """Open the session and restore every monitor's state from the store."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(self.concurrency)
        if self.session is None:
            self.session = new_session(limit=self.concurrency, keepalive=self.keepalive)
        self.notifier = Notifier(
            self.store,
            self.sinks,
            self.session,
            self.clock,
            jitter=self.alert_jitter,
            dependencies=Dependencies(self.monitors),
            status_of=self.state_of,
        )
        restored = await self.store.load_states()
        self.states = {
            r.monitor.slug: restored[r.monitor.slug]
            for index, r in enumerate(self.checks)
            if r.monitor.slug in restored and self._is_active(index)
        }
        if restored:
            log.info("restored the state of %d monitors", len(self.states))

    def state_of(self, slug: str) -> MonitorState | None:
        """A monitor's state: kept here when checked here, else as `states_elsewhere` says."""
        state = self.states.get(slug)
        if state is None and self.states_elsewhere is not None:
            state = self.states_elsewhere(slug)
        return state

    def stop(self) -> None:
        """Stop scheduling; in-flight checks finish (each within its timeout)."""
        if self._stopping is not None:
            self._stopping.set()
        self._interrupt_sleep()

    def request_stop(self) -> None:
        """`stop()` from another thread (the web server's shutdown, a signal handler);
        before the scheduler has started, it makes `run` return at once."""
        self._stop_requested = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.stop)

    async def run(self, duration: float | None = None) -> None:
        """Check on schedule until `stop()`, or for `duration` seconds of the clock."""
        await self.start()
        assert self._stopping is not None and self.notifier is not None
        started = self.clock.monotonic()
        stop_at = None if duration is None else started + duration
        self._schedule(started, [index for index in range(len(self.checks)) if self._is_active(index)])
        if self._stop_requested:
            self._stopping.set()
        notifier_task = asyncio.ensure_future(self.notifier.run(self._stopping))
        virtual = getattr(self.clock, "virtual", False)
        try:
            while not self._stopping.is_set():
                now = self.clock.monotonic()
                if stop_at is not None and now >= stop_at:
                    break
                await self._launch_due(now, stop_at)
                if virtual and self._inflight:
                    # Virtual time only moves when every check has finished, as in
                    # trio's autojump clock: tests stay deterministic.
                    await asyncio.wait(set(self._inflight))
                    continue
                now = self.clock.monotonic()
                delay = self._heap[0][0] - now if self._heap else 3600.0
                if stop_at is not None:
                    delay = min(delay, stop_at - now)
                if delay > 0:
                    await self._sleep(delay if virtual else max(delay, self.launch_tick))
        finally:
            await self._shutdown(notifier_task)

    async def check_once(self) -> list[CheckResult]:
        """Every monitor once through the whole pipeline (store, alerts, hooks)."""
        await self.start()
        active = [index for index in range(len(self.checks)) if self._is_active(index)]
        results = await map_limited(self._process, active, self.concurrency)
        assert self.notifier is not None
        await self.notifier.deliver_due()
        return list(results)

    async def check_now(self, slug: str) -> CheckResult | None:
        """One monitor checked at once, outside its schedule, through the whole pipeline
        (the state machine, the store, alerts), as "check now" asks; None for an
        unknown slug. Its next scheduled check stays where it was."""
        index = self._index_of.get(slug)
        if index is None:
            return None
        await self.start()
        result = await self._process(index)
        if self.notifier is not None:
            self.notifier.wake()
        return result

    async def close(self) -> None:
        if self._own_session and self.session is not None:
            await self.session.close()
            self.session = None

    def _schedule(self, now: float, indices: Sequence[int]) -> None:
        """The first round of `indices` (at start, or when taken on from another process).
        After a restart every monitor is checked again within half its interval of the
        crash (`_half`). One whose next check (its last plus its interval) falls in that
        time keeps it, as if there had been no restart; the later ones are spread evenly
        over it; overdue ones over at most half an interval and those never checked over
        at most a whole one (so the rounds after stay even, not bunched into half of
        each interval), at START_RATE at most, never all at once."""
        wall = self.clock.now()
        checks = [self.checks[index] for index in indices]
        lasts = {
            check.monitor.slug: state.last_result.checked_at
            for check in checks
            if (state := self.states.get(check.monitor.slug)) and state.last_result
        }
        down = (wall - max(lasts.values())).total_seconds() if lasts else 0.0  # since the last check before
        fresh: list[int] = []
        late: list[tuple[float, int]] = []
        for index, check in zip(indices, checks):
            last = lasts.get(check.monitor.slug)
            wait = (last - wall).total_seconds() + check.monitor.interval if last else -1.0
            if wait <= 0:
                fresh.append(index)
            elif wait <= self._half(check.monitor.interval, down):
                heapq.heappush(self._heap, (now + wait, index, self._epochs[index]))
            else:
                late.append((wait, index))
        late.sort()  # the longest-unchecked first
        for position, (_, index) in enumerate(late):
            half = self._half(self.checks[index].monitor.interval, down)
            due = now + half * (position + self._random.random()) / len(late)
            heapq.heappush(self._heap, (due, index, self._epochs[index]))
        for share, group in (
            (1.0, [i for i in fresh if self.checks[i].monitor.slug not in lasts]),
            (0.5, [i for i in fresh if self.checks[i].monitor.slug in lasts]),
        ):
            for position, index in enumerate(group):
                spread = min(self.checks[index].monitor.interval * share, len(group) / START_RATE)
                offset = spread * (position + self._random.random()) / len(group)
                heapq.heappush(self._heap, (now + offset, index, self._epochs[index]))

    @staticmethod
    def _half(interval: float, down: float) -> float:
        """What is left of half an interval counted from the stop (the last check before
        it), so every monitor is checked within half an interval of the crash itself;
        at least a quarter interval, so a long outage does not bunch them all up."""
        return max(interval / 4, interval / 2 - down)

    async def _launch_due(self, now: float, stop_at: float | None = None) -> None:
        """Start every check due by `now`, as slots free up. A scheduler that has fallen
        behind always has one due: stopping (or `stop_at` passing) ends this too."""
        assert self._slots is not None and self._stopping is not None
        while self._heap and self._heap[0][0] <= now and not self._stopping.is_set():
            if stop_at is not None and self.clock.monotonic() >= stop_at:
                return
            due, index, epoch = heapq.heappop(self._heap)
            if epoch != self._epochs[index]:
                continue  # given away (or taken on again, with an entry of its own)
            await self._slots.acquire()
            self.lag_samples.append(self.clock.monotonic() - due)
            task = asyncio.ensure_future(self._run_slot(index, due, epoch))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _run_slot(self, index: int, due: float, epoch: int) -> None:
        """One scheduled check; the monitor is due again only once this one is done,
        so a slow check with retries never overlaps its own next run."""
        assert self._slots is not None
        try:
            await self._process(index)
        except Exception:
            log.exception("check of %s failed unexpectedly", self.checks[index].monitor.name)
        finally:
            self._slots.release()
        # not after a cancellation (the scheduler is stopping): that propagates from the try
        if epoch != self._epochs[index]:
            return  # given away while it ran: no next check here
        now = self.clock.monotonic()
        next_due = due + self.checks[index].monitor.interval
        if next_due < now:  # overran its interval: go again now, once, not in a burst
            next_due = now
        heapq.heappush(self._heap, (next_due, index, epoch))
        if self._sleep_until is not None and next_due < self._sleep_until:
            self._interrupt_sleep()

    async def _process(self, index: int) -> CheckResult:
        check = self.checks[index]
        monitor = check.monitor
        assert self.session is not None
        result = await check.run(self.session, self.clock, self.pushes, self._loop)
        if self.maintenance is not None:
            result = self._inside_maintenance(result)
        self.checks_done += 1
        if self.verdict is not None:
            decided = self.verdict(monitor, result)
            if decided is None:
                _call_hook(self.on_result, result)
                return result
            result = decided
        state, transitions = advance(self.states.get(monitor.slug, NO_STATE), result, monitor)
        self.states[monitor.slug] = state
        alerts = [alert for transition in transitions for alert in self.alerts_for(transition, monitor)]
        await self.store.record(result, state, transitions, alerts)
        for transition in transitions:  # what people are alerted about is INFO; the rest DEBUG
            level = logging.INFO if transition.notify else logging.DEBUG
            if log.isEnabledFor(level):
                log.log(
                    level,
                    "%s: %s -> %s (%s)",
                    monitor.name,
                    transition.previous.value,
                    transition.current.value,
                    transition.kind.value,
                )
            self.registry.notify_transition(transition)
            _call_hook(self.on_transition, transition)
        if alerts and self.notifier is not None:
            self.notifier.wake()
        _call_hook(self.on_result, result)
        return result

    def _inside_maintenance(self, result: CheckResult) -> CheckResult:
        """Inside a window the check's own verdict is kept in the reason, not the status."""
        assert self.maintenance is not None
        window = self.maintenance.window_for(result.slug, result.checked_at)
        if window is None or result.status is Status.MAINTENANCE:
            return result
        said = result.status.value + (f": {result.error}" if result.error else "")
        return replace(result, status=Status.MAINTENANCE, error=f"maintenance: {window.title} (the check said {said})")

    def alerts_for(self, transition: Transition, monitor: Monitor | None) -> list[Alert]:
        """One rendered alert per sink of this monitor that wants it (`alerts.queueing`)."""
        return alerts_for(self.sinks.values(), transition, monitor)

    async def _sleep(self, delay: float) -> None:
        """Sleep by the clock; `stop()` or an earlier due time cuts it short."""
        self._sleep_until = self.clock.monotonic() + delay
        self._sleeper = asyncio.ensure_future(self.clock.sleep(delay))
        try:
            await self._sleeper
        except asyncio.CancelledError:
            if not self._interrupted:
                raise
        finally:
            self._sleeper = None
            self._sleep_until = None
            self._interrupted = False

    def _interrupt_sleep(self) -> None:
        if self._sleeper is not None and not self._sleeper.done():
            self._interrupted = True
            self._sleeper.cancel()

    async def _shutdown(self, notifier_task: asyncio.Future[None]) -> None:
        assert self._stopping is not None
        self._stopping.set()
        if self._inflight:
            grace = max(
                r.monitor.timeout * r.monitor.max_attempts + r.monitor.retry_delay * r.monitor.retries
                for r in self.checks
            )
            done, pending = await asyncio.wait(set(self._inflight), timeout=min(grace, 30.0))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(notifier_task, return_exceptions=True)
        if self.notifier is not None:  # one last round, so a fresh alert is not left behind
            try:
                async with asyncio.timeout(5.0):
                    await self.notifier.deliver_due()
            except Exception:
                log.warning("alerts still queued at shutdown are kept in the store")
        await self.close()
        self._loop = None


def _call_hook(hook: Callable[[HookValue], None] | None, value: HookValue) -> None:
    if hook is None:
        return
    try:
        hook(value)
    except Exception:
        log.exception("hook %r failed", hook)
