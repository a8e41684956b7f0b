"""Open interfaces other tools already speak: Statuspage's JSON, feeds, badges, metrics."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.renderers import JSON


def includeme(config: Configurator) -> None:
    config.add_renderer("json", JSON(separators=(",", ":")))  # compact: every byte is served a lot
    config.include("statusweb.api.metrics")  # /metrics answers from a few seconds' cache
