"""`map_limited`: many awaitables at most N at once, results in input order."""

from __future__ import annotations

import asyncio

import pytest

from statuscore.pool import map_limited


def test_results_come_back_in_input_order_whatever_order_they_finish() -> None:
    async def slow_for_small(n: int) -> int:
        await asyncio.sleep((10 - n) / 1000)
        return n * n

    assert asyncio.run(map_limited(slow_for_small, list(range(10)), 4)) == [n * n for n in range(10)]


def test_never_more_than_the_limit_in_flight_and_every_item_done_once() -> None:
    running, most, seen = 0, 0, []

    async def tracked(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0)
        seen.append(n)
        running -= 1
        return n

    assert asyncio.run(map_limited(tracked, list(range(1000)), 7)) == list(range(1000))
    assert most == 7
    assert sorted(seen) == list(range(1000))


def test_nothing_to_do_and_a_limit_above_the_items() -> None:
    async def same(n: int) -> int:
        return n

    assert asyncio.run(map_limited(same, [], 5)) == []
    assert asyncio.run(map_limited(same, [1, 2], 100)) == [1, 2]


def test_a_limit_below_one_is_refused() -> None:
    async def same(n: int) -> int:
        return n

    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(map_limited(same, [1], 0))


def test_a_failure_stops_the_rest_and_is_raised() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def fails_on_three(n: int) -> int:
        started.append(n)
        try:
            await asyncio.sleep(0.01 if n != 3 else 0)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        if n == 3:
            raise RuntimeError("three")
        return n

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="three"):
            await map_limited(fails_on_three, list(range(100)), 5)
        await asyncio.sleep(0.05)  # nothing left running in the background

    asyncio.run(scenario())
    assert set(cancelled) == {0, 1, 2, 4}
    assert max(started) == 4  # no new item started after the failure


def test_a_worker_lets_the_loop_run_between_items() -> None:
    """Items that finish without waiting do not hold the loop: each worker starts its
    next item in a later turn of the loop, after what else became ready (other
    workers' starts, other tasks)."""
    order: list[str] = []

    async def at_once(n: int) -> int:
        order.append(f"item {n}")
        return n

    async def scenario() -> None:
        async def other() -> None:
            for turn in range(3):
                order.append(f"other {turn}")
                await asyncio.sleep(0)

        elsewhere = asyncio.ensure_future(other())
        assert await map_limited(at_once, [0, 1, 2], 1) == [0, 1, 2]
        await elsewhere

    asyncio.run(scenario())
    assert order.index("other 1") < order.index("item 2")
    assert order.index("other 0") < order.index("item 1")
