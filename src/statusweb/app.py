"""Builds the Pyramid app from its parts."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator

from .settings import Settings, apply_environment


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
        config.include(".page_cache")  # a few seconds of cache, ETag and 304 for public pages
        config.include(".runner_thread")  # the checks, in this process when statusweb.runner = true
        config.include(".api.cors")  # widgets on other sites may read the public JSON
        config.include(".api.metrics")  # /metrics answers from a few seconds' cache
        config.scan(".views")
        config.scan(".api")
        config.scan(".health")
        return config.make_wsgi_app()
