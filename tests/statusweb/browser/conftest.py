"""The browser tests run on SQLite alone: what a person sees does not depend on the
database, and every route, form and query under them runs on both databases in the
webtests. Each browser run costs 10-40 s, so running them twice cost CI four minutes."""

from __future__ import annotations

import pytest

from tests.statusweb.conftest import migrated, sqlite_url


@pytest.fixture(scope="session")
def migrated_engine(tmp_path_factory):
    engine = migrated(sqlite_url(tmp_path_factory))
    yield engine
    engine.dispose()
