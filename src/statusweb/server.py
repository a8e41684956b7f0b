"""The server: waitress, with the reverse proxy it trusts taken from the environment.

`[server:main] use = egg:statuscore#main` in an ini runs this instead of plain
waitress, so a proxy in another container works without editing the ini:

    STATUSWEB_TRUSTED_PROXY=172.18.0.0/16   # a CIDR: its X-Forwarded-* headers count
    STATUSWEB_TRUSTED_PROXY=10.0.0.7        # one address
    STATUSWEB_TRUSTED_PROXY=*               # any peer: only on a private network where
                                            # nothing but the proxy reaches this port

Without it, the ini's `trusted_proxy` (if any) applies, and forwarded headers from
anyone else are removed before the app sees them. waitress trusts one address or
every address; a network is handled here with waitress's own header parser.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from waitress import create_server
from waitress.proxy_headers import proxy_headers_middleware

from statusweb.settings import check_trusted_proxy

DEFAULT_HEADERS = "x-forwarded-for x-forwarded-host x-forwarded-proto x-forwarded-port"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serve_paste(app: WsgiApp, global_conf: Mapping[str, Any], **settings: Any) -> int:
    """PasteDeploy server runner: waitress with STATUSWEB_TRUSTED_PROXY applied (already
    checked by the app's Settings, which stop the start with one line if it is wrong),
    and `PORT` (as container platforms set it) replacing the port of `listen`."""
    redact_token_paths(logging.getLogger("waitress"))
    app, settings = trust_proxy(app, settings, os.environ.get("STATUSWEB_TRUSTED_PROXY", "").strip())
    settings = {**OPEN_PAGES, **settings}
    _allow_open_pages(int(settings["connection_limit"]))
    port = os.environ.get("PORT", "").strip()
    if port:
        if not (port.isascii() and port.isdecimal() and 0 < int(port) < 65536):
            raise SystemExit(f"statusweb: PORT must be a port number, got {port!r}")
        host = str(settings.get("listen", "0.0.0.0:6543")).split()[0].rsplit(":", 1)[0]
        settings["listen"] = f"{host}:{port}"
    # What the start built (modules, routes, templates, mappers) lives as long as the process:
    # out of the collector's sight, a full collection costs a few ms instead of ~150 ms
    # every couple of seconds under load (bench/page.py, an uncached page's p99).
    gc.freeze()
    SERVING.set()
    logging.basicConfig()  # (as waitress's own serve does: idempotent)
    server = create_server(app, **settings)  # bound and listening from here
    LISTENING.set()
    server.print_listen("Serving on http://{}:{}")
    server.run()
    return 0


# When this process is served by serve_paste: SERVING once it starts, LISTENING once its
# socket listens. The in-process runner waits for them before its first checks.
SERVING = threading.Event()
LISTENING = threading.Event()


def wait_until_listening(grace: float = 2.0, limit: float = 30.0) -> bool:
    """Wait until this process's server listens: at most `grace` seconds for one to start
    (none comes under another WSGI server or a test), then `limit` for it to listen."""
    if not SERVING.wait(grace):
        return False
    return LISTENING.wait(limit)


_TOKEN_PATHS = re.compile(r"(/api/push/|/admin/invitations/)[^\s/?'\"]+")


class TokenPathFilter(logging.Filter):
    """waitress logs the path of a request it could not serve ("Exception while serving
    /api/push/<token>"): the secret part of a push or invitation path becomes "…"."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_PATHS.sub(r"\1…", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_token_paths(logger: logging.Logger) -> None:
    if not any(isinstance(found, TokenPathFilter) for found in logger.filters):
        logger.addFilter(TokenPathFilter())


# Open status pages keep a connection each between their polls of /api/live: waitress's
# default of 100 connections (and select(), which stops at 1024 descriptors) would make
# readers wait in the accept queue during an outage, exactly when they all come.
OPEN_PAGES = {"connection_limit": 4000, "asyncore_use_poll": True}


def _allow_open_pages(connections: int) -> None:
    """Raise this process's open-file limit towards what `connections` needs."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
        )


def trust_proxy(app: WsgiApp, settings: dict[str, Any], trusted: str) -> tuple[WsgiApp, dict[str, Any]]:
    """(app, waitress settings) trusting `trusted` (an address, a CIDR, "*", or cloudflare
    with an optional local proxy: statusweb/edge/cloudflare.py)."""
    settings = dict(settings)
    if not trusted:
        return app, settings
    items = [item.strip() for item in trusted.split(",")]
    if "cloudflare" in (item.lower() for item in items):
        from statusweb.edge.cloudflare import CloudflareEdge

        check_trusted_proxy(trusted)
        for key in ("trusted_proxy", "trusted_proxy_headers", "trusted_proxy_count"):
            settings.pop(key, None)
        settings["clear_untrusted_proxy_headers"] = "no"  # CloudflareEdge clears them itself
        local = [ipaddress.ip_network(item, strict=False) for item in items if item.lower() != "cloudflare"]
        return CloudflareEdge(app, local), settings
    settings.setdefault("trusted_proxy_headers", DEFAULT_HEADERS)
    settings.setdefault("trusted_proxy_count", "1")
    if trusted == "*" or "/" not in trusted:
        settings["trusted_proxy"] = trusted
        settings.setdefault("clear_untrusted_proxy_headers", "yes")
        return app, settings
    network = ipaddress.ip_network(check_trusted_proxy(trusted), strict=False)
    headers = set(str(settings.pop("trusted_proxy_headers")).lower().split())
    count = int(settings.pop("trusted_proxy_count"))
    settings.pop("trusted_proxy", None)
    settings["clear_untrusted_proxy_headers"] = "no"  # this middleware clears them instead
    from_proxy = proxy_headers_middleware(
        app, trusted_proxy="*", trusted_proxy_count=count, trusted_proxy_headers=headers, clear_untrusted=True
    )
    from_anyone = proxy_headers_middleware(app, trusted_proxy=None, clear_untrusted=True)

    def by_peer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            inside = ipaddress.ip_address(environ.get("REMOTE_ADDR", "")) in network
        except ValueError:
            inside = False
        return (from_proxy if inside else from_anyone)(environ, start_response)

    return by_peer, settings
