"""Every way a check can break, as one line a person on call understands."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import aiohttp

from .redact import redact_urls


def describe_exception(exc: BaseException, *, phase: str, timeout: float,
                       check_type: str) -> tuple[str, bool]:
    """(reason, retryable) for an exception raised while a check ran.

    Connection errors and timeouts are worth retrying; a bad certificate, a redirect
    loop or a plugin's own bug will be the same a second later.
    """
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return f"timed out after {timeout:.1f} s {phase}", True
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate verify failed: {_cert_message(exc.certificate_error)}", False
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS error: {_ssl_message(exc)}", False
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {exc.host}", True
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _connect_message(exc), True
    if isinstance(exc, aiohttp.TooManyRedirects):
        return _redirect_message(exc), False
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        if phase.startswith(("waiting for headers", "connecting")):
            return "server closed the connection without answering", True
        return f"server closed the connection while {phase}", True
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"response body broken while {phase}: {_first_line(exc)}", True
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid HTTP response: {_parser_message(exc.message)}", True
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL: {exc.url}", False
    if isinstance(exc, aiohttp.ClientOSError):
        return _os_message(exc, phase), True
    if isinstance(exc, aiohttp.ClientError):
        return f"HTTP client error while {phase}: {_first_line(exc)}", True
    # Raw-socket errors, for check types that speak TCP or TLS themselves.
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verify failed: {_cert_message(exc)}", False
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {(exc.reason or _first_line(exc)).replace('_', ' ').lower()}", True
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused", True
    if isinstance(exc, ConnectionResetError):
        return f"connection reset by peer while {phase}", True
    if isinstance(exc, asyncio.IncompleteReadError):
        return f"connection closed by the server while {phase}", True
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup failed: {exc.strerror or exc}", True
    if isinstance(exc, OSError):
        return f"network error while {phase}: {exc.strerror or _first_line(exc)}", True
    return f"plugin error: {check_type}: {type(exc).__name__}: {_first_line(exc)}", False


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
    words = [line.strip().rstrip(":") for line in message.splitlines()
             if line.strip() and not line.strip().startswith(("b'", 'b"', "^"))]
    text = ": ".join(words)
    return _first_line(text[0].lower() + text[1:]) if text else "unreadable"


def _first_line(exc: object, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = redact_urls(text)  # a URL may carry a password or a token
    return text if len(text) <= limit else text[: limit - 3] + "..."
