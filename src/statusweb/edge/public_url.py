"""Every absolute URL comes from the configured public URL, never from the request.

A request's Host (or X-Forwarded-Host) is whatever the sender wrote: building links
from it would let one request with `Host: evil.example` put evil.example into cached
pages, feeds and JSON for everyone. This tween, the first to see a request, replaces
the host and scheme the rest of the app sees with STATUS_PAGE_URL's (in development,
the listen address), so `request.route_url` and friends are safe everywhere. The one
exception is a page's own domain, which comes from an allow-list in the database
(page_mount.py): that page's links then name its domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS

from statusweb.edge.page_mount import BY_DOMAIN, MOUNT

_SENDER_HOST_HEADERS = ("HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_SERVER", "HTTP_FORWARDED")


def public_url_tween_factory(handler: Callable[[Request], Response], registry: Any) -> Callable[[Request], Response]:
    parts = urlsplit(registry["statusweb.settings"].page_url)
    scheme, host = parts.scheme, parts.netloc
    prefix = parts.path.rstrip("/")

    def with_public_host(request: Request) -> Response:
        environ = request.environ
        domain = environ.get(BY_DOMAIN)  # on the allow-list of page domains: safe to link to
        environ["HTTP_HOST"] = domain or host
        environ["wsgi.url_scheme"] = scheme
        for header in _SENDER_HOST_HEADERS:
            environ.pop(header, None)
        if prefix and not environ.get("SCRIPT_NAME") and not domain:
            environ["SCRIPT_NAME"] = prefix  # the proxy strips the prefix; links keep it
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + environ.get(MOUNT, "")  # /pages/{slug}
        return handler(request)

    return with_public_host


def includeme(config: Configurator) -> None:
    config.add_tween("statusweb.edge.public_url.public_url_tween_factory", under=INGRESS)
