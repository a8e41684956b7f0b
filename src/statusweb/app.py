"""Builds the Pyramid app from its parts."""

from __future__ import annotations

from typing import Any, cast

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy.engine import Engine

from statusweb.api.live import LiveShortcut
from statusweb.edge.page_cache import CachedShortcut, PageCache
from statusweb.edge.page_mount import PageMount
from statusweb.edge.request_limits import Utf8Guard
from statusweb.settings import Settings, apply_environment


def _settings(request: Request) -> Settings:
    """The app's settings, read once at start (settings.py)."""
    return cast(Settings, request.registry["statusweb.settings"])


def _engine(request: Request) -> Engine:
    """The app's engine (models/), for what runs outside the request's transaction."""
    return cast(Engine, request.registry["statusweb.engine"])


def _page_cache(request: Request) -> PageCache:
    """The public pages' cache (edge/page_cache.py)."""
    return cast(PageCache, request.registry["statusweb.page_cache"])


def make_app(global_config: dict[str, Any], settings: dict[str, Any]) -> Any:
    settings = apply_environment(settings)
    settings.setdefault("statusweb.here", global_config.get("here", "."))
    typed = Settings.from_settings(settings)  # SettingsError stops the app here, at start
    with Configurator(settings=settings) as config:
        config.registry["statusweb.settings"] = typed
        # typed seams for views: request.settings, request.engine, request.page_cache
        config.add_request_method(_settings, "settings", reify=True)
        config.add_request_method(_engine, "engine", reify=True)
        config.add_request_method(_page_cache, "page_cache", reify=True)
        config.include("pyramid_chameleon")  # .pt templates
        config.include(".template_compile")  # compiled one at a time (a CPython 3.11 bug otherwise)
        config.include(".i18n")  # English and Hebrew: _() and when() in every template
        config.include(".models")  # request.dbsession inside pyramid_tm's transaction
        config.include(".routes")  # every URL, in one file
        config.include(".edge")  # what every request passes: limits, the page it is for, the page cache
        config.include(".services")  # sign-in and access, security headers
        config.include(".pages")  # the read side: each service's history, the bar strips
        config.include(".api")  # the JSON renderer, the /metrics cache
        config.include(".runner")  # the write side, in this process when statusweb.runner = true
        # every @view_config (views/ and api/); not the CLI, the server or migrations
        config.scan(ignore=[".alembic", ".cli", ".server", ".runner"])
        app = config.make_wsgi_app()
        registry = config.registry
        # before Pyramid: 400 for an address that is not UTF-8; the page chosen; a live
        # poll's 304; a fresh cached page
        return Utf8Guard(
            PageMount(
                LiveShortcut(CachedShortcut(app, registry), registry["statusweb.page_cache"]),
                registry["statusweb.pages"],
                install_url=typed.page_url,
            )
        )
