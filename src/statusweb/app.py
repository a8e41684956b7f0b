"""Builds the Pyramid app from its parts."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator

from statusweb.api.live import LiveShortcut
from statusweb.edge.page_cache import CachedShortcut
from statusweb.edge.page_mount import PageMount
from statusweb.edge.request_limits import Utf8Guard
from statusweb.settings import Settings, apply_environment


def make_app(global_config: dict[str, Any], settings: dict[str, Any]) -> Any:
    settings = apply_environment(settings)
    settings.setdefault("statusweb.here", global_config.get("here", "."))
    typed = Settings.from_settings(settings)  # SettingsError stops the app here, at start
    with Configurator(settings=settings) as config:
        config.registry["statusweb.settings"] = typed
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
