"""The round trip as a property: whatever services, incidents (any text, any time to the
microsecond, any mix of updates and affected services), maintenance windows and
subscribers a database holds, export -> import into an empty database -> export gives the
same bytes, and importing the file again adds nothing. Seeded and bounded."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from statusweb.models import (
    COMPONENT_STATUSES,
    IMPACTS,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    AffectedService,
    Base,
    Incident,
    IncidentUpdate,
    Maintenance,
    MaintenanceService,
    Service,
    Subscriber,
    get_session_factory,
)
from statusweb.transfer.export import export
from statusweb.transfer.load import import_file
from tests.statusweb.conftest import migrated

pytestmark = pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)

SLUGS = ("web", "linker", "mcp", "export")
words = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
updates = st.lists(st.tuples(st.sampled_from(INCIDENT_STATUSES), words, times), max_size=4)
incidents = st.lists(
    st.tuples(
        words.filter(str.strip),
        st.sampled_from(IMPACTS),
        times,
        st.booleans(),
        st.dictionaries(st.sampled_from(SLUGS), st.sampled_from(COMPONENT_STATUSES), max_size=3),
        updates,
    ),
    max_size=5,
)
windows = st.lists(
    st.tuples(
        words.filter(str.strip),
        times,
        st.integers(1, 600),
        st.sampled_from(MAINTENANCE_STATUSES),
        st.lists(st.sampled_from(SLUGS), unique=True, max_size=2),
    ),
    max_size=3,
)
addresses = st.lists(st.from_regex(r"[a-z]{1,8}@example\.(org|com)", fullmatch=True), unique=True, max_size=3)


def fill(session: Session, services: list[str], incident_specs, window_specs, emails, at: datetime) -> None:
    ids = {}
    for position, slug in enumerate(services):
        service = Service(slug=slug, name=slug.title(), type="http", position=position, created_at=at, updated_at=at)
        session.add(service)
        session.flush()
        ids[slug] = service.id
    for title, impact, created, deleted, affected, steps in incident_specs:
        incident = Incident(
            title=title[:200],
            impact=impact,
            status=steps[-1][0] if steps else "investigating",
            created_at=created,
            updated_at=created,
            deleted=deleted,
        )
        incident.affected = [
            AffectedService(service_id=ids[s], component_status=c) for s, c in affected.items() if s in ids
        ]
        incident.updates = [IncidentUpdate(status=s, body=b, created_at=t, author="ops") for s, b, t in steps]
        session.add(incident)
    for title, start, minutes, status, touched in window_specs:
        window = Maintenance(
            title=title[:200],
            starts_at=start,
            ends_at=start + timedelta(minutes=minutes),
            status=status,
            all_services=not touched,
            created_at=at,
            updated_at=at,
        )
        window.affected = [MaintenanceService(service_id=ids[s]) for s in touched if s in ids]
        session.add(window)
    for number, email in enumerate(emails):
        session.add(
            Subscriber(
                kind="email",
                address=email,
                components=",".join(str(i) for i in ids.values()),
                created_at=at,
                confirmed_at=at if number % 2 else None,
                confirm_token=f"c{number}",
                unsubscribe_token=f"u{number}",
            )
        )


def empty(engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    engine = migrated(f"sqlite:///{tmp_path_factory.mktemp('target') / 'target.sqlite'}")
    yield engine
    engine.dispose()


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    services=st.lists(st.sampled_from(SLUGS), unique=True),
    incident_specs=incidents,
    window_specs=windows,
    emails=addresses,
    at=times,
)
def test_export_import_export_gives_the_same_bytes(
    engine, target, tmp_path, services, incident_specs, window_specs, emails, at
):
    empty(engine)
    empty(target)
    with get_session_factory(engine).begin() as session:
        fill(session, services, incident_specs, window_specs, emails, at)
    first = tmp_path / "first.json"
    with get_session_factory(engine)() as session, first.open("w", encoding="utf-8") as out:
        export(session, out, with_secrets=True)
    report = import_file(get_session_factory(target), first)
    assert not report.skipped
    second = io.StringIO()
    with get_session_factory(target)() as session:
        export(session, second, with_secrets=True)
    assert second.getvalue() == first.read_text(encoding="utf-8")
    again = import_file(get_session_factory(target), Path(first))
    assert sum(again.added.values()) == 0 and not again.skipped
