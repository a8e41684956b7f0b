"""The migrations build exactly the models' schema and come apart cleanly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from statusweb.migrations import downgrade, upgrade
from statusweb.models import Base, get_engine
from tests.statusweb.conftest import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = get_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
        yield engine
        engine.dispose()
        return
    url = create_pg_database()
    engine = get_engine(url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    drop_pg_database(url)


def test_upgrade_downgrade_round_trip(fresh_engine):
    upgrade(fresh_engine)
    tables = set(inspect(fresh_engine).get_table_names())
    assert tables == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    with fresh_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    downgrade(fresh_engine, "base")
    assert set(inspect(fresh_engine).get_table_names()) == {"alembic_version"}
    upgrade(fresh_engine)
    assert set(inspect(fresh_engine).get_table_names()) == tables
