"""The days of each uptime bar as HTML, rendered once and kept.

A bar's past days do not change once they are over (their rollup is final, and the
incidents and windows of those days are part of what is kept), so a page render joins
ready strings instead of writing out 13,500 tooltips for 150 services x 90 days, which
was most of an uncached page's time (bench/page.py, issue 16). Today's day changes with
every check and is written each time. The key is the days themselves (frozen DayBars)
with the language: any change to a past day is a new entry, never a stale one; the cache
is bounded by bytes and forgets the oldest strip first (yesterday's, as days turn).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import partial
from html import escape

from pyramid.config import Configurator
from pyramid.events import BeforeRender
from pyramid.renderers import render
from pyramid.request import Request

from statusweb.i18n import language_of, translator, when
from statusweb.pages.page_model import DayBar, ServiceRow

MAX_BYTES = 32 * 1024 * 1024


class BarStrips:
    """HTML of each bar's past days by (language, days), at most `max_bytes` of it."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._strips: dict[tuple[str, tuple[DayBar, ...]], str] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._strips)

    def html(self, language: str, bars: Sequence[DayBar]) -> str:
        """The `<li>` of every day of one bar, oldest first; only the last (today) is a
        tab stop, as bars.js expects."""
        if not bars:
            return ""
        key = (language, tuple(bars[:-1]))
        strip = self._strips.get(key)  # one dict read (atomic): hashing 89 days costs, so only once
        if strip is None:
            strip = days_html(language, key[1], tab_stop=False)
            self._keep(key, strip)
        return strip + days_html(language, bars[-1:], tab_stop=True)

    def _keep(self, key: tuple[str, tuple[DayBar, ...]], strip: str) -> None:
        with self._lock:
            if key in self._strips or len(strip) > self.max_bytes:
                return  # another thread kept the same strip meanwhile
            self._strips[key] = strip
            self.size += len(strip)
            while self.size > self.max_bytes:
                forgotten = self._strips.pop(next(iter(self._strips)))
                self.size -= len(forgotten)


def days_html(language: str, bars: Sequence[DayBar], *, tab_stop: bool) -> str:
    """Each day as bars.pt wrote it: its level as a class, its tooltip lines (in the
    reader's language) as the aria-label that bars.js shows."""
    translate = translator(language)
    on = partial(when, language)
    tabindex = "0" if tab_stop else "-1"
    return "".join(
        f'<li class="bar {bar.level}" tabindex="{tabindex}" '
        f'aria-label="{escape("; ".join(bar.describe(translate, on)))}"></li>'
        for bar in bars
    )


def bar_fragment(request: Request, row: ServiceRow) -> str:
    """A service's bar and uptime figures (bars.pt) in the reader's language: written once
    per language while the row's history is kept (pages/histories.py), so an uncached page
    costs a dictionary read per service, not a template."""
    key = (language_of(request), row.name)
    html = row.fragments.get(key)
    if html is None:
        html = row.fragments[key] = render("statusweb:templates/bars.pt", {"row": row}, request=request)
    return html


def add_bar_days(event: BeforeRender) -> None:
    """`bar_days(row.bars)` and `bar_fragment(row)` in templates, in the reader's language."""
    request = event.get("request")
    if request is not None:
        event.setdefault("bar_days", partial(request.registry["statusweb.bar_strips"].html, language_of(request)))
        event.setdefault("bar_fragment", partial(bar_fragment, request))


def includeme(config: Configurator) -> None:
    config.registry["statusweb.bar_strips"] = BarStrips()
    config.add_subscriber(add_bar_days, BeforeRender)
