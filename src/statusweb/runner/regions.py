"""Monitors checked from several regions: each region's lease holder records what it saw
(`region_observation`); the runner that decides the monitor reads the other regions'
votes here and counts them with `statuscore.count_votes` (the rule lives with the
state machine)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from statuscore import RegionVote, Status
from statusweb.models import RegionObservation, get_session_factory
from statusweb.runner.sql import among


def read_votes(engine: Engine, service_ids: Iterable[int]) -> dict[int, dict[str, RegionVote]]:
    """The latest observation of every region, for each of `service_ids`."""
    wanted = sorted(set(service_ids))
    if not wanted:
        return {}
    votes: dict[int, dict[str, RegionVote]] = {}
    with get_session_factory(engine)() as session:
        for row in session.scalars(
            select(RegionObservation).where(among(session, RegionObservation.service_id, wanted))
        ):
            votes.setdefault(row.service_id, {})[row.region] = RegionVote(
                row.region, Status(row.status), row.checked_at, row.error
            )
    return votes
