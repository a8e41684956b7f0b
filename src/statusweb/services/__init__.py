"""Domain logic that views, the API, the CLI and the runner share: incidents, maintenance,
organizations, sign-ins, forms and the rules on passwords and access."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.include(".security")  # who is signed in, what they may do; security headers on every response
