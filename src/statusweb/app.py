"""Builds the Pyramid app from its parts."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator

from .settings import apply_environment


def make_app(global_config: dict[str, Any], settings: dict[str, Any]) -> Any:
    settings = apply_environment(settings)
    with Configurator(settings=settings) as config:
        config.include(".health")  # /healthz: the meta-monitor's question
        return config.make_wsgi_app()
