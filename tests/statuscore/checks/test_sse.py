"""The `sse` check (an MCP server's /sse) against real local streams."""

from __future__ import annotations

import time

from statuscore import Status, check, make_monitor


def sse(url: str, **options):
    options.setdefault("retries", 0)
    return make_monitor(name="MCP", type="sse", url=url, **options)


async def test_stream_with_an_event_is_up(target):
    base, _ = target
    result = await check(sse(f"{base}/sse/ok", conditions=['body contains "session_id"']))
    assert result.status is Status.UP, result.error
    assert result.values == {"event": "endpoint"}


async def test_wrong_content_type_is_down(target):
    base, _ = target
    result = await check(sse(f"{base}/sse/wrong-type"))
    assert result.status is Status.DOWN
    assert result.error == "expected Content-Type text/event-stream, got text/html"


async def test_silent_stream_times_out_waiting_for_the_first_event(target):
    base, _ = target
    started = time.monotonic()
    result = await check(sse(f"{base}/sse/silent", timeout="400ms"))
    assert time.monotonic() - started < 1.4
    assert result.status is Status.DOWN
    assert result.error == "timed out after 0.4 s waiting for the first event"


async def test_headers_alone_are_enough_when_no_event_is_required(target):
    base, _ = target
    result = await check(sse(f"{base}/sse/silent", require_event=False, timeout="400ms"))
    assert result.status is Status.UP


async def test_endless_pings_without_an_event_stop_at_the_cap(target):
    base, _ = target
    result = await check(sse(f"{base}/sse/pings", max_event_bytes=20_000, timeout="5s"))
    assert result.status is Status.DOWN
    assert result.error == "no complete event in the first 20000 bytes"


async def test_404_is_down(target):
    base, _ = target
    result = await check(sse(f"{base}/status/404"))
    assert result.error == "HTTP 404 Not Found (expected 200)"
