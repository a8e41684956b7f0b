"""Shared fixtures: local targets, the plugin registry, a fake clock."""

from __future__ import annotations

import os
import tempfile

# Chameleon compiles every template again for each app a test builds (its default loader
# keeps nothing): 0.3-0.4 s a template, a quarter of the hostile-route walk's minute. With
# a module cache on disk, shared by the test processes and set before Chameleon is first
# imported, each template is compiled once per run (its file named by the template's digest).
os.environ.setdefault("CHAMELEON_CACHE", os.path.join(tempfile.gettempdir(), f"statusweb-chameleon-{os.getuid()}"))
os.makedirs(os.environ["CHAMELEON_CACHE"], exist_ok=True)

import pytest  # noqa: E402

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
    web extra and the plugins), for the tests that walk an outsider's or the image's path;
    built once per run (tests/image_venv.py)."""
    from pathlib import Path

    from tests import image_venv as image

    folder = os.environ.get(image.FOLDER_VARIABLE)
    if folder is None:  # a run of chosen tests: built now, for this process
        folder = str(tmp_path_factory.mktemp("image"))
        image.start(Path(folder))
    return image.wait(Path(folder))


def pytest_configure(config):
    """The whole suite's first process starts building the image's virtualenv at once."""
    import tempfile
    from pathlib import Path

    from tests import image_venv as image

    if os.environ.get("PYTEST_XDIST_WORKER") or image.FOLDER_VARIABLE in os.environ:
        return
    if image.runs_whole_suite(list(config.invocation_params.args)):
        folder = Path(tempfile.mkdtemp(prefix="statusweb-image-"))
        os.environ[image.FOLDER_VARIABLE] = str(folder)
        config._image_build = (folder, image.start(folder))


def pytest_unconfigure(config):
    import shutil

    build = getattr(config, "_image_build", None)
    if build is not None:
        folder, process = build
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """The files that need the image's virtualenv last, so it is built by then."""
    needing = {item.path for item in items if "image_venv" in getattr(item, "fixturenames", ())}
    items.sort(key=lambda item: item.path in needing)
