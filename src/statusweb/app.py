"""Builds the Pyramid app from its parts."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator

from statusweb.settings import Settings, apply_environment


def make_app(global_config: dict[str, Any], settings: dict[str, Any]) -> Any:
    settings = apply_environment(settings)
    settings.setdefault("statusweb.here", global_config.get("here", "."))
    typed = Settings.from_settings(settings)  # SettingsError stops the app here, at start
    with Configurator(settings=settings) as config:
        config.registry["statusweb.settings"] = typed
        config.include(".public_url")  # absolute URLs from STATUS_PAGE_URL, never the Host header
        config.include(".request_limits")  # 413 for bodies over 1 MiB, whatever the server
        config.include("pyramid_chameleon")  # .pt templates
        config.include(".models")  # request.dbsession inside pyramid_tm's transaction
        config.include(".routes")  # every URL, in one file
        config.include(".security")  # security headers on every response
        config.include(".pages")  # the read side: page cache in front of the views
        config.include(".api")  # CORS for the public JSON, the /metrics cache
        config.include(".runner")  # the write side, in this process when statusweb.runner = true
        # every @view_config (views/ and api/); not the CLI, the server or migrations
        config.scan(ignore=[".alembic", ".cli", ".server", ".runner"])
        return config.make_wsgi_app()
