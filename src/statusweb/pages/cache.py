"""A few seconds of in-process cache for public pages, with ETag / 304 and
Cache-Control, so a flood of readers during an outage costs one render per interval.

Entries are keyed on the route's path and the query parameters its view reads,
canonicalised (`/?x=1` is `/`, `/history?page=02` is `/history?page=2`), so made-up
parameters cannot force renders or push pages out; the cache is bounded by bytes and
evicts the least recently used page.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPException
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.response import Response

# name -> canonical form of its raw value (may raise HTTPBadRequest: then no caching)
ParamReaders = Mapping[str, Callable[[str | None], Any]]


@dataclass(frozen=True)
class _Entry:
    expires: float
    body: bytes
    content_type: str
    etag: str


class PageCache:
    """Rendered public answers for `seconds`, at most `max_bytes` of them. One thread
    re-renders an expired page while the others keep serving the previous copy."""

    def __init__(self, seconds: float, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._rendering: set[str] = set()
        self._reads: dict[str, ParamReaders] = {}  # route name -> what its view reads
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, request: Request, reads: ParamReaders) -> str | None:
        """path?canonical-params, or None when a parameter is invalid (the view answers
        that with a 4xx, which is never cached)."""
        try:
            canonical = sorted((name, str(read(request.GET.get(name)))) for name, read in reads.items())
        except (HTTPException, ValueError):
            return None
        return f"{request.path}?{urlencode(canonical)}" if canonical else request.path

    def fresh(self, request: Request, route_name: str) -> Response | None:
        """The cached answer if it is fresh (or being re-rendered right now by another
        thread: then the previous copy), else None."""
        reads = self._reads.get(route_name)
        if reads is None:
            return None  # this route's view has not rendered yet: it declares its reads
        key = self.key(request, reads)
        if key is None:
            return None
        now = time.monotonic()
        with self._lock:
            entry = self._usable(key, now)
        return None if entry is None else self._answer(request, entry, now)

    def serve(self, request: Request, reads: ParamReaders, render: Callable[[], Response]) -> Response:
        """The cached page (rendering it when stale), or 304 when the client has it."""
        route = getattr(request, "matched_route", None)
        if route is not None:
            self._reads[route.name] = reads
        key = self.key(request, reads)
        if key is None or self.seconds <= 0:
            return render()
        now = time.monotonic()
        with self._lock:
            entry = self._usable(key, now)
            if entry is not None:
                return self._answer(request, entry, now)
            self._rendering.add(key)
        try:
            response = render()
        finally:
            with self._lock:
                self._rendering.discard(key)
        if response.status_int != 200:
            return response
        body = response.body
        now = time.monotonic()
        entry = _Entry(now + self.seconds, body, response.content_type or "text/html",
                       hashlib.sha256(body).hexdigest()[:32])
        self._store(key, entry)
        return self._answer(request, entry, now)

    def _usable(self, key: str, now: float) -> _Entry | None:
        """(Under the lock.) The entry if it is fresh, or stale while another thread
        re-renders it; marked as just used for the LRU order."""
        entry = self._entries.get(key)
        if entry is None or (entry.expires <= now and key not in self._rendering):
            return None
        self._entries.move_to_end(key)
        return entry

    def _store(self, key: str, entry: _Entry) -> None:
        cost = len(entry.body) + len(key)
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= len(old.body) + len(key)
            self._entries[key] = entry
            self.size += cost
            while self.size > self.max_bytes:
                evicted_key, evicted = self._entries.popitem(last=False)
                self.size -= len(evicted.body) + len(evicted_key)

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
            self.size = 0


RenderedView = Callable[[Any, Request], Response]


def cached(reads: ParamReaders | None = None) -> Callable[[RenderedView], RenderedView]:
    """A view `decorator=` that serves the rendered answer through the page cache;
    `reads` names the query parameters the view uses and how each is canonicalised."""
    declared: ParamReaders = dict(reads or {})

    def decorate(view: RenderedView) -> RenderedView:
        def through_cache(context: Any, request: Request) -> Response:
            cache: PageCache = request.registry["statusweb.page_cache"]
            return cache.serve(request, declared, lambda: view(context, request))
        return through_cache

    return decorate


def cache_tween_factory(handler: Callable[[Request], Response], registry: Any) -> Callable[[Request], Response]:
    """Serves a fresh cached page before the transaction manager is even entered: a
    cache hit costs no transaction, no session and no view lookup."""
    cache: PageCache = registry["statusweb.page_cache"]
    mapper = registry.getUtility(IRoutesMapper)

    def serve_cached(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            route = mapper(request)["route"]
            if route is not None:
                cached_answer = cache.fresh(request, route.name)
                if cached_answer is not None:
                    return cached_answer
        return handler(request)

    return serve_cached


def includeme(config: Configurator) -> None:
    settings = config.registry["statusweb.settings"]
    config.registry["statusweb.page_cache"] = PageCache(settings.page_cache_seconds, settings.page_cache_bytes)
    config.add_tween("statusweb.pages.cache.cache_tween_factory", over="pyramid_tm.tm_tween_factory")
