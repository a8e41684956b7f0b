"""Runners that share one PostgreSQL split the monitors between them through leases.

Each runner is a `runner_member` row whose `beat_at` it renews on every heartbeat, in the
database's own time (`now()`), so clocks on different machines never disagree. Its
PostgreSQL session also holds a liveness lock (a session-level advisory lock on its
member's key): the server drops it the moment the process or its connection dies, and
every second the others forget a member whose lock is gone (`reap_the_dead`), so a
crashed runner's monitors are taken over within a couple of seconds, not a lease time. Each
monitor has a `monitor_lease` row per region it lists (or one of any region, `*`, when it
lists none) naming its holder. A lease is free when it has no holder or its holder has
not beaten within `ttl` (two heartbeat intervals: a paused or cut-off runner, whose
session may still hold its lock) or has been forgotten.

On every heartbeat a runner, in one transaction, renews its beat and, in each of its two
pools (its region's leases among its region's live members; any region's among all live
members), works out its quota (the pool split evenly, the remainder to the first members
by id, so every member computes the same split), gives back what it holds beyond it and
claims free leases up to it with `SELECT ... FOR UPDATE SKIP LOCKED`, raising each claimed
lease's `generation`. Only the surplus moves when members join or leave.

The generation is the fencing token: `fence` is called inside every write of results,
states, observations and alerts and keeps only the monitors whose lease this runner still
holds at the generation it claimed. It locks those lease rows `FOR SHARE`, so a claim
skips a write in progress and a write after a claim sees the new generation: a runner
that was paused past its lease (SIGSTOP, a long GC, a partition) has its late writes
refused, and no monitor ever has two writers. Of a monitor checked from several regions
every holder records what it saw, but only one decides (state, history, alerts): the
holder of the first listed region whose lease has a live holder, checked again in the
fence, with our own beat alive.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from statusweb.models import ANY_REGION, DEFAULT_REGION, MonitorLease, RunnerMember, get_session_factory
from statusweb.runner import lease_rows
from statusweb.runner.liveness import LivenessLock
from statusweb.runner.sql import among

log = logging.getLogger("statusweb.leases")

TOTAL_EVERY = 60.0  # seconds between counts of a pool's leases
CLAIM_BATCH = 10_000  # leases claimed per heartbeat at most: taking over 50,000 states at once starved the beat
REAP_GRACE = 1.0  # seconds a member's lock must stay missing: after a database blip, everyone
# takes theirs again within a watch interval, and nobody's monitors move for nothing


def new_member_id() -> str:
    """host:pid:random, so a restarted process (same pid in a new container) is new."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def member_lock_key(member: str) -> int:
    """The second key of `member`'s liveness lock: 31 bits of a hash of its id (a
    positive int4, as pg_advisory_lock(int4, int4) takes and pg_locks shows it)."""
    return int.from_bytes(hashlib.sha256(member.encode()).digest()[:4], "big") & 0x7FFFFFFF


def quota_for(member: str, live: list[str], total: int) -> int:
    """This member's share of `total` leases among `live` members (sorted ids): the
    same answer on every member, so the shares add up to exactly `total`."""
    if member not in live:
        return 0
    base, extra = divmod(total, len(live))
    return base + (1 if live.index(member) < extra else 0)


@dataclass
class Rebalance:
    """What one heartbeat changed: leases gained (service id -> generation), lost
    (taken by another member while we were not looking, or given back), monitors whose
    decision moved to or away from us, and our region's split."""

    gained: dict[int, int] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)
    now_deciding: set[int] = field(default_factory=set)  # held before; decided here from now on
    stopped_deciding: set[int] = field(default_factory=set)  # still held; decided elsewhere now
    live: int = 0
    quota: int = 0


class LeaseBook:
    """One runner's leases: those of its region (monitors that list it in `regions`) and
    those of any region (monitors that list none). Synchronous: called in a worker thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: float,
        region: str = DEFAULT_REGION,
        member: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.session_factory = get_session_factory(engine)
        self.ttl = ttl
        self.region = region
        self.member = member or new_member_id()
        self.monotonic = monotonic
        self.held: dict[int, int] = {}  # service id -> the generation we claimed it at
        self._pools: dict[int, str] = {}  # service id -> the pool (region, or any) its lease is in
        self._totals: dict[str, tuple[float, int]] = {}  # pool -> (when counted, leases in it)
        self.deciding: set[int] = set()  # held, and no lower-ranked region of it has a live holder
        self.refused = 0
        self._renewed_at: float | None = None
        self.liveness = LivenessLock(engine, member_lock_key(self.member))
        self._missing: dict[tuple[str, int], float] = {}  # member without its lock -> first seen so

    # -- membership ---------------------------------------------------------------------

    def join(self, service_ids: Iterable[int], regions: Mapping[int, Sequence[str]] | None = None) -> None:
        """Register this member and make sure every monitor has its lease rows: one per
        region it lists (`regions`), or one of any region. Rows no longer wanted go
        (hidden services, regions taken out of a monitor's list)."""
        regions = regions or {}
        self.liveness.hold()  # before our row: a member the others can see always holds its lock
        with self.session_factory.begin() as session:
            lease_rows.ensure(session, service_ids, regions)
            lease_rows.forget_predecessors(session, self.member)
            session.execute(
                pg_insert(RunnerMember)
                .values(
                    id=self.member,
                    region=self.region,
                    started_at=func.now(),
                    beat_at=func.now(),
                    held=0,
                    refused=0,
                    lock_key=self.liveness.key,
                )
                .on_conflict_do_nothing()
            )

    def leave(self) -> None:
        """Give every lease back and say goodbye, so the others take over at their next
        heartbeat instead of after the lease time (a clean stop)."""
        with self.session_factory.begin() as session:
            session.execute(update(MonitorLease).where(MonitorLease.holder == self.member).values(holder=None))
            session.execute(delete(RunnerMember).where(RunnerMember.id == self.member))
        self.held = {}
        self.deciding = set()
        self._renewed_at = None
        self.liveness.release()

    def reap_the_dead(self) -> list[str]:
        """Forget the members whose liveness lock has been gone for REAP_GRACE (their
        process or session died): their leases are free now, for the next claim.
        Members first, locks second: a member we can see had its lock before its row
        was written. Our own lock is taken again first, should the database have blinked."""
        self.liveness.hold()
        now = self.monotonic()
        with self.session_factory.begin() as session:
            missing = lease_rows.without_their_locks(session, self.member, self.ttl)
            self._missing = {pair: self._missing.get(pair, now) for pair in missing}
            dead = [pair for pair, since in self._missing.items() if now - since >= REAP_GRACE]
            for member, key in dead:
                session.execute(delete(RunnerMember).where(RunnerMember.id == member, RunnerMember.lock_key == key))
                del self._missing[(member, key)]
        return [member for member, _ in dead]

    def fresh(self) -> bool:
        """True while our last renewal is recent enough that no other member can have
        taken our leases (the lease time, measured from before the renewal began). A
        runner that was paused finds this False and sends no alert until it renews."""
        return self._renewed_at is not None and self.monotonic() - self._renewed_at < self.ttl

    # -- the heartbeat ------------------------------------------------------------------

    def rebalance(self) -> Rebalance:
        """Renew our beat, then give back or claim leases toward our quota in each pool
        (our region's, among its members; any region's, among every member)."""
        started = self.monotonic()
        change = Rebalance()
        held: dict[int, int] = {}
        pools: dict[int, str] = {}
        with self.session_factory.begin() as session:
            lease_rows.beat(
                session, self.member, self.region, held=len(self.held), refused=self.refused, lock_key=self.liveness.key
            )
            for pool, region in ((self.region, self.region), (ANY_REGION, None)):
                live = lease_rows.live_members(session, region, self.ttl)
                total = self._total(session, pool)
                quota = quota_for(self.member, live, total)
                if pool == self.region:
                    change.live, change.quota = len(live), quota
                share = self._toward(session, pool, quota)
                pools.update(dict.fromkeys(share, pool))
                held.update(share)
            deciding = self._deciding(session, held)
            lease_rows.forget_the_long_gone(session, self.ttl)
        change.lost = {sid for sid, generation in self.held.items() if held.get(sid) != generation}
        change.gained = {sid: generation for sid, generation in held.items() if self.held.get(sid) != generation}
        change.now_deciding = (deciding - self.deciding) - set(change.gained)
        change.stopped_deciding = (self.deciding - deciding) & set(held)
        self.held, self.deciding, self._pools = held, deciding, pools
        self._renewed_at = started
        return change

    def _toward(self, session: Any, pool: str, quota: int) -> dict[int, int]:
        """Our leases of one pool after giving back the surplus or claiming up to `quota`."""
        mine = self._ours(session, pool)
        surplus = set(sorted(mine, reverse=True)[: max(0, len(mine) - quota)])
        if surplus:
            lease_rows.give_back(session, self.member, pool, surplus)
        kept = {sid: generation for sid, generation in mine.items() if sid not in surplus}
        if quota > len(kept):
            kept.update(lease_rows.claim(session, self.member, pool, min(quota - len(kept), CLAIM_BATCH), self.ttl))
        return kept

    def _total(self, session: Any, pool: str) -> int:
        """How many leases `pool` has, counted again once a minute: it changes only when
        a runner with another monitors file joins, and counting 200,000 rows took 70 ms."""
        counted = self._totals.get(pool)
        if counted is None or self.monotonic() - counted[0] > TOTAL_EVERY:
            total = session.scalar(select(func.count()).select_from(MonitorLease).where(MonitorLease.region == pool))
            counted = self._totals[pool] = (self.monotonic(), total or 0)
        return counted[1]

    def _ours(self, session: Any, pool: str) -> dict[int, int]:
        """Our leases of `pool` as the database has them. Only another member's claim
        takes one (and only while we look dead), so when the count is what we hold,
        what we hold is right: 50,000 rows are not read back every heartbeat."""
        ours = (MonitorLease.region == pool, MonitorLease.holder == self.member)
        known = {sid: generation for sid, generation in self.held.items() if self._pools.get(sid) == pool}
        if session.scalar(select(func.count()).select_from(MonitorLease).where(*ours)) == len(known):
            return known
        return {
            sid: generation
            for sid, generation in session.execute(
                select(MonitorLease.service_id, MonitorLease.generation).where(*ours)
            )
        }

    def renew(self) -> None:
        """Only the beat, nothing moved: the runner renews this on its own timer, so a
        heartbeat busy taking over thousands of monitors never lets our leases lapse."""
        started = self.monotonic()
        self.liveness.hold()
        with self.session_factory.begin() as session:
            lease_rows.beat(
                session, self.member, self.region, held=len(self.held), refused=self.refused, lock_key=self.liveness.key
            )
        self._renewed_at = started

    def _deciding(self, session: Any, service_ids: Iterable[int]) -> set[int]:
        """Of our leases, those no lower-ranked lease of the same monitor has a live holder
        for: there, state and alerts are decided (a monitor of one vantage point: always,
        while our own beat is alive)."""
        wanted = sorted(set(service_ids))
        if not wanted or not lease_rows.beat_alive(session, self.member, self.ttl):
            return set()  # our own beat is stale (paused, cut off): another region may decide now
        return set(wanted) - lease_rows.outranked(session, self.member, self.region, self.ttl)

    # -- fencing (inside the writer's transaction) -----------------------------------------

    def fence(self, session: Any, service_ids: Iterable[int]) -> tuple[set[int], set[int]]:
        """Of `service_ids`: those whose lease we still hold at our generation (their
        lease rows locked until the writer's transaction ends), and of those, the ones
        we still decide (state, history, alerts); the rest only observe."""
        wanted = sorted({sid for sid in service_ids if sid in self.held})
        if not wanted:
            return set(), set()
        # A runner paused inside this transaction would keep these rows from every claim:
        # PostgreSQL ends its session after the lease time, and its late commit fails.
        session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {int(self.ttl * 1000)}"))
        rows = session.execute(
            select(MonitorLease.service_id, MonitorLease.generation, MonitorLease.rank)
            .where(MonitorLease.holder == self.member, among(session, MonitorLease.service_id, wanted))
            .order_by(MonitorLease.service_id)
            .with_for_update(read=True)
        ).all()
        held = {sid for sid, generation, _ in rows if self.held.get(sid) == generation}
        if not held or not lease_rows.beat_alive(session, self.member, self.ttl):
            return held, set()
        ranked = [sid for sid, _, rank in rows if rank > 0 and sid in held]
        outranked = lease_rows.outranked(session, self.member, self.region, self.ttl, ranked) if ranked else set()
        return held, held - outranked
