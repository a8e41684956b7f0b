"""Apprise URLs for the chat services other tools speak to themselves (each importer
knows where its tool keeps the parts): one builder per service, and `apprise_url`,
which picks the builder and its settings for a kind by a table of the tool's keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit


def discord(webhook: str) -> str | None:
    parts = urlsplit(webhook).path.rstrip("/").split("/")
    return f"discord://{parts[-2]}/{parts[-1]}" if len(parts) >= 3 and parts[-2] and parts[-1] else None


def telegram(token: str, chat: str) -> str:
    return f"tgram://{token}/{chat}"


def ntfy(server: str, topic: str) -> str:
    found = urlsplit(server or "https://ntfy.sh")
    return f"{'ntfys' if found.scheme == 'https' else 'ntfy'}://{found.netloc}/{topic}"


def gotify(server: str, token: str) -> str:
    found = urlsplit(server)
    return f"{'gotifys' if found.scheme == 'https' else 'gotify'}://{found.netloc}{found.path.rstrip('/')}/{token}"


def pushover(user: str, token: str) -> str:
    return f"pover://{user}@{token}"


def mattermost(hook: str) -> str:
    found = urlsplit(hook)
    return f"{'mmosts' if found.scheme == 'https' else 'mmost'}://{found.netloc}/{found.path.rstrip('/').rsplit('/', 1)[-1]}"


def as_is(url: str) -> str:
    """An address Apprise reads as it is (Microsoft Teams' webhooks, Apprise's own URLs)."""
    return url


Builder = Callable[..., str | None]


def apprise_url(
    kind: str, config: Mapping[str, Any], table: Mapping[str, tuple[Builder, tuple[str, ...]]]
) -> str | None:
    """The Apprise URL for `kind`, built from the keys `table` names for it in `config`
    (None: no builder, or a key it needs is empty). A key written "name?" may be empty."""
    if kind not in table:
        return None
    build, keys = table[kind]
    values = [str(config.get(key.rstrip("?")) or "") for key in keys]
    if any(not value for key, value in zip(keys, values) if not key.endswith("?")):
        return None
    return build(*values)
