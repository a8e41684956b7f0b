"""Leases on the real PostgreSQL: several LeaseBooks (as several runners would hold) on
one database split the monitors, take over from a silent member, and fence its writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from statuscore import CheckResult, MonitorState, Status, utcnow
from statusweb.models import CheckResultRow, MonitorLease, Service, ServiceState, get_session_factory
from statusweb.pages.queries import members
from statusweb.runner.backlog import Batch
from statusweb.runner.leases import LeaseBook, quota_for
from statusweb.runner.sql_store import SqlStore
from statusweb.runner.store_rows import write_batch

on_postgresql = pytest.mark.parametrize("migrated_engine", ["postgresql"], indirect=True)

TTL = 20.0  # long: these tests age a member by hand instead of waiting


def add_services(engine, count: int) -> list[int]:
    now = utcnow()
    with get_session_factory(engine).begin() as session:
        session.add_all(
            [Service(slug=f"s{i:02d}", name=f"S{i}", type="http", created_at=now, updated_at=now) for i in range(count)]
        )
    with get_session_factory(engine)() as session:
        return list(session.scalars(select(Service.id).order_by(Service.id)))


def books(engine, ids: list[int], names: list[str]) -> list[LeaseBook]:
    made = [LeaseBook(engine, ttl=TTL, member=name) for name in names]
    for book in made:
        book.join(ids)
    return made


def settle(made: list[LeaseBook], rounds: int = 3) -> None:
    """Heartbeats until nobody moves: what every member's next beats converge to."""
    for _ in range(rounds):
        for book in made:
            book.rebalance()


def silence(engine, member: str, seconds: float) -> None:
    """As if `member` had not beaten for `seconds` (paused, killed, cut off)."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE runner_member SET beat_at = now() - make_interval(secs => :s) WHERE id = :m"),
            {"s": seconds, "m": member},
        )


def test_quota_splits_exactly_and_the_same_on_every_member():
    live = ["a", "b", "c"]
    assert [quota_for(m, live, 10) for m in live] == [4, 3, 3]
    assert [quota_for(m, live, 2) for m in live] == [1, 1, 0]
    assert quota_for("gone", live, 10) == 0


@on_postgresql
def test_three_members_split_the_monitors_evenly_and_disjointly(engine):
    ids = add_services(engine, 10)
    made = books(engine, ids, ["r1", "r2", "r3"])
    settle(made)
    shares = [set(book.held) for book in made]
    assert sorted(len(share) for share in shares) == [3, 3, 4]
    assert set().union(*shares) == set(ids)
    assert sum(len(share) for share in shares) == 10  # no monitor held twice
    assert {m["id"]: m["held"] for m in members(engine)} == {"r1": 4, "r2": 3, "r3": 3}


@on_postgresql
def test_a_silent_member_loses_its_leases_and_its_late_writes_are_refused(engine):
    ids = add_services(engine, 9)
    first, second, third = made = books(engine, ids, ["r1", "r2", "r3"])
    settle(made)
    theirs = dict(third.held)
    silence(engine, "r3", TTL + 1)
    change_1, change_2 = first.rebalance(), second.rebalance()
    assert set(change_1.gained) | set(change_2.gained) == set(theirs)
    assert len(first.held) + len(second.held) == 9
    for service_id, generation in {**change_1.gained, **change_2.gained}.items():
        assert generation == theirs[service_id] + 1  # the fencing token moved on

    # r3 comes back with what it checked before the pause, and tries to write it.
    store = SqlStore(engine, leases=third)
    store.service_ids = {f"s{i:02d}": service_id for i, service_id in enumerate(ids)}
    slug = next(slug for slug, service_id in store.service_ids.items() if service_id in theirs)
    late = CheckResult(monitor=slug, slug=slug, status=Status.DOWN, checked_at=utcnow(), latency=1.0, error="timed out")
    batch = Batch([late], {slug: MonitorState(status=Status.DOWN)})
    refused = write_batch(store.session_factory, store.service_ids, third, utcnow(), batch, [])
    assert refused == set()  # no alerts in this batch
    assert third.refused == 2  # the result and the state
    with get_session_factory(engine)() as session:
        assert session.scalar(select(CheckResultRow.id).where(CheckResultRow.service_id.in_(theirs))) is None
        assert session.scalar(select(ServiceState.status).where(ServiceState.service_id.in_(theirs))) is None

    # Its next heartbeat tells it what it lost; the three share again.
    change_3 = third.rebalance()
    assert set(theirs) <= change_3.lost | set(third.held)
    settle(made)
    assert sorted(len(book.held) for book in made) == [3, 3, 3]


@on_postgresql
def test_a_writer_holding_its_lease_writes_and_a_claim_waits_for_nothing(engine):
    ids = add_services(engine, 2)
    (only,) = books(engine, ids, ["r1"])
    only.rebalance()
    store = SqlStore(engine, leases=only)
    store.service_ids = {"s00": ids[0], "s01": ids[1]}
    result = CheckResult(monitor="s00", slug="s00", status=Status.UP, checked_at=utcnow(), latency=0.1)
    batch = Batch([result], {"s00": MonitorState(status=Status.UP)})
    write_batch(store.session_factory, store.service_ids, only, utcnow(), batch, [])
    assert only.refused == 0
    with get_session_factory(engine)() as session:
        assert session.scalar(select(ServiceState.status).where(ServiceState.service_id == ids[0])) == "up"


@on_postgresql
def test_a_member_joining_moves_only_the_surplus(engine):
    ids = add_services(engine, 12)
    made = books(engine, ids, ["r1", "r2"])
    settle(made)
    before = {book.member: set(book.held) for book in made}
    newcomer = LeaseBook(engine, ttl=TTL, member="r3")
    newcomer.join(ids)
    made.append(newcomer)
    settle(made)
    after = {book.member: set(book.held) for book in made}
    assert sorted(len(share) for share in after.values()) == [4, 4, 4]
    moved = sum(len(before[m] - after[m]) for m in before)
    assert moved == 4  # exactly the newcomer's share, nothing shuffled between the others


@on_postgresql
def test_leave_hands_everything_over_at_the_next_beat(engine):
    ids = add_services(engine, 6)
    first, second = made = books(engine, ids, ["r1", "r2"])
    settle(made)
    first.leave()
    second.rebalance()
    assert len(second.held) == 6
    assert [m["id"] for m in members(engine)] == ["r2"]


@on_postgresql
def test_a_member_forgotten_after_a_long_silence_joins_again_on_its_next_beat(engine):
    ids = add_services(engine, 4)
    first, second = made = books(engine, ids, ["r1", "r2"])
    settle(made)
    silence(engine, "r2", TTL * 11)
    first.rebalance()  # deletes r2's row: gone for more than ten lease times
    assert [m["id"] for m in members(engine)] == ["r1"]
    second.rebalance()
    assert {m["id"] for m in members(engine)} == {"r1", "r2"}
    settle(made)
    assert sorted(len(book.held) for book in made) == [2, 2]


@on_postgresql
def test_hidden_services_have_no_lease(engine):
    ids = add_services(engine, 3)
    with get_session_factory(engine).begin() as session:
        session.get(Service, ids[0]).hidden = True
    (only,) = books(engine, ids, ["r1"])
    only.rebalance()
    assert set(only.held) == set(ids[1:])
    with get_session_factory(engine)() as session:
        assert session.scalar(select(MonitorLease.service_id).where(MonitorLease.service_id == ids[0])) is None


@on_postgresql
def test_fresh_is_false_once_the_lease_time_has_passed_since_the_last_renewal(engine):
    ids = add_services(engine, 1)
    now = [100.0]
    book = LeaseBook(engine, ttl=TTL, member="r1", monotonic=lambda: now[0])
    book.join(ids)
    assert not book.fresh()  # never renewed
    book.rebalance()
    now[0] += TTL - 0.1
    assert book.fresh()
    now[0] += 0.2  # a SIGSTOP longer than the lease: another member may hold them now
    assert not book.fresh()


@on_postgresql
def test_members_report_their_age_in_the_database_clock(engine):
    ids = add_services(engine, 1)
    books(engine, ids, ["r1"])
    silence(engine, "r1", 30)
    (member,) = members(engine)
    assert 29 < member["age_s"] < 40
    assert member["beat_at"] < utcnow() - timedelta(seconds=29)


@on_postgresql
def test_a_first_claim_of_seventy_thousand_leases_passes_the_protocols_parameter_limit(engine):
    """An IN list of one parameter per id stops at 65,535 (psycopg): 200,000 monitors
    could not join. Ids travel as one array."""
    from sqlalchemy import insert

    now = utcnow()
    with get_session_factory(engine).begin() as session:
        session.execute(
            insert(Service),
            [
                {"slug": f"x{i}", "name": f"X{i}", "type": "http", "created_at": now, "updated_at": now}
                for i in range(70_000)
            ],
        )
        ids = list(session.scalars(select(Service.id)))
    (only,) = books(engine, ids, ["r1"])
    settle([only], rounds=7)  # claimed 10,000 a heartbeat
    assert len(only.held) == 70_000
    with get_session_factory(engine).begin() as session:
        assert only.fence(session, ids) == (set(ids), set(ids))
    store = SqlStore(engine, leases=only)
    store.service_ids = {f"x{i}": service_id for i, service_id in enumerate(ids)}
    assert store.take_over(list(store.service_ids)) == {}  # no states saved yet; the query went through


@on_postgresql
def test_among_takes_no_values_and_text_values_too(engine):
    from statusweb.runner.sql import among

    add_services(engine, 2)
    with get_session_factory(engine)() as session:
        assert session.scalars(select(Service.slug).where(among(session, Service.slug, []))).all() == []
        assert session.scalars(select(Service.slug).where(among(session, Service.slug, ["s01"]))).all() == ["s01"]
        assert session.scalars(select(Service.slug).where(among(session, Service.id, []))).all() == []


@on_postgresql
def test_claims_come_in_batches_and_a_renewal_alone_keeps_the_leases(engine, monkeypatch):
    """Taking 50,000 monitors in one heartbeat kept a runner busy past its lease time,
    and the others took everything back (bench/cluster.py): claims are capped per beat,
    and the beat is renewed on its own."""
    from statusweb.runner import leases

    monkeypatch.setattr(leases, "CLAIM_BATCH", 2)
    ids = add_services(engine, 6)
    (first,) = books(engine, ids, ["r1"])
    assert [len(first.rebalance().gained) for _ in range(3)] == [2, 2, 2]
    (second,) = books(engine, ids, ["r2"])
    made = [first, second]
    silence(engine, "r1", TTL + 1)
    first.renew()  # a busy runner's own timer
    second.rebalance()
    assert len(first.held) == 6 and second.held == {}  # nothing was free to claim
    settle(made, rounds=4)
    assert sorted(len(book.held) for book in made) == [3, 3]


@on_postgresql
def test_a_runner_restarted_on_the_same_host_takes_its_dead_predecessors_leases_at_once(engine):
    """kill -9 and restart: the old member looked alive for a lease time, so the new one
    waited ~20 s for monitors nobody checked. A member of this host whose process is gone
    (or whose pid is ours, as in a restarted container) is forgotten when we join."""
    import os
    import socket

    ids = add_services(engine, 4)
    host = socket.gethostname()
    gone = f"{host}:{2**22 + 12345}:dead00"  # beyond pid_max's default: no such process
    (killed,) = books(engine, ids, [gone])
    killed.rebalance()
    assert len(killed.held) == 4
    elsewhere = LeaseBook(engine, ttl=TTL, member=f"other-host:{os.getpid()}:aa")  # not ours to judge
    elsewhere.join(ids)
    restarted = LeaseBook(engine, ttl=TTL)  # this process: host:pid:random
    restarted.join(ids)
    settle([restarted, elsewhere])
    assert len(restarted.held) + len(elsewhere.held) == 4 and len(restarted.held) == 2
    assert gone not in {m["id"] for m in members(engine)}
