"""What a request may be, refused at the edge before anything reads it.

Request bodies over 1 MiB get 413: waitress enforces `max_request_body_size` (set in
both ini files) while it receives a request; this tween says the same for any other
WSGI server, from Content-Length, so an anonymous 100 MB POST never grows the process.

An address whose path or query is not UTF-8 once percent-decoded (`/incidents/%ff`, a
lone surrogate `%ED%A0%80`) gets 400 from `Utf8Guard`, the outermost WSGI layer:
Pyramid's router and WebOb's parameters would raise on it (a 500, and waitress would
log the raw path, which may hold a push or invitation token).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS


def body_limit_tween_factory(handler: Callable[[Request], Response], registry: Any) -> Callable[[Request], Response]:
    limit = registry["statusweb.settings"].max_request_body_bytes

    def refuse_large_bodies(request: Request) -> Response:
        length = request.environ.get("CONTENT_LENGTH") or "0"
        if not (length.isascii() and length.isdecimal()) or len(length) > 12 or int(length) > limit:
            return Response(
                f"413 Request Entity Too Large: at most {limit} bytes\n", status=413, content_type="text/plain"
            )
        return handler(request)

    return refuse_large_bodies


class Utf8Guard:
    """400 for a path or query that is not UTF-8 (see the module docstring)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.registry = getattr(app, "registry", None)  # pserve and tests reach the registry through here

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if valid_utf8(environ.get("PATH_INFO", ""), plus=False) and valid_utf8(environ.get("QUERY_STRING", "")):
            return self.app(environ, start_response)
        body = b"400 Bad Request: the address is not valid UTF-8\n"
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [body]


def valid_utf8(wsgi_text: str, *, plus: bool = True) -> bool:
    """Whether a WSGI string (bytes as latin-1; PATH_INFO already percent-decoded by the
    server, QUERY_STRING not) is UTF-8 throughout once decoded."""
    try:
        raw = wsgi_text.encode("latin-1")
        (unquote_to_bytes(raw.replace(b"+", b" ")) if plus else unquote_to_bytes(raw)).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True


def includeme(config: Configurator) -> None:
    config.add_tween("statusweb.edge.request_limits.body_limit_tween_factory", under=INGRESS)
