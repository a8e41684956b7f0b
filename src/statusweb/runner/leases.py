"""Runners that share one PostgreSQL split the monitors between them through leases.

Each runner is a `runner_member` row whose `beat_at` it renews on every heartbeat, in the
database's own time (`now()`), so clocks on different machines never disagree. Each
monitor has a `monitor_lease` row per region naming its holder. A lease is free when it
has no holder or its holder has not beaten within `ttl` (two heartbeat intervals).

On every heartbeat a runner, in one transaction: renews its beat, counts the live
members of its region, works out its quota (the lease count split evenly, the remainder
to the first members by id, so every member computes the same split), gives back what it
holds beyond its quota and claims free leases up to it with
`SELECT ... FOR UPDATE SKIP LOCKED`, raising each claimed lease's `generation`. Only the
surplus moves when members join or leave.

The generation is the fencing token: `fence` is called inside every write of results,
states and alerts and keeps only the monitors whose lease this runner still holds at
the generation it claimed. It locks those lease rows `FOR SHARE`, so a claim waits for
(or skips) a write in progress and a write after a claim sees the new generation: a
runner that was paused past its lease (SIGSTOP, a long GC, a partition) has its late
writes refused, and no monitor ever has two writers.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from statusweb.models import DEFAULT_REGION, MonitorLease, RunnerMember, Service, get_session_factory
from statusweb.runner.sql import insert_ignoring_duplicates

log = logging.getLogger("statusweb.leases")

FORGET_AFTER = 10  # a member silent for this many lease times is deleted (its row only)


def new_member_id() -> str:
    """host:pid:random, so a restarted process (same pid in a new container) is new."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


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
    (taken by another member while we were not looking, or given back), and the split."""

    gained: dict[int, int] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)
    live: int = 0
    quota: int = 0


class LeaseBook:
    """One runner's leases in one region. Synchronous (called in a worker thread)."""

    def __init__(self, engine: Engine, *, ttl: float, region: str = DEFAULT_REGION,
                 member: str | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.session_factory = get_session_factory(engine)
        self.ttl = ttl
        self.region = region
        self.member = member or new_member_id()
        self.monotonic = monotonic
        self.held: dict[int, int] = {}  # service id -> the generation we claimed it at
        self.refused = 0
        self._renewed_at: float | None = None

    # -- membership ---------------------------------------------------------------------

    def join(self, service_ids: Iterable[int]) -> None:
        """Register this member and make sure every monitor has a lease row in our region
        (leases of hidden services go: nobody checks them)."""
        with self.session_factory.begin() as session:
            insert_ignoring_duplicates(session, MonitorLease, [
                {"service_id": service_id, "region": self.region, "generation": 0}
                for service_id in sorted(set(service_ids))])
            hidden = select(Service.id).where(Service.hidden.is_(True))
            session.execute(delete(MonitorLease).where(MonitorLease.service_id.in_(hidden)))
            session.execute(pg_insert(RunnerMember).values(
                id=self.member, region=self.region, started_at=func.now(), beat_at=func.now(), held=0, refused=0)
                            .on_conflict_do_nothing())

    def leave(self) -> None:
        """Give every lease back and say goodbye, so the others take over at their next
        heartbeat instead of after the lease time (a clean stop)."""
        with self.session_factory.begin() as session:
            session.execute(update(MonitorLease).where(MonitorLease.region == self.region,
                                                       MonitorLease.holder == self.member).values(holder=None))
            session.execute(delete(RunnerMember).where(RunnerMember.id == self.member))
        self.held = {}
        self._renewed_at = None

    def fresh(self) -> bool:
        """True while our last renewal is recent enough that no other member can have
        taken our leases (the lease time, measured from before the renewal began). A
        runner that was paused finds this False and sends no alert until it renews."""
        return self._renewed_at is not None and self.monotonic() - self._renewed_at < self.ttl

    # -- the heartbeat ------------------------------------------------------------------

    def rebalance(self) -> Rebalance:
        """Renew our beat, then give back or claim leases toward our quota."""
        started = self.monotonic()
        change = Rebalance()
        with self.session_factory.begin() as session:
            self._beat(session)
            live = self._live_members(session)
            total = session.scalar(select(func.count()).select_from(MonitorLease)
                                   .where(MonitorLease.region == self.region)) or 0
            change.live, change.quota = len(live), quota_for(self.member, live, total)
            mine = dict(session.execute(select(MonitorLease.service_id, MonitorLease.generation)
                                        .where(MonitorLease.region == self.region,
                                               MonitorLease.holder == self.member)).all())
            change.lost = {sid for sid, generation in self.held.items() if mine.get(sid) != generation}
            surplus = sorted(mine, reverse=True)[:max(0, len(mine) - change.quota)]
            if surplus:
                session.execute(update(MonitorLease).where(MonitorLease.region == self.region,
                                                           MonitorLease.holder == self.member,
                                                           MonitorLease.service_id.in_(surplus))
                                .values(holder=None))
                change.lost |= set(surplus)
            kept = {sid: generation for sid, generation in mine.items() if sid not in surplus}
            wanted = change.quota - len(kept)
            if wanted > 0:
                change.gained = self._claim(session, wanted)
            change.gained.update({sid: generation for sid, generation in kept.items() if sid not in self.held})
            self.held = {**kept, **change.gained}
            self._forget_the_long_gone(session)
        self._renewed_at = started
        change.lost -= set(self.held)
        return change

    def _beat(self, session: Any) -> None:
        values = {"beat_at": func.now(), "held": len(self.held), "refused": self.refused}
        renewed = session.execute(update(RunnerMember).where(RunnerMember.id == self.member).values(**values))
        if renewed.rowcount == 0:  # forgotten by the others after a long silence: join again
            session.execute(pg_insert(RunnerMember).values(id=self.member, region=self.region,
                                                           started_at=func.now(), **values))

    def _live_members(self, session: Any) -> list[str]:
        since = func.now() - timedelta(seconds=self.ttl)
        return list(session.scalars(select(RunnerMember.id).where(RunnerMember.region == self.region,
                                                                   RunnerMember.beat_at >= since)
                                    .order_by(RunnerMember.id)))

    def _claim(self, session: Any, count: int) -> dict[int, int]:
        """Up to `count` free leases: no holder, or a holder that is not alive. Leases
        another member is claiming (or writing under) right now are skipped, not waited for."""
        alive = exists().where(RunnerMember.id == MonitorLease.holder,
                               RunnerMember.beat_at >= func.now() - timedelta(seconds=self.ttl))
        free = (select(MonitorLease.service_id)
                .where(MonitorLease.region == self.region, or_(MonitorLease.holder.is_(None), ~alive))
                .order_by(MonitorLease.service_id).limit(count)
                .with_for_update(skip_locked=True, of=MonitorLease))
        ids = list(session.scalars(free))
        if not ids:
            return {}
        claimed = session.execute(
            update(MonitorLease)
            .where(MonitorLease.region == self.region, MonitorLease.service_id.in_(ids))
            .values(holder=self.member, generation=MonitorLease.generation + 1, acquired_at=func.now())
            .returning(MonitorLease.service_id, MonitorLease.generation))
        return {sid: generation for sid, generation in claimed}

    def _forget_the_long_gone(self, session: Any) -> None:
        long_ago = func.now() - timedelta(seconds=self.ttl * FORGET_AFTER)
        session.execute(delete(RunnerMember).where(RunnerMember.region == self.region,
                                                   RunnerMember.beat_at < long_ago))

    # -- fencing (inside the writer's transaction) -----------------------------------------

    def fence(self, session: Any, service_ids: Iterable[int]) -> set[int]:
        """The ids among `service_ids` whose lease we still hold at our generation, with
        their lease rows locked until the writer's transaction ends."""
        wanted = sorted({sid for sid in service_ids if sid in self.held})
        if not wanted:
            return set()
        rows = session.execute(select(MonitorLease.service_id, MonitorLease.generation)
                               .where(MonitorLease.region == self.region, MonitorLease.holder == self.member,
                                      MonitorLease.service_id.in_(wanted))
                               .order_by(MonitorLease.service_id).with_for_update(read=True)).all()
        return {sid for sid, generation in rows if self.held.get(sid) == generation}


def members(engine: Engine) -> list[dict[str, Any]]:
    """Every member with its region, seconds since its last beat, leases held and late
    writes refused (the admin, /healthz and the tests read this)."""
    age = func.extract("epoch", func.now() - RunnerMember.beat_at)
    with get_session_factory(engine)() as session:
        rows = session.execute(select(RunnerMember, age).order_by(RunnerMember.region, RunnerMember.id)).all()
        return [{"id": m.id, "region": m.region, "beat_at": m.beat_at, "age_s": float(seconds),
                 "held": m.held, "refused": m.refused} for m, seconds in rows]
