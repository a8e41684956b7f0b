"""Every way a check can break, as one line a person on call understands."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Callable
from typing import Any

import aiohttp

from .redact import redact_urls


def describe_exception(exc: BaseException, *, phase: str, timeout: float, check_type: str) -> tuple[str, bool]:
    """(reason, retryable) for an exception raised while a check ran.

    Connection errors and timeouts are worth retrying; a bad certificate, a redirect
    loop or a plugin's own bug will be the same a second later. The first entry of
    `_REASONS` whose type matches wins, so subclasses come before their bases.
    """
    for kinds, describe, retryable in _REASONS:
        if isinstance(exc, kinds):
            return describe(exc, phase, timeout), retryable
    return f"plugin error: {check_type}: {type(exc).__name__}: {_first_line(exc)}", False


CONNECTING_MODULES = frozenset({"aiohttp.connector", "aiohttp.resolver"})


def phase_when_raised(exc: BaseException, phase: str) -> str:
    """The phase a check was in when `exc` cut it short. A check says "connecting to
    host:port" before its request; whether aiohttp had the connection by then is read
    off the frames the exception came through (inside its connector: still connecting,
    or waiting for a free connection; past it: waiting for headers). That costs nothing
    until something fails, where watching every connection being made cost a few
    microseconds per check (bench/engine.py), and it holds for any session, kept-alive
    connections included. A phase the check set itself is kept as it is."""
    if not phase.startswith("connecting"):
        return phase
    through_aiohttp = False
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            module = tb.tb_frame.f_globals.get("__name__", "")
            if module in CONNECTING_MODULES:
                return phase
            through_aiohttp = through_aiohttp or module.startswith("aiohttp.")
            tb = tb.tb_next
        current = current.__cause__ or current.__context__
    return "waiting for headers" if through_aiohttp else phase


def _disconnected(exc: BaseException, phase: str, timeout: float) -> str:
    if phase.startswith(("waiting for headers", "connecting")):
        return "server closed the connection without answering"
    return f"server closed the connection while {phase}"


def _raw_ssl(exc: BaseException, phase: str, timeout: float) -> str:
    reason = getattr(exc, "reason", None) or _first_line(exc)
    return f"TLS error: {reason.replace('_', ' ').lower()}"


Describe = Callable[[Any, str, float], str]
_REASONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Describe, bool], ...] = (
    ((asyncio.TimeoutError, TimeoutError), lambda e, phase, t: f"timed out after {t:.1f} s {phase}", True),
    (
        aiohttp.ClientConnectorCertificateError,
        lambda e, phase, t: f"TLS certificate verify failed: {_cert_message(e.certificate_error)}",
        False,
    ),
    (aiohttp.ClientSSLError, lambda e, phase, t: f"TLS error: {_ssl_message(e)}", False),
    (aiohttp.ClientConnectorDNSError, lambda e, phase, t: f"DNS lookup failed for {e.host}", True),
    (aiohttp.ClientConnectorError, lambda e, phase, t: _connect_message(e), True),
    (aiohttp.TooManyRedirects, lambda e, phase, t: _redirect_message(e), False),
    (aiohttp.ServerDisconnectedError, _disconnected, True),
    (aiohttp.ClientPayloadError, lambda e, phase, t: f"response body broken while {phase}: {_first_line(e)}", True),
    (aiohttp.ClientResponseError, lambda e, phase, t: f"invalid HTTP response: {_parser_message(e.message)}", True),
    (aiohttp.InvalidURL, lambda e, phase, t: f"invalid URL: {redact_urls(str(e.url))}", False),
    (aiohttp.ClientOSError, lambda e, phase, t: _os_message(e, phase), True),
    (aiohttp.ClientError, lambda e, phase, t: f"HTTP client error while {phase}: {_first_line(e)}", True),
    # Raw-socket errors, for check types that speak TCP or TLS themselves.
    (ssl.SSLCertVerificationError, lambda e, phase, t: f"TLS certificate verify failed: {_cert_message(e)}", False),
    (ssl.SSLError, _raw_ssl, True),
    (ConnectionRefusedError, lambda e, phase, t: "connection refused", True),
    (ConnectionResetError, lambda e, phase, t: f"connection reset by peer while {phase}", True),
    (asyncio.IncompleteReadError, lambda e, phase, t: f"connection closed by the server while {phase}", True),
    (socket.gaierror, lambda e, phase, t: f"DNS lookup failed: {e.strerror or e}", True),
    (OSError, lambda e, phase, t: f"network error while {phase}: {e.strerror or _first_line(e)}", True),
)


def _connect_message(exc: aiohttp.ClientConnectorError) -> str:
    where = f"{exc.host}:{exc.port}"
    code = exc.os_error.errno if exc.os_error else None
    if code == errno.ECONNREFUSED:
        return f"connection refused by {where}"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"host unreachable: {where}"
    if code == errno.ECONNRESET:
        return f"connection reset by {where} while connecting"
    return f"cannot connect to {where}: {exc.os_error.strerror or exc.os_error}"


def _os_message(exc: aiohttp.ClientOSError, phase: str) -> str:
    if exc.errno == errno.ECONNRESET:
        return f"connection reset by peer while {phase}"
    if exc.errno == errno.EPIPE:
        return f"connection broken (broken pipe) while {phase}"
    return f"network error while {phase}: {exc.strerror or _first_line(exc)}"


def _redirect_message(exc: aiohttp.TooManyRedirects) -> str:
    seen: list[str] = []
    for response in exc.history:
        url = str(response.url)
        if url in seen:
            return "redirect loop"
        seen.append(url)
    return f"too many redirects (more than {len(exc.history)})"


def _cert_message(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return error.verify_message.rstrip(".")
    return _first_line(error)


def _ssl_message(exc: aiohttp.ClientSSLError) -> str:
    inner = getattr(exc, "os_error", None)
    if isinstance(inner, ssl.SSLError) and inner.reason:
        return inner.reason.replace("_", " ").lower()
    return _first_line(inner or exc)


def _parser_message(message: str) -> str:
    """aiohttp's parser errors span lines ("Bad status line:\n  Expected HTTP/..."):
    keep the words, drop the byte dump."""
    words = [
        line.strip().rstrip(":")
        for line in message.splitlines()
        if line.strip() and not line.strip().startswith(("b'", 'b"', "^"))
    ]
    text = ": ".join(words)
    return _first_line(text[0].lower() + text[1:]) if text else "unreadable"


def _first_line(exc: object, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = redact_urls(text)  # a URL may carry a password or a token
    return text if len(text) <= limit else text[: limit - 3] + "..."
