"""Shared fixtures: local targets, the plugin registry, a fake clock."""

from __future__ import annotations

import pytest

from statuscore.testing import FakeClock
from tests import aioresponses_shim
from tests.targets import make_target_app, serve_app

aioresponses_shim.install()


@pytest.fixture
async def target():
    """A well-behaved and hostile HTTP target on 127.0.0.1; yields (base_url, app)."""
    app = make_target_app()
    async with serve_app(app) as base_url:
        yield base_url, app


@pytest.fixture
def fake_clock():
    return FakeClock()


@pytest.fixture
def registry():
    from statuscore.plugins import load_registry

    return load_registry(autoload=False)
