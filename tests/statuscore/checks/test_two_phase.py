"""The `two_phase` check (Sefaria's Linker shape) against a real local task server."""

from __future__ import annotations

import time

from statuscore import Status, check, make_monitor
from tests.targets import TASKS


def linker(base: str, kind: str, **options):
    options.setdefault("retries", 0)
    options.setdefault("poll_interval", "20ms")
    return make_monitor(
        name="Linker",
        type="two_phase",
        url=f"{base}/submit/{kind}",
        json={"text": {"title": "", "body": "Job 1:1"}},
        poll_url=f"{base}/task/{{task_id}}",
        **options,
    )


async def test_task_that_finishes_is_up(target):
    base, app = target
    result = await check(linker(base, "ok"))
    assert result.status is Status.UP, result.error
    assert result.values["polls"] == 2
    assert result.values["state"] == "SUCCESS"
    assert list(app[TASKS].values()) == [2]


async def test_missing_task_id_is_down(target):
    base, _ = target
    result = await check(linker(base, "noid"))
    assert result.status is Status.DOWN
    assert result.error == "no task id at 'task_id' in the submit answer"
    assert result.status_code == 202


async def test_failed_task_is_down_and_says_so(target):
    base, _ = target
    result = await check(linker(base, "fail", retries=2))
    assert result.status is Status.DOWN
    assert result.error.startswith("task fail-") and result.error.endswith("ended in FAILURE")
    assert result.attempts == 1


async def test_task_that_never_finishes_is_down(target):
    base, _ = target
    result = await check(linker(base, "pending", max_poll_attempts=3))
    assert result.status is Status.DOWN
    assert result.error.endswith("not done after 3 polls (last state PENDING)")


async def test_never_finishing_task_is_cut_by_the_one_overall_timeout(target):
    base, _ = target
    started = time.monotonic()
    result = await check(linker(base, "pending", poll_interval="100ms", max_poll_attempts=100, timeout="500ms"))
    assert time.monotonic() - started < 1.5
    assert result.status is Status.DOWN
    assert result.error.startswith("timed out after 0.5 s")
    assert "task pending-" in result.error


async def test_submit_5xx_is_retried(target):
    base, _ = target
    result = await check(linker(base, "error", retries=2, retry_delay="10ms"))
    assert result.status is Status.DOWN
    assert result.attempts == 3
    assert result.error == "submit answered HTTP 503 Service Unavailable (expected 202)"


async def test_custom_paths_and_states(target):
    from aiohttp import web

    from tests.targets import serve_app

    async def submit(request):
        return web.json_response({"job": {"id": "a/b c"}}, status=202)

    async def poll(request):
        assert request.match_info["job"] == "a/b c"
        return web.json_response({"result": {"status": "done"}})

    app = web.Application()
    app.router.add_put("/jobs", submit)
    app.router.add_get("/jobs/{job}", poll)
    async with serve_app(app) as base:
        monitor = make_monitor(
            name="jobs",
            type="two_phase",
            method="PUT",
            url=f"{base}/jobs",
            poll_url=f"{base}/jobs/{{task_id}}",
            task_id_path="job.id",
            state_path="result.status",
            success_states=["done"],
            poll_interval="10ms",
            retries=0,
        )
        result = await check(monitor)
    assert result.status is Status.UP, result.error
