"""`tcp` against local TCP servers."""

from __future__ import annotations

import asyncio
import socket

import pytest

from statuscore import ConfigError, Status
from statuscore.testing import HOST, run_check, serve_tcp, unanswered_connect


async def pong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = await reader.readline()
    writer.write(b"+PONG\r\n" if line.strip() == b"PING" else b"-ERR unknown\r\n")
    await writer.drain()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readline()
    writer.close()


async def test_open_port_is_up():
    async with serve_tcp(silent) as port:
        result = await run_check("tcp", host=HOST, port=port)
    assert result.status is Status.UP


async def test_expected_reply_is_up_and_usable_in_conditions():
    async with serve_tcp(pong) as port:
        result = await run_check(
            "tcp", host=HOST, port=port, send="PING", expect="+PONG", conditions=['reply == "+PONG"']
        )
    assert result.status is Status.UP, result.error


async def test_wrong_reply_is_down():
    async with serve_tcp(pong) as port:
        result = await run_check("tcp", host=HOST, port=port, send="HELLO", expect="+PONG")
    assert result.error == "reply did not start with '+PONG' (got '-ERR unknown')"


async def test_closed_port_is_refused():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    result = await run_check("tcp", host=HOST, port=port)
    assert result.error == "connection refused"


async def test_a_connect_that_never_completes_times_out_connecting():
    """A check type that opens its own sockets keeps the phase it set: only a failure
    inside aiohttp is read as "waiting for headers"."""
    with unanswered_connect() as port:
        result = await run_check("tcp", host=HOST, port=port, timeout="300ms")
    assert result.error == f"timed out after 0.3 s connecting to {HOST}:{port}"


async def test_silent_server_times_out_waiting_for_the_reply():
    async with serve_tcp(silent) as port:
        result = await run_check("tcp", host=HOST, port=port, send="PING", timeout="300ms")
    assert result.error == "timed out after 0.3 s waiting for the reply"


async def test_hang_up_without_reply():
    async with serve_tcp(hang_up) as port:
        result = await run_check("tcp", host=HOST, port=port, send="PING")
    assert result.error == "connection closed without a reply"


def test_expect_without_send_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        asyncio.run(run_check("tcp", name="redis", host=HOST, port=6379, expect="+PONG"))
    assert (caught.value.monitor, caught.value.key) == ("redis", "expect")
