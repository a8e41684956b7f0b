"""Helpers for testing statuscore and check-type plugins without leaving 127.0.0.1.

    from statuscore.testing import FakeClock, run_check, serve_app, serve_tcp

`serve_app(app)` serves an aiohttp app on an ephemeral local port, `serve_tcp(handler,
ssl=...)` a raw TCP (or TLS) server, `unanswered_connect()` a port whose connect never
completes, `run_check(type, registry=..., **keys)` builds a monitor exactly as
monitors.toml would and checks it once, and `FakeClock` lets a
`Scheduler` run through an hour of intervals in milliseconds. As a pytest plugin
(`pytest_plugins = ["statuscore.testing"]` in your top-level conftest) it also gives the
`fake_clock` fixture.
"""

from __future__ import annotations

import asyncio
import socket
import ssl as ssl_module
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from .api import check
from .config import make_monitor
from .model import CheckResult
from .plugins import PluginRegistry

HOST = "127.0.0.1"


class FakeClock:
    """Virtual time: `sleep` moves the clock forward at once. The scheduler sees
    `virtual` and lets time jump only when no check is in flight."""

    virtual = True

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._monotonic = 1000.0

    def monotonic(self) -> float:
        return self._monotonic

    def now(self) -> datetime:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._wall += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


@asynccontextmanager
async def serve_app(
    app: web.Application, ssl_context: ssl_module.SSLContext | None = None, host: str = HOST
) -> AsyncIterator[str]:
    """Serve an aiohttp `app` on 127.0.0.1 (or `host`) and an ephemeral port; yields its base URL."""
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"{'https' if ssl_context else 'http'}://{host}:{port}"
    finally:
        await runner.cleanup()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve_tcp(handler: Handler, *, ssl: ssl_module.SSLContext | None = None) -> AsyncIterator[int]:
    """A raw TCP (or TLS, with `ssl`) server on 127.0.0.1; yields its port. Connections
    still open at the end are aborted, so a handler may hang on purpose."""
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, ssl_module.SSLError, asyncio.IncompleteReadError):
            pass

    server = await asyncio.start_server(tracked, HOST, 0, ssl=ssl)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()


@contextmanager
def unanswered_connect() -> Iterator[int]:
    """A local port whose TCP connect never completes, as behind a firewall that drops
    packets: a listener with no room in its accept queue (backlog 0, one connection
    queued and never accepted), so the kernel drops the next connection's SYN."""
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind((HOST, 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        yield listener.getsockname()[1]


def self_signed_server_context(directory: Any, host: str = HOST) -> ssl_module.SSLContext:
    """A server TLS context with a truly self-signed certificate for `host` (files are
    written to `directory`); needs the `cryptography` package."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = Path(directory) / "self-signed.pem", Path(directory) / "self-signed.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def run_check(
    check_type: str, *, registry: PluginRegistry | None = None, name: str = "under test", **keys: Any
) -> CheckResult:
    """Build a monitor of `check_type` from `keys` (validated like monitors.toml, so a
    bad key raises ConfigError) and check it once; retries default to 0."""
    keys.setdefault("retries", 0)
    monitor = make_monitor(registry=registry, name=name, type=check_type, **keys)
    return await check(monitor, registry=registry)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
