"""Request and retry logic in isolation, with aioresponses (no sockets at all)."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from aioresponses import aioresponses

from statuscore import Status, check, make_monitor
from statuscore.testing import FakeClock

URL = "https://www.sefaria.org/api/texts/Genesis.1.1"


@pytest.fixture
def mocked():
    with aioresponses() as m:
        yield m


def site(**policy):
    policy.setdefault("retry_delay", "0s")
    return make_monitor(name="sefaria.org", url=URL, **policy)


async def test_check_service_success(mocked):
    mocked.get(URL, payload={"he": ["x"]})
    result = await check(site(conditions=["json.he exists"]))
    assert result.status is Status.UP and result.status_code == 200


async def test_check_service_failure(mocked):
    mocked.get(URL, status=500, repeat=True)
    result = await check(site())
    assert result.status is Status.DOWN and result.attempts == 4


async def test_check_service_timeout(mocked):
    mocked.get(URL, exception=TimeoutError(), repeat=True)
    result = await check(site(retries=1))
    assert result.status is Status.DOWN
    assert result.error.startswith("timed out after 10.0 s")


async def test_check_service_connection_error(mocked):
    mocked.get(URL, exception=aiohttp.ServerDisconnectedError(), repeat=True)
    result = await check(site(retries=2))
    assert result.error == "server closed the connection without answering"
    assert result.attempts == 3


async def test_retry_logic_eventual_success(mocked):
    mocked.get(URL, status=503)
    mocked.get(URL, status=502)
    mocked.get(URL, status=200, payload={})
    result = await check(site())
    assert result.status is Status.UP and result.attempts == 3


async def test_retry_logic_all_fail(mocked):
    mocked.get(URL, status=503, repeat=True)
    result = await check(site(retries=3))
    assert result.status is Status.DOWN
    assert (result.attempts, result.max_attempts) == (4, 4)


async def test_4xx_is_not_retried(mocked):
    mocked.get(URL, status=403)
    mocked.get(URL, status=200)
    result = await check(site())
    assert result.status is Status.DOWN and result.attempts == 1


async def test_exponential_backoff_spacing(mocked):
    clock = RecordingClock()
    mocked.get(URL, status=503, repeat=True)
    await check(site(retries=3, retry_delay="2s", retry_backoff="exponential"), clock=clock)
    assert clock.waits == [2, 4, 8]
    assert clock.now() - clock.start == timedelta(seconds=14)  # nobody waited for real


class RecordingClock(FakeClock):
    """Virtual time that remembers each wait asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.start = self.now()
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await super().sleep(seconds)


async def test_check_measures_response_time(mocked):
    mocked.get(URL, status=200)
    result = await check(site())
    assert result.latency >= 0 and isinstance(result.latency_ms, int)
