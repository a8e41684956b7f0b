"""The read side: the queries pages share, the page model built from rollups and state,
charts and the page's public identity. Nothing here writes."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.include("statusweb.pages.histories")  # each service's 90 days, worked out at most once a minute
    config.include("statusweb.pages.bar_strips")  # each uptime bar's past days, rendered once
