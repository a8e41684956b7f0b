"""A few seconds of in-process cache for public pages, with ETag / 304 and
Cache-Control, so a flood of readers during an outage costs one render per interval."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response


@dataclass(frozen=True)
class _Entry:
    expires: float
    body: bytes
    content_type: str
    etag: str


class PageCache:
    """Rendered public answers by URL for `seconds`. One thread re-renders an expired
    page while the others keep serving the previous copy (no stampede)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, _Entry] = {}
        self._rendering: set[str] = set()
        self._lock = threading.Lock()

    def fresh(self, request: Request) -> Response | None:
        """The cached answer for this URL if it is fresh (or being re-rendered right now
        by another thread: then the previous copy), else None."""
        now = time.monotonic()
        key = request.path_qs
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (entry.expires <= now and key not in self._rendering):
                return None
        return self._answer(request, entry, now)

    def serve(self, request: Request, render: Callable[[], Response]) -> Response:
        """The cached page for this URL (rendering it when stale), or 304 when the
        client already has it."""
        key = request.path_qs
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (entry.expires > now or key in self._rendering):
                return self._answer(request, entry, now)  # fresh, or stale while one thread renders
            self._rendering.add(key)
        try:
            response = render()
        finally:
            with self._lock:
                self._rendering.discard(key)
        if response.status_int != 200 or self.seconds <= 0:
            return response
        body = response.body
        now = time.monotonic()
        entry = _Entry(now + self.seconds, body, response.content_type or "text/html",
                       hashlib.sha256(body).hexdigest()[:32])
        with self._lock:
            if len(self._entries) > 1000:
                self._entries.clear()
            self._entries[key] = entry
        return self._answer(request, entry, now)

    @staticmethod
    def _answer(request: Request, entry: _Entry, now: float) -> Response:
        max_age = max(0, int(entry.expires - now))
        if entry.etag in (request.if_none_match or ()):
            response = Response(status=304)
        else:
            response = Response(body=entry.body, content_type=entry.content_type, charset="utf-8")
        response.etag = entry.etag
        response.cache_control = f"public, max-age={max_age}"
        return response

    def clear(self) -> None:
        """Forget every page (after an incident changes, so the public sees it at once)."""
        with self._lock:
            self._entries.clear()


def cached(view: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Decorate a view that returns a full Response to serve it through the page cache."""
    def wrapper(request: Request) -> Response:
        cache: PageCache = request.registry["statusweb.page_cache"]
        return cache.serve(request, lambda: view(request))
    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def cache_tween_factory(handler: Callable[[Request], Response], registry: Any) -> Callable[[Request], Response]:
    """Serves a fresh cached page before the transaction manager is even entered: a
    cache hit costs no transaction, no session and no view lookup."""
    cache: PageCache = registry["statusweb.page_cache"]

    def serve_cached(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            cached_answer = cache.fresh(request)
            if cached_answer is not None:
                return cached_answer
        return handler(request)

    return serve_cached


def includeme(config: Configurator) -> None:
    seconds = float(config.get_settings().get("statusweb.page_cache_seconds", 5))
    config.registry["statusweb.page_cache"] = PageCache(seconds)
    config.add_tween("statusweb.page_cache.cache_tween_factory", over="pyramid_tm.tm_tween_factory")



