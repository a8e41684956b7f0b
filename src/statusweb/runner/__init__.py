"""The write side: the runner that drives statuscore, its database lock, the SQL store
that records results, states, rollups and the alert outbox, retention, and the thread
that runs it inside the web process. Request handlers never import from here."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.include("statusweb.runner.thread")  # the checks, in this process when statusweb.runner = true
