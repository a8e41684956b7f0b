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
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from statusweb.models import ANY_REGION, DEFAULT_REGION, MonitorLease, RunnerMember, Service, get_session_factory
from statusweb.runner.liveness import LIVENESS_NAMESPACE, LivenessLock
from statusweb.runner.spool import process_alive
from statusweb.runner.sql import among, insert_ignoring_duplicates

log = logging.getLogger("statusweb.leases")

FORGET_AFTER = 10  # a member silent for this many lease times is deleted (its row only)
TOTAL_EVERY = 60.0  # seconds between counts of a pool's leases
CLAIM_BATCH = 10_000  # leases claimed per heartbeat at most: taking over 50,000 states at once starved the beat
REAP_GRACE = 1.0  # seconds a member's lock must stay missing: after a database blip, everyone
# takes theirs again within a watch interval, and nobody's monitors move for nothing
_HELD_LIVENESS_KEYS = text(
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :namespace"
    " AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


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
        wanted = [
            {"service_id": sid, "region": region, "rank": rank, "generation": 0}
            for sid in sorted(set(service_ids))
            for rank, region in enumerate(regions.get(sid) or (ANY_REGION,))
        ]
        with self.session_factory.begin() as session:
            insert_ignoring_duplicates(session, MonitorLease, wanted)
            keep = {(row["service_id"], row["region"]) for row in wanted}
            ours = {row["service_id"] for row in wanted}
            rows = session.execute(select(MonitorLease.service_id, MonitorLease.region)).all()
            for sid, region in (row for row in rows if row[0] in ours):
                if (sid, region) not in keep:
                    session.execute(
                        delete(MonitorLease).where(MonitorLease.service_id == sid, MonitorLease.region == region)
                    )
            hidden = select(Service.id).where(Service.hidden.is_(True))
            session.execute(delete(MonitorLease).where(MonitorLease.service_id.in_(hidden)))
            self._forget_predecessors(session)
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

    def _forget_predecessors(self, session: Any) -> None:
        """Members of this host whose process is gone (or whose pid is ours: a restarted
        container) are dead for certain: forgetting them frees their leases now, not a
        lease time later, so a runner killed and restarted here resumes at once."""
        host = socket.gethostname()
        for member in session.scalars(select(RunnerMember.id).where(RunnerMember.id.startswith(f"{host}:"))):
            parts = member.rsplit(":", 2)
            if member == self.member or len(parts) != 3 or not parts[1].isdigit():
                continue
            pid = int(parts[1])
            if pid == os.getpid() or not process_alive(pid):
                session.execute(delete(RunnerMember).where(RunnerMember.id == member))

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
            keyed = session.execute(
                select(RunnerMember.id, RunnerMember.lock_key).where(
                    RunnerMember.lock_key.is_not(None), RunnerMember.id != self.member, self._alive()
                )
            ).all()
            held = set(session.scalars(_HELD_LIVENESS_KEYS, {"namespace": LIVENESS_NAMESPACE})) if keyed else set()
            missing = {(member, key) for member, key in keyed if key not in held}
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
            self._beat(session)
            for pool, region in ((self.region, self.region), (ANY_REGION, None)):
                live = self._live_members(session, region)
                total = self._total(session, pool)
                quota = quota_for(self.member, live, total)
                if pool == self.region:
                    change.live, change.quota = len(live), quota
                share = self._toward(session, pool, quota)
                pools.update(dict.fromkeys(share, pool))
                held.update(share)
            deciding = self._deciding(session, held)
            self._forget_the_long_gone(session)
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
            session.execute(
                update(MonitorLease)
                .where(
                    MonitorLease.region == pool,
                    MonitorLease.holder == self.member,
                    among(session, MonitorLease.service_id, surplus),
                )
                .values(holder=None)
            )
        kept = {sid: generation for sid, generation in mine.items() if sid not in surplus}
        if quota > len(kept):
            kept.update(self._claim(session, pool, min(quota - len(kept), CLAIM_BATCH)))
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
            self._beat(session)
        self._renewed_at = started

    def _beat(self, session: Any) -> None:
        values = {"beat_at": func.now(), "held": len(self.held), "refused": self.refused, "lock_key": self.liveness.key}
        renewed = session.execute(update(RunnerMember).where(RunnerMember.id == self.member).values(**values))
        if renewed.rowcount == 0:  # forgotten by the others (a long silence, our lock lost): join again
            session.execute(
                pg_insert(RunnerMember).values(id=self.member, region=self.region, started_at=func.now(), **values)
            )

    def _alive(self) -> Any:
        return RunnerMember.alive(self.ttl)

    def _live_members(self, session: Any, region: str | None) -> list[str]:
        """Live members of `region` (of every region for None), sorted by id."""
        query = select(RunnerMember.id).where(self._alive())
        if region is not None:
            query = query.where(RunnerMember.region == region)
        return list(session.scalars(query.order_by(RunnerMember.id)))

    def _claim(self, session: Any, pool: str, count: int) -> dict[int, int]:
        """Up to `count` free leases: no holder, or a holder that is not alive. Leases
        another member is claiming (or writing under) right now are skipped, not waited for."""
        alive = exists().where(RunnerMember.id == MonitorLease.holder, self._alive())
        free = (
            select(MonitorLease.service_id)
            .where(MonitorLease.region == pool, or_(MonitorLease.holder.is_(None), ~alive))
            .order_by(MonitorLease.service_id)
            .limit(count)
            .with_for_update(skip_locked=True, of=MonitorLease)
        )
        ids = list(session.scalars(free))
        if not ids:
            return {}
        claimed = session.execute(
            update(MonitorLease)
            .where(MonitorLease.region == pool, among(session, MonitorLease.service_id, ids))
            .values(holder=self.member, generation=MonitorLease.generation + 1, acquired_at=func.now())
            .returning(MonitorLease.service_id, MonitorLease.generation)
        )
        return {sid: generation for sid, generation in claimed}

    def _deciding(self, session: Any, service_ids: Iterable[int]) -> set[int]:
        """Of our leases, those no lower-ranked lease of the same monitor has a live holder
        for: there, state and alerts are decided (a monitor of one vantage point: always,
        while our own beat is alive)."""
        wanted = sorted(set(service_ids))
        if not wanted or not self._beat_alive(session):
            return set()  # our own beat is stale (paused, cut off): another region may decide now
        return set(wanted) - self._outranked(session)

    def _beat_alive(self, session: Any) -> bool:
        return session.scalar(select(RunnerMember.id).where(RunnerMember.id == self.member, self._alive())) is not None

    def _outranked(self, session: Any, service_ids: list[int] | None = None) -> set[int]:
        """Our leases (of `service_ids`, or all) of a region listed after another whose
        lease has a live holder. Only leases ranked above 0 are looked at: most monitors
        list no regions."""
        other = aliased(MonitorLease)
        outranked = exists().where(
            other.service_id == MonitorLease.service_id,
            other.rank < MonitorLease.rank,
            RunnerMember.id == other.holder,
            self._alive(),
        )
        query = select(MonitorLease.service_id).where(
            MonitorLease.region == self.region,  # (region, holder) index
            MonitorLease.holder == self.member,
            MonitorLease.rank > 0,
            outranked,
        )
        if service_ids is not None:
            query = query.where(among(session, MonitorLease.service_id, service_ids))
        return set(session.scalars(query))

    def _forget_the_long_gone(self, session: Any) -> None:
        long_ago = func.now() - timedelta(seconds=self.ttl * FORGET_AFTER)
        session.execute(delete(RunnerMember).where(RunnerMember.beat_at < long_ago))

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
        if not held or not self._beat_alive(session):
            return held, set()
        ranked = [sid for sid, _, rank in rows if rank > 0 and sid in held]
        return held, held - (self._outranked(session, ranked) if ranked else set())
