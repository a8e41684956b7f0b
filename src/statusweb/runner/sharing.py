"""Runners sharing PostgreSQL: join the others and take a share of the monitors, move the
share as runners come and go (leases renewed twice a heartbeat, members whose database
session ended taken over at once), and for a monitor checked from several regions, the
verdict: this region's observation recorded, and where this runner decides it, the
result judged with the other regions' votes (`regions.py`); and the saved states of
monitors another runner decides that are related by `depends_on` to ones checked here,
for the alerts that fold a dependent's DOWN into its parent's."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from statuscore import CheckResult, Dependencies, Monitor, MonitorState, RegionVote, Scheduler, count_votes
from statusweb.models import Service, ServiceState, get_session_factory
from statusweb.runner.leases import LeaseBook, Rebalance
from statusweb.runner.regions import read_votes
from statusweb.runner.store_rows import state_from_row

if TYPE_CHECKING:
    from statusweb.runner.runner import Runner

log = logging.getLogger("statusweb.runner")

WATCH_INTERVAL = 0.5  # seconds between looks for runners whose database session ended


class Sharing:
    """One runner's part in the sharing: its leases and what it decides."""

    def __init__(self, runner: Runner, leases: LeaseBook) -> None:
        self.runner = runner
        self.leases = leases
        self.votes: dict[int, dict[str, RegionVote]] = {}  # other regions' latest, for monitors decided here
        self.voting: set[int] = set()  # service ids of the monitors checked from several regions
        # Another region's vote arrives with its runner's next batch and our next read of
        # votes; on a busy machine either may come a period late. Without this allowance two
        # runners whose loops fall into step can see every vote just too old, for minutes.
        self.vote_delay = 2 * (runner.store.flush_interval + runner.settings.duty_interval)
        self._rebalancing = asyncio.Lock()  # (asyncio.Lock binds no loop until first used)
        dependencies = Dependencies(runner.config.monitors)
        #: every monitor that needs, or is needed by, another: their states matter to alerts
        self.related = {
            dependencies.slug_of[name]
            for monitor in runner.config.monitors
            for name in (*dependencies.parents(monitor.name), *dependencies.descendants(monitor.name))
        }
        self.states_elsewhere: dict[str, MonitorState] = {}

    @property
    def _scheduler(self) -> Scheduler:
        assert self.runner.scheduler is not None
        return self.runner.scheduler

    async def join(self) -> bool:
        """Join the runners sharing this database and take a first share; False when
        asked to stop while the database is unreachable."""
        runner, leases = self.runner, self.leases
        known = runner.store.service_ids
        regions = {known[m.slug]: m.regions for m in runner.config.monitors if m.slug in known}
        self.voting = {service_id for service_id, listed in regions.items() if listed}
        while not runner.stop_requested:
            try:
                await asyncio.to_thread(leases.join, regions, regions)
                change = await asyncio.to_thread(leases.rebalance)
            except SQLAlchemyError as exc:
                log.error("cannot join the other runners (%s); retrying", str(exc).splitlines()[0][:200])
                await runner.sleep_unless_stopped(runner.settings.heartbeat_interval)
                continue
            self._scheduler.assign(self.slugs(leases.held))
            log.info(
                "sharing the monitors with %d other runner(s) in region %s: %d of %d here",
                change.live - 1,
                leases.region,
                len(leases.held),
                len(regions),
            )
            return True
        return False

    async def leave(self) -> None:
        try:
            await asyncio.to_thread(self.leases.leave)
        except (SQLAlchemyError, RuntimeError) as exc:  # the others take over after the lease time
            log.warning("leases not handed back: %s", str(exc).splitlines()[0][:200])

    def slugs(self, service_ids: Iterable[int]) -> list[str]:
        wanted = set(service_ids)
        return [slug for slug, service_id in self.runner.store.service_ids.items() if service_id in wanted]

    async def rebalance(self) -> None:
        """Renew the leases and move the share this heartbeat changed. What the scheduler
        lacks is worked out afresh each time, so a failed take-over is retried next beat.
        One at a time: the heartbeat and the watch for dead members both call it."""
        async with self._rebalancing:
            await self._rebalance_now()

    async def _rebalance_now(self) -> None:
        store, scheduler = self.runner.store, self._scheduler
        change: Rebalance = await asyncio.to_thread(self.leases.rebalance)
        if change.lost or change.stopped_deciding:
            store.give_up(self.slugs(change.lost | change.stopped_deciding))
        if change.lost:
            log.info(
                "%d monitors moved to other runners (%d live, %d here now)",
                len(change.lost),
                change.live,
                len(self.leases.held),
            )
        held = [slug for slug in self.slugs(self.leases.held) if slug in self.runner.checked_here]
        assigned = set(scheduler.assigned)
        new = sorted(set(held) - assigned)
        deciding = self.slugs(change.now_deciding)
        if not (new or deciding or len(held) != len(assigned)):
            return
        states = await asyncio.to_thread(store.take_over, new + deciding) if new or deciding else {}
        scheduler.assign(held, states)
        scheduler.states.update({slug: states[slug] for slug in deciding if slug in states})
        self.runner.wake_notifier()  # their undelivered alerts are ours now
        if new:
            log.info("took over %d monitors (%d live runners, %d here now)", len(new), change.live, len(held))
        if deciding:
            log.info("deciding %d monitors checked from several regions from here now", len(deciding))

    def verdict(self, monitor: Monitor, result: CheckResult) -> CheckResult | None:
        """A monitor checked from several regions: record what this region saw; if this
        runner decides it, the result judged with the other regions' votes, else None."""
        if not monitor.regions:
            return result
        service_id = self.runner.store.service_ids.get(monitor.slug)
        if service_id is None:
            return None
        self.runner.store.observe(result, self.leases.region)
        if service_id not in self.leases.deciding:
            return None
        return count_votes(monitor, self.leases.region, result, self.votes.get(service_id, {}), delay=self.vote_delay)

    async def read_votes(self) -> None:
        """The other regions' latest observations of the monitors decided here."""
        self.votes = await asyncio.to_thread(read_votes, self.runner.engine, self.voting & self.leases.deciding)

    async def read_related_states(self) -> None:
        """The saved states of the related monitors another runner checks (`related`)."""
        here = set(self._scheduler.states)
        wanted = sorted(self.related - here)
        self.states_elsewhere = await asyncio.to_thread(read_states, self.runner.engine, wanted) if wanted else {}

    def state_elsewhere(self, slug: str) -> MonitorState | None:
        """For the notifier: a monitor's state as its runner last saved it (read each duty round)."""
        return self.states_elsewhere.get(slug)

    async def watch_members(self) -> None:
        """Every WATCH_INTERVAL, our liveness lock held (again), and members whose
        PostgreSQL session ended (kill -9, a crash, a lost connection) forgotten and their
        monitors taken over at once; lease expiry stays for runners paused or cut off."""
        while True:
            await self.runner.clock.sleep(WATCH_INTERVAL)
            try:
                dead = await asyncio.to_thread(self.leases.reap_the_dead)
                if dead:
                    log.warning(
                        "runner(s) %s gone (their database session ended): taking over their monitors", ", ".join(dead)
                    )
                    await self.rebalance()
            except SQLAlchemyError as exc:
                log.debug("dead members not looked for: %s", str(exc).splitlines()[0][:200])

    async def renew_forever(self) -> None:
        """The leases' beat twice a heartbeat, apart from the rebalancing (which may take
        a while when thousands of monitors move): a lease lapses after two heartbeats."""
        while True:
            await self.runner.clock.sleep(self.runner.settings.heartbeat_interval / 2)
            try:
                await asyncio.to_thread(self.leases.renew)
            except SQLAlchemyError as exc:
                log.warning("leases not renewed: %s", str(exc).splitlines()[0][:200])


def read_states(engine: Any, slugs: Iterable[str]) -> dict[str, MonitorState]:
    """The saved state of each of `slugs` that has one."""
    with get_session_factory(engine)() as session:
        rows = session.execute(
            select(Service.slug, ServiceState)
            .join(ServiceState, ServiceState.service_id == Service.id)
            .where(Service.slug.in_(list(slugs)))
        )
        return {slug: state_from_row(slug, row) for slug, row in rows}
