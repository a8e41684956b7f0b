"""`http`: one request; UP when the status is expected (and the conditions hold)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FieldError
from ..frozen import quick_init
from ..hookspecs import hookimpl
from ..model import Attempt, new_attempt
from .base import CheckContext, CheckType
from .http_client import RequestConfig, connecting_phase, read_capped, status_problem

MAX_REDIRECTS = 10


@quick_init
@dataclass(frozen=True, kw_only=True)
class HttpConfig(RequestConfig):
    """`expected_status` empty means any 2xx (any 2xx or 3xx when not following redirects)."""

    expected_status: tuple[int, ...] = ()
    follow_redirects: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for code in self.expected_status:
            if not 100 <= code <= 599:
                raise FieldError("expected_status", f"{code} is not an HTTP status code")

    def accepts(self, status: int) -> bool:
        if self.expected_status:
            return status in self.expected_status
        return 200 <= status < (300 if self.follow_redirects else 400)

    def describe_expected(self) -> str:
        if self.expected_status:
            return " or ".join(str(code) for code in self.expected_status)
        return "2xx" if self.follow_redirects else "2xx or 3xx"


class HttpCheck(CheckType[HttpConfig]):
    name = "http"
    Config = HttpConfig

    def __init__(self, config: HttpConfig) -> None:
        super().__init__(config)
        self._request = config.request_kwargs()
        self._connecting = connecting_phase(config.url)
        self._url = config.parsed_url or config.url

    async def run(self, ctx: CheckContext) -> Attempt:
        config = self.config
        ctx.phase = self._connecting
        async with ctx.request(
            config.method,
            self._url,
            allow_redirects=config.follow_redirects,
            max_redirects=MAX_REDIRECTS,
            **self._request,
        ) as response:
            ctx.phase = "reading the body"
            body, truncated = await read_capped(response, config.max_body_bytes)
        ok = config.accepts(response.status)
        return new_attempt(
            ok=ok,
            status_code=response.status,
            error=None if ok else status_problem(response, config.describe_expected()),
            retryable=response.status >= 500,
            body=body,
            headers=response.headers,
            values={"truncated": True} if truncated else {},
        )


@hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [HttpCheck]
