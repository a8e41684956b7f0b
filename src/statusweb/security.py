"""Security headers on every response (CSP, framing, sniffing, referrer; HSTS when
`statusweb.hsts = true`, as in production behind TLS)."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.events import NewResponse

from .settings import as_bool

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                           "script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                           "base-uri 'none'; object-src 'none'")


def includeme(config: Configurator) -> None:
    hsts = as_bool(config.get_settings().get("statusweb.hsts", "false"))

    def add_headers(event: Any) -> None:
        headers = event.response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

    config.add_subscriber(add_headers, NewResponse)
