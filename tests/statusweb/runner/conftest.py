"""Runner processes the tests start (test_runner.py, test_cluster.py, test_regions.py)."""

from __future__ import annotations

import pytest

from tests.statusweb.runner.test_runner import RunnerProcess


@pytest.fixture
def runner_processes():
    """Every RunnerProcess a test makes is killed at its end, passed or failed, so no
    runner outlives its test (and its database)."""
    made: list[RunnerProcess] = []
    yield made
    for runner in made:
        if runner.process is not None and runner.process.returncode is None:
            runner.process.kill()
