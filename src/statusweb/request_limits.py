"""Request bodies over 1 MiB are refused with 413 before anything reads them.

waitress enforces `max_request_body_size` (set in both ini files) while it receives a
request; this tween says the same for any other WSGI server, from Content-Length,
so an anonymous 100 MB POST never grows the process.
"""

from __future__ import annotations

from typing import Any, Callable

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS


def body_limit_tween_factory(handler: Callable[[Request], Response],
                             registry: Any) -> Callable[[Request], Response]:
    limit = registry["statusweb.settings"].max_request_body_bytes

    def refuse_large_bodies(request: Request) -> Response:
        length = request.environ.get("CONTENT_LENGTH") or "0"
        if not (length.isascii() and length.isdecimal()) or len(length) > 12 or int(length) > limit:
            return Response(f"413 Request Entity Too Large: at most {limit} bytes\n", status=413,
                            content_type="text/plain")
        return handler(request)

    return refuse_large_bodies


def includeme(config: Configurator) -> None:
    config.add_tween("statusweb.request_limits.body_limit_tween_factory", under=INGRESS)
