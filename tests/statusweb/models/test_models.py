"""The model tests from Sefaria's plan (section 10.3), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select

from statusweb.models import CheckResultRow, Service, get_session_factory
from statusweb.pages.queries import latest_result_per_service

T0 = datetime(2026, 2, 8, 14, 0, tzinfo=UTC)


def add_service(session, slug: str) -> Service:
    service = Service(
        slug=slug,
        name=slug.title(),
        type="http",
        position=0,
        group_name="",
        description="",
        hidden=False,
        created_at=T0,
        updated_at=T0,
    )
    session.add(service)
    session.flush()
    return service


def test_check_result_creation_keeps_every_field_and_aware_times(engine):
    with get_session_factory(engine).begin() as session:
        service = add_service(session, "sefaria-org")
        session.add(
            CheckResultRow(
                service_id=service.id,
                checked_at=T0,
                status="down",
                latency_ms=234,
                status_code=503,
                error="HTTP 503 Service Unavailable",
                attempts=4,
            )
        )
    with get_session_factory(engine)() as session:
        row = session.scalars(select(CheckResultRow)).one()
        assert (row.status, row.latency_ms, row.status_code, row.error, row.attempts) == (
            "down",
            234,
            503,
            "HTTP 503 Service Unavailable",
            4,
        )
        assert row.checked_at == T0 and row.checked_at.tzinfo is not None


def test_ordering_by_checked_at_desc(engine):
    with get_session_factory(engine).begin() as session:
        service = add_service(session, "site")
        for minutes in (5, 1, 3):
            session.add(
                CheckResultRow(
                    service_id=service.id,
                    checked_at=T0 + timedelta(minutes=minutes),
                    status="up",
                    latency_ms=1,
                    attempts=1,
                )
            )
    with get_session_factory(engine)() as session:
        times = session.scalars(select(CheckResultRow.checked_at).order_by(CheckResultRow.checked_at.desc())).all()
    assert [t.minute for t in times] == [5, 3, 1]


def test_index_on_service_and_checked_at_exists(engine):
    indexes = inspect(engine).get_indexes("check_result")
    assert {"name": "ix_check_result_service_id_checked_at", "columns": ["service_id", "checked_at"]} in [
        {"name": i["name"], "columns": i["column_names"]} for i in indexes
    ]


def test_latest_result_per_service(engine):
    with get_session_factory(engine).begin() as session:
        first, second = add_service(session, "a"), add_service(session, "b")
        for minutes, service, status in [
            (1, first, "up"),
            (2, first, "down"),
            (1, second, "up"),
            (3, second, "degraded"),
            (2, second, "up"),
        ]:
            session.add(
                CheckResultRow(
                    service_id=service.id,
                    checked_at=T0 + timedelta(minutes=minutes),
                    status=status,
                    latency_ms=minutes,
                    attempts=1,
                )
            )
    with get_session_factory(engine)() as session:
        latest = latest_result_per_service(session)
    assert {slug: (row.status, row.checked_at.minute) for slug, row in latest.items()} == {
        "a": ("down", 2),
        "b": ("degraded", 3),
    }
