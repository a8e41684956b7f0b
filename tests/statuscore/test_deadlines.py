"""statuscore.deadlines: the attempt deadline that replaced asyncio.timeout."""

from __future__ import annotations

import asyncio

import pytest

from statuscore.deadlines import SLOT, Deadline


async def test_a_deadline_interrupts_the_block_with_timeout_error_at_most_a_slot_late() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        async with Deadline(started + 0.05):
            await asyncio.sleep(10)
    assert 0.05 <= loop.time() - started < 0.05 + SLOT + 0.05


async def test_a_block_that_finishes_in_time_is_not_cancelled_later() -> None:
    loop = asyncio.get_running_loop()
    async with Deadline(loop.time() + 0.02):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)  # past the deadline: nothing may be delivered now
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_an_outside_cancellation_stays_a_cancellation() -> None:
    loop = asyncio.get_running_loop()

    async def waits() -> None:
        async with Deadline(loop.time() + 10):
            await asyncio.sleep(10)

    task = asyncio.ensure_future(waits())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_many_deadlines_each_fire_once_in_order_of_their_time() -> None:
    loop = asyncio.get_running_loop()
    fired: list[int] = []

    async def waits(index: int) -> None:
        try:
            async with Deadline(loop.time() + 0.01 * index):
                await asyncio.sleep(10)
        except TimeoutError:
            fired.append(index)

    await asyncio.gather(*(waits(index) for index in (5, 1, 3, 2, 4)))
    assert fired == [1, 2, 3, 4, 5]


def test_a_closed_loop_is_not_kept_alive_by_its_deadlines() -> None:
    import gc
    import weakref

    from statuscore import deadlines

    async def one() -> None:
        async with Deadline(asyncio.get_running_loop().time() + 5):
            pass

    # other tests of this process may keep their own closed loops alive: only this test's count
    closed_before = {id(kept) for kept in list(deadlines._wheels) if kept.is_closed()}
    loop = asyncio.new_event_loop()
    loop.run_until_complete(one())
    loop.close()
    gone = weakref.ref(loop)
    del loop
    gc.collect()
    assert gone() is None
    assert not [kept for kept in list(deadlines._wheels) if kept.is_closed() and id(kept) not in closed_before]


async def test_the_plain_with_form_times_out_and_lets_a_quick_block_through_as_async_with_does() -> None:
    """The check path uses `with Deadline(...)` (no coroutine objects per attempt)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        with Deadline(started + 0.03):
            await asyncio.sleep(10)
    assert loop.time() - started < 0.03 + SLOT + 0.05
    with Deadline(loop.time() + 0.02):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_deadline_given_its_loop_times_out_and_refuses_another_loop() -> None:
    """The check path hands the running loop over (no lookup, no getpid() per check)."""
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        with Deadline(loop.time() + 0.02, loop):
            await asyncio.sleep(10)
    with Deadline(loop.time() + 5, loop):
        await asyncio.sleep(0)
    other = asyncio.new_event_loop()
    try:
        with pytest.raises(RuntimeError, match="inside a task"):
            with Deadline(loop.time() + 5, other):
                await asyncio.sleep(0)
    finally:
        other.close()
