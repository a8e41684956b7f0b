"""What the HTTP-speaking check types share: request options, TLS, capped reads."""

from __future__ import annotations

import json
import re
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from ..addresses import has_control_characters
from ..errors import FieldError
from ..json_path import MISSING, dotted, walk

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, kw_only=True)
class RequestConfig:
    """The keys every HTTP check type accepts."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    json: Any = None
    verify_tls: bool = True
    ca_file: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # `url` as parsed when it was checked, handed to aiohttp so no request parses it again
    # (None when it holds a `{task_id}` to fill in first).
    parsed_url: URL | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = check_url("url", self.url)
        object.__setattr__(self, "parsed_url", None if "{task_id}" in self.url else parsed)
        object.__setattr__(self, "method", self.method.upper())
        if self.method not in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            raise FieldError("method", f"unknown HTTP method {self.method!r}")
        if self.body is not None and self.json is not None:
            raise FieldError("json", "give either body or json, not both")
        if self.max_body_bytes <= 0:
            raise FieldError("max_body_bytes", "must be a positive number of bytes")

    def request_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"headers": self.headers, "ssl": tls_option(self.verify_tls, self.ca_file)}
        if self.json is not None:
            kwargs["data"] = json.dumps(self.json)
            kwargs["headers"] = {"Content-Type": "application/json", **self.headers}
        elif self.body is not None:
            kwargs["data"] = self.body
        return kwargs


def connecting_phase(url: str) -> str:
    """The phase a check starts in: "connecting to host:port" (for a URL `check_url`
    accepted). Worked out once per scheme and authority: monitors of one host share it,
    and splitting each URL cost 4.4 us a monitor, 90 ms of `statuscore check` on 20,000."""
    origin = _ORIGIN.match(url)
    return _phase_for(origin.group() if origin else url)


_ORIGIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")  # scheme://user@host:port, up to the path


@lru_cache(maxsize=4096)
def _phase_for(origin: str) -> str:
    parsed = urlsplit(origin)  # the standard library's split: a fifth of yarl's cost
    return f"connecting to {parsed.hostname}:{parsed.port or DEFAULT_PORTS.get(parsed.scheme)}"


def check_url(key: str, url: str) -> URL:
    """Reject at load time what can never be fetched; the URL as parsed (with any
    `{task_id}` standing in as "x")."""
    if has_control_characters(url):
        raise FieldError(key, "a URL may not hold a control character (a line break, a tab)")
    try:
        parsed = URL(url.replace("{task_id}", "x"))
    except ValueError as exc:
        raise FieldError(key, f"not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FieldError(key, f"expected an http:// or https:// URL, got {url!r}")
    return parsed


def tls_option(verify: bool, ca_file: str | None) -> ssl.SSLContext | bool:
    """aiohttp's `ssl=`: verified by default; a private CA when given; off when asked."""
    if not verify:
        return False
    if ca_file:
        return _context_for(ca_file)
    return True


@lru_cache(maxsize=64)
def _context_for(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most `limit` decoded bytes of the body, and whether it was cut.

    The cap counts what aiohttp hands over after gzip, deflate or br decoding, so a
    small compressed body that expands to a gigabyte (a decompression bomb) is cut
    at `limit` too; Content-Length, which counts compressed bytes, is trusted only
    for an unencoded body. Leaving the response context then closes the connection,
    so a huge or endless body is never buffered whole.
    """
    length = response.content_length
    if length is not None and length <= limit and not _is_encoded(response):
        return await response.read(), False
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        room = limit - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def _is_encoded(response: aiohttp.ClientResponse) -> bool:
    return response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")


def status_problem(response: aiohttp.ClientResponse, expected: str) -> str:
    reason = f" {response.reason}" if response.reason else ""
    return f"HTTP {response.status}{reason} (expected {expected})"


def lookup_path(document: Any, path: str) -> Any:
    """`document` at a dotted path ("data.task.id", "items.0"); None when absent."""
    found = walk(document, dotted(path))
    return None if found is MISSING else found


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
