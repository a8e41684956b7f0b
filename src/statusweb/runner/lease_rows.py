"""The SQL of the leases that needs no runner's state: a monitor's lease rows made to
match its regions, the live members, free leases claimed (`FOR UPDATE SKIP LOCKED`, the
generation raised: the fencing token), which of a member's leases a lower-ranked live
region outranks, and long-silent members forgotten. `LeaseBook` (leases.py) keeps what
one runner holds and calls these."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased

from statusweb.models import ANY_REGION, MonitorLease, RunnerMember, Service
from statusweb.runner.liveness import LIVENESS_NAMESPACE
from statusweb.runner.spool import process_alive
from statusweb.runner.sql import among, insert_ignoring_duplicates

FORGET_AFTER = 10  # a member silent for this many lease times is deleted (its row only)
_HELD_LIVENESS_KEYS = text(
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :namespace"
    " AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def ensure(session: Any, service_ids: Iterable[int], regions: Mapping[int, Sequence[str]]) -> None:
    """Every monitor's lease rows: one per region it lists, or one of any region. Rows no
    longer wanted go (hidden services, regions taken out of a monitor's list)."""
    wanted = [
        {"service_id": sid, "region": region, "rank": rank, "generation": 0}
        for sid in sorted(set(service_ids))
        for rank, region in enumerate(regions.get(sid) or (ANY_REGION,))
    ]
    insert_ignoring_duplicates(session, MonitorLease, wanted)
    keep = {(row["service_id"], row["region"]) for row in wanted}
    ours = {row["service_id"] for row in wanted}
    rows = session.execute(select(MonitorLease.service_id, MonitorLease.region)).all()
    for sid, region in (row for row in rows if row[0] in ours):
        if (sid, region) not in keep:
            session.execute(delete(MonitorLease).where(MonitorLease.service_id == sid, MonitorLease.region == region))
    hidden = select(Service.id).where(Service.hidden.is_(True))
    session.execute(delete(MonitorLease).where(MonitorLease.service_id.in_(hidden)))


def live_members(session: Any, region: str | None, ttl: float) -> list[str]:
    """Live members of `region` (of every region for None), sorted by id."""
    query = select(RunnerMember.id).where(RunnerMember.alive(ttl))
    if region is not None:
        query = query.where(RunnerMember.region == region)
    return list(session.scalars(query.order_by(RunnerMember.id)))


def give_back(session: Any, member: str, pool: str, service_ids: Iterable[int]) -> None:
    """Leases of `pool` this member holds beyond its quota: free for the next claim."""
    session.execute(
        update(MonitorLease)
        .where(
            MonitorLease.region == pool,
            MonitorLease.holder == member,
            among(session, MonitorLease.service_id, service_ids),
        )
        .values(holder=None)
    )


def claim(session: Any, member: str, pool: str, count: int, ttl: float) -> dict[int, int]:
    """Up to `count` free leases: no holder, or a holder that is not alive. Leases
    another member is claiming (or writing under) right now are skipped, not waited for."""
    alive = exists().where(RunnerMember.id == MonitorLease.holder, RunnerMember.alive(ttl))
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
        .values(holder=member, generation=MonitorLease.generation + 1, acquired_at=func.now())
        .returning(MonitorLease.service_id, MonitorLease.generation)
    )
    return {sid: generation for sid, generation in claimed}


def beat_alive(session: Any, member: str, ttl: float) -> bool:
    return session.scalar(select(RunnerMember.id).where(RunnerMember.id == member, RunnerMember.alive(ttl))) is not None


def outranked(session: Any, member: str, region: str, ttl: float, service_ids: list[int] | None = None) -> set[int]:
    """The member's leases (of `service_ids`, or all) of a region listed after another
    whose lease has a live holder. Only leases ranked above 0 are looked at: most
    monitors list no regions."""
    other = aliased(MonitorLease)
    higher_alive = exists().where(
        other.service_id == MonitorLease.service_id,
        other.rank < MonitorLease.rank,
        RunnerMember.id == other.holder,
        RunnerMember.alive(ttl),
    )
    query = select(MonitorLease.service_id).where(
        MonitorLease.region == region,  # (region, holder) index
        MonitorLease.holder == member,
        MonitorLease.rank > 0,
        higher_alive,
    )
    if service_ids is not None:
        query = query.where(among(session, MonitorLease.service_id, service_ids))
    return set(session.scalars(query))


def forget_the_long_gone(session: Any, ttl: float) -> None:
    long_ago = func.now() - timedelta(seconds=ttl * FORGET_AFTER)
    session.execute(delete(RunnerMember).where(RunnerMember.beat_at < long_ago))


def forget_predecessors(session: Any, member_id: str) -> None:
    """Members of this host whose process is gone (or whose pid is ours: a restarted
    container) are dead for certain: forgetting them frees their leases now, not a
    lease time later, so a runner killed and restarted here resumes at once."""
    host = socket.gethostname()
    for member in session.scalars(select(RunnerMember.id).where(RunnerMember.id.startswith(f"{host}:"))):
        parts = member.rsplit(":", 2)
        if member == member_id or len(parts) != 3 or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid == os.getpid() or not process_alive(pid):
            session.execute(delete(RunnerMember).where(RunnerMember.id == member))


def beat(session: Any, member: str, region: str, *, held: int, refused: int, lock_key: int | None) -> None:
    """A member's beat, in the database's own time; a member the others forgot (a long
    silence, its lock lost) joins again."""
    values = {"beat_at": func.now(), "held": held, "refused": refused, "lock_key": lock_key}
    renewed = session.execute(update(RunnerMember).where(RunnerMember.id == member).values(**values))
    if renewed.rowcount == 0:
        session.execute(pg_insert(RunnerMember).values(id=member, region=region, started_at=func.now(), **values))


def without_their_locks(session: Any, member: str, ttl: float) -> set[tuple[str, int]]:
    """The other live members (with their lock keys) whose liveness lock nobody holds.
    Members first, locks second: a member we can see had its lock before its row was written."""
    keyed = session.execute(
        select(RunnerMember.id, RunnerMember.lock_key).where(
            RunnerMember.lock_key.is_not(None), RunnerMember.id != member, RunnerMember.alive(ttl)
        )
    ).all()
    held = set(session.scalars(_HELD_LIVENESS_KEYS, {"namespace": LIVENESS_NAMESPACE})) if keyed else set()
    return {(other, key) for other, key in keyed if key not in held}
