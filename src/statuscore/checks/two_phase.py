"""`two_phase`: submit a task (answered 202 with an id), then poll until it is done.

Sefaria's Linker works this way: POST /api/find-refs answers {"task_id": ...}, and
GET /api/async/{task_id} answers a Celery `state` until it is SUCCESS. A 202 alone only
proves the web tier is up; finishing the task proves the workers are too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..errors import FieldError
from ..hookspecs import hookimpl
from ..model import Attempt
from ..schema import Duration
from .base import CheckContext, CheckType
from .http_client import RequestConfig, check_url, lookup_path, parse_json, read_capped, status_problem


@dataclass(frozen=True, kw_only=True)
class TwoPhaseConfig(RequestConfig):
    poll_url: str
    method: str = "POST"
    submit_status: tuple[int, ...] = (202,)
    task_id_path: str = "task_id"
    state_path: str = "state"
    poll_interval: Duration = 1.0
    max_poll_attempts: int = 10
    success_states: tuple[str, ...] = ("SUCCESS",)
    failure_states: tuple[str, ...] = ("FAILURE", "REVOKED")

    def __post_init__(self) -> None:
        super().__post_init__()
        if "{task_id}" not in self.poll_url:
            raise FieldError("poll_url", "must contain {task_id}, e.g. https://host/api/async/{task_id}")
        check_url("poll_url", self.poll_url)
        if self.max_poll_attempts < 1:
            raise FieldError("max_poll_attempts", "must be at least 1")
        if not self.success_states:
            raise FieldError("success_states", "needs at least one state")


class TwoPhaseCheck(CheckType[TwoPhaseConfig]):
    name = "two_phase"
    Config = TwoPhaseConfig

    def __init__(self, config: TwoPhaseConfig) -> None:
        super().__init__(config)
        self._submit = config.request_kwargs()
        self._poll = {"headers": config.headers, "ssl": self._submit["ssl"]}

    async def run(self, ctx: CheckContext) -> Attempt:
        config = self.config
        ctx.phase = "waiting for the submit answer"
        async with ctx.request(config.method, config.url, **self._submit) as response:
            body, truncated = await read_capped(response, config.max_body_bytes)
        if response.status not in config.submit_status:
            expected = " or ".join(map(str, config.submit_status))
            return Attempt(
                ok=False,
                status_code=response.status,
                body=body,
                error="submit answered " + status_problem(response, expected),
                retryable=response.status >= 500,
            )
        task_id = lookup_path(parse_json(body), config.task_id_path)
        if not isinstance(task_id, (str, int)) or isinstance(task_id, bool) or task_id == "":
            cut = f" (the answer was cut at max_body_bytes, {config.max_body_bytes} bytes)" if truncated else ""
            return Attempt(
                ok=False,
                status_code=response.status,
                body=body,
                error=f"no task id at '{config.task_id_path}' in the submit answer{cut}",
            )
        return await self._poll_until_done(ctx, str(task_id))

    async def _poll_until_done(self, ctx: CheckContext, task_id: str) -> Attempt:
        config = self.config
        url = config.poll_url.replace("{task_id}", quote(task_id, safe=""))
        last_state = None
        for poll in range(1, config.max_poll_attempts + 1):
            ctx.phase = f"waiting for task {task_id} ({poll - 1}/{config.max_poll_attempts} polls)"
            await ctx.sleep(config.poll_interval)
            ctx.phase = f"polling task {task_id} ({poll}/{config.max_poll_attempts})"
            async with ctx.request("GET", url, **self._poll) as response:
                body, _ = await read_capped(response, config.max_body_bytes)
            if response.status != 200:
                return Attempt(
                    ok=False,
                    status_code=response.status,
                    body=body,
                    error=f"poll of task {task_id} answered " + status_problem(response, "200"),
                    retryable=response.status >= 500,
                )
            state = lookup_path(parse_json(body), config.state_path)
            if state is None:
                return Attempt(
                    ok=False,
                    status_code=200,
                    body=body,
                    error=f"no state at '{config.state_path}' in the poll answer for task {task_id}",
                )
            values = {"task_id": task_id, "polls": poll, "state": state}
            if state in config.success_states:
                return Attempt(ok=True, status_code=200, body=body, headers=response.headers, values=values)
            if state in config.failure_states:
                return Attempt(
                    ok=False, status_code=200, body=body, values=values, error=f"task {task_id} ended in {state}"
                )
            last_state = state
        return Attempt(
            ok=False,
            status_code=200,
            retryable=True,
            values={"task_id": task_id, "polls": config.max_poll_attempts},
            error=f"task {task_id} not done after {config.max_poll_attempts} polls (last state {last_state})",
        )


@hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [TwoPhaseCheck]
