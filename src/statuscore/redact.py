"""Secrets out of messages: a webhook URL's path is its token, and a URL may carry a
password, so error text that quotes a URL (aiohttp's TooManyRedirects does) is cut
down to scheme://host before it is logged or stored."""

from __future__ import annotations

import re

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^\s/@'\"<>]*@)?([^\s/?#'\"<>]*)[^\s'\"<>)]*")


def redact_urls(text: str) -> str:
    """`text` with every URL reduced to its scheme and host: "https://hooks.slack.com/…"."""
    return _URL.sub(lambda match: f"{match.group(1)}{match.group(2)}/…", text)
