"""Shared fixtures: local targets, the plugin registry, a fake clock."""

from __future__ import annotations

import os

import pytest

from statuscore.testing import FakeClock
from tests import aioresponses_shim
from tests.targets import make_target_app, serve_app

aioresponses_shim.install()


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """argon2's cheapest profile for every password made or checked in this process:
    the tests check logins, not argon2's cost (processes the tests start keep the real one)."""
    try:
        from argon2 import PasswordHasher, profiles

        from statusweb.models.user import use_password_hasher
    except ImportError:  # statuscore alone, without the web extra
        yield
        return
    use_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))
    yield


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


@pytest.fixture(scope="session")
def image_venv(tmp_path_factory):
    """A clean virtualenv with exactly what the Dockerfile installs (the project with its
    web extra and both plugins), for the tests that walk an outsider's or the image's path."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    venv = tmp_path_factory.mktemp("image") / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [
            str(venv / "bin/python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(root / "constraints.txt"),
            f"{root}[web]",
            str(root / "plugins/statuscore-tls"),
            str(root / "plugins/statuscore-tcp"),
            str(root / "plugins/statuscore-dns"),
            str(root / "plugins/statuscore-db"),
            str(root / "plugins/statuscore-grpc"),
            str(root / "plugins/statuscore-icmp"),
            str(root / "plugins/statuscore-domain"),
        ],
        check=True,
        timeout=900,
        env=env,
    )
    return venv
