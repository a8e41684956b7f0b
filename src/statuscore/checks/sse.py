"""`sse`: a Server-Sent Events endpoint answers, and (by default) sends one event.

An MCP server's /sse sends its `endpoint` event at once, so one complete event proves
the server is really serving sessions. The stream is closed after it: an endless
stream is read only up to `max_event_bytes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ..errors import FieldError
from ..hookspecs import hookimpl
from ..model import Attempt
from .base import CheckContext, CheckType
from .http_client import check_url, connecting_phase, status_problem, tls_option

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(rb"\r\n|\n|\r")


@dataclass(frozen=True, kw_only=True)
class SseConfig:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    verify_tls: bool = True
    ca_file: str | None = None
    require_event: bool = True
    max_event_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        check_url("url", self.url)
        if self.max_event_bytes <= 0:
            raise FieldError("max_event_bytes", "must be a positive number of bytes")


class SseCheck(CheckType[SseConfig]):
    name = "sse"
    Config = SseConfig

    def __init__(self, config: SseConfig) -> None:
        super().__init__(config)
        self._headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **config.headers}
        self._ssl = tls_option(config.verify_tls, config.ca_file)
        self._connecting = connecting_phase(config.url)

    async def run(self, ctx: CheckContext) -> Attempt:
        config = self.config
        ctx.phase = self._connecting
        async with ctx.request("GET", config.url, headers=self._headers, ssl=self._ssl) as response:
            if response.status != 200:
                return Attempt(
                    ok=False,
                    status_code=response.status,
                    error=status_problem(response, "200"),
                    retryable=response.status >= 500,
                )
            if response.content_type != "text/event-stream":
                return Attempt(
                    ok=False,
                    status_code=200,
                    headers=response.headers,
                    error=f"expected Content-Type text/event-stream, got {response.content_type or 'none'}",
                )
            if not config.require_event:
                return Attempt(ok=True, status_code=200, headers=response.headers)
            ctx.phase = "waiting for the first event"
            return await self._first_event(response)

    async def _first_event(self, response: aiohttp.ClientResponse) -> Attempt:
        limit = self.config.max_event_bytes
        buffer = b""
        received = 0
        while True:
            chunk = await response.content.readany()
            if not chunk:
                return Attempt(
                    ok=False,
                    status_code=200,
                    headers=response.headers,
                    retryable=True,
                    error="stream ended before a complete event",
                )
            buffer += chunk
            received += len(chunk)
            start = 0
            for end in _EVENT_END.finditer(buffer):
                block = buffer[start : end.start()]
                start = end.end()
                name = _event_name(block)
                if name is not None:
                    return Attempt(
                        ok=True, status_code=200, headers=response.headers, body=block, values={"event": name}
                    )
            buffer = buffer[start:]
            if received > limit:
                return Attempt(
                    ok=False,
                    status_code=200,
                    headers=response.headers,
                    error=f"no complete event in the first {limit} bytes",
                )


def _event_name(block: bytes) -> str | None:
    """The event's name ("message" by default) when `block` dispatches an event.

    Per the SSE spec an event is dispatched only when it carries data; comment-only
    blocks (keep-alive pings) are not events.
    """
    name, has_data = "message", False
    for line in _LINE.split(block):
        if line.startswith(b":"):
            continue
        key, _, value = line.partition(b":")
        if key == b"data":
            has_data = True
        elif key == b"event":
            name = value.strip().decode("utf-8", "replace") or "message"
    return name if has_data else None


@hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [SseCheck]
