"""What every request passes before a view: the page it is for, limits, CORS, the page cache."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    """After models and routes: page_mount scopes the session to a page and reads the routes."""
    config.include(".public_url")  # absolute URLs from STATUS_PAGE_URL, never the Host header
    config.include(".request_limits")  # 413 for bodies over 1 MiB, whatever the server
    config.include(".page_mount")  # which status page a request is for, and who may see it
    config.include(".page_cache")  # a few seconds of cache, ETag and 304 for public pages
    config.include(".purge_on_commit")  # a commit that changed what pages show clears that cache
    config.include(".public_limits")  # 429 for a client (or everyone) asking a page too often
    config.include(".cors")  # widgets on other sites may read the public JSON
