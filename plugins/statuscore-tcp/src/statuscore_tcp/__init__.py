"""`tcp`: a port accepts connections and, optionally, answers a line as expected.

[[monitor]]
name = "Redis"
type = "tcp"
host = "127.0.0.1"
port = 6379
send = "PING"
expect = "+PONG"
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import statuscore
from statuscore import Attempt, CheckContext, CheckType, FieldError


@dataclass(frozen=True, kw_only=True)
class TcpConfig:
    host: str
    port: int
    send: str = ""
    expect: str = ""
    max_reply_bytes: int = 4096

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise FieldError("port", f"{self.port} is not a TCP port")
        if self.expect and not self.send:
            raise FieldError("expect", "give `send` too: the reply expected is to a line sent")
        if self.max_reply_bytes < 1:
            raise FieldError("max_reply_bytes", "must be at least 1")


class TcpCheck(CheckType[TcpConfig]):
    name = "tcp"
    Config = TcpConfig
    condition_subjects = frozenset({"reply"})

    async def run(self, ctx: CheckContext) -> Attempt:
        config = self.config
        ctx.phase = f"connecting to {config.host}:{config.port}"
        reader, writer = await asyncio.open_connection(config.host, config.port, limit=config.max_reply_bytes)
        try:
            if not config.send:
                return Attempt(ok=True)
            line = config.send if config.send.endswith("\n") else config.send + "\r\n"
            writer.write(line.encode())
            await writer.drain()
            ctx.phase = "waiting for the reply"
            reply = await _read_line(reader, config.max_reply_bytes)
        finally:
            writer.transport.abort()
        text = reply.decode("utf-8", "replace").rstrip("\r\n")
        if not reply:
            return Attempt(ok=False, retryable=True, error="connection closed without a reply")
        if config.expect and not text.startswith(config.expect):
            shown = text if len(text) <= 60 else text[:57] + "..."
            return Attempt(
                ok=False,
                body=reply,
                values={"reply": text},
                error=f"reply did not start with {config.expect!r} (got {shown!r})",
            )
        return Attempt(ok=True, body=reply, values={"reply": text})


async def _read_line(reader: asyncio.StreamReader, limit: int) -> bytes:
    """One line, or the first `limit` bytes of an endless one."""
    try:
        return await reader.readline()
    except ValueError:  # longer than the stream's limit: keep what fits
        return await reader.read(limit)


@statuscore.hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [TcpCheck]
