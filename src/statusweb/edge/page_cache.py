"""A few seconds of in-process cache for public pages, with ETag / 304 and
Cache-Control, so a flood of readers during an outage costs one render per interval.

Entries are keyed on the route's path and the query parameters its view reads,
canonicalised (`/?x=1` is `/`, `/history?page=02` is `/history?page=2`), so made-up
parameters cannot force renders or push pages out; the cache is bounded by bytes and
evicts the least recently used page.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import brotli
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPException
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.response import Response
from webob import Request as WebobRequest
from webob.acceptparse import AcceptEncodingValidHeader, create_accept_encoding_header

from statusweb.edge.cors import cors_headers
from statusweb.edge.page_mount import BY_DOMAIN, MOUNT, PAGE, page_of
from statusweb.edge.public_limits import too_many
from statusweb.i18n import COOKIE, DEFAULT, language_of, pick_language
from statusweb.services.security import headers_for

RENDER_WAIT = 10.0  # seconds a request waits for another thread's render of the same page
# name -> canonical form of its raw value (may raise HTTPBadRequest: then no caching)
ParamReaders = Mapping[str, Callable[[str | None], Any]]


COMPRESS_OVER = 1024  # bytes: smaller bodies go as they are
MAX_ALIASES = 20_000  # remembered arrivals (see CachedShortcut)
ENCODINGS = ("br", "gzip")  # the compressed copies kept, in the order preferred
STALE_IF_ERROR = 86400  # a CDN in front may show the last page for a day while the origin is down


def public_cache_control(max_age: int) -> str:
    """A public answer's Cache-Control: browsers and a CDN in front (s-maxage) keep it as
    long as this process does; the CDN may serve it a little stale while it fetches a new
    one, and the last good copy while the origin cannot answer."""
    seconds = max(0, max_age)
    return (
        f"public, max-age={seconds}, s-maxage={seconds}, stale-while-revalidate={seconds}, "
        f"stale-if-error={STALE_IF_ERROR}"
    )


@dataclass(frozen=True)
class _Entry:
    expires: float
    body: bytes
    content_type: str
    etag: str
    # each compressed copy, made once when the page is stored, never per request
    compressed: Mapping[str, bytes] = field(default_factory=dict)


def compress(body: bytes) -> dict[str, bytes]:
    """Brotli and gzip copies of `body` (none when it is small, or compresses badly)."""
    if len(body) < COMPRESS_OVER:
        return {}
    copies = {"br": brotli.compress(body, quality=5), "gzip": gzip.compress(body, compresslevel=6, mtime=0)}
    return {encoding: copy for encoding, copy in copies.items() if len(copy) < len(body) * 0.9}


class PageCache:
    """Rendered public answers for `seconds`, at most `max_bytes` of them. One thread
    re-renders an expired page while the others keep serving the previous copy; when
    there is no copy (first render, or just cleared), the others wait for that one
    render instead of all rendering at once (2,000 open pages asking together after a
    change would otherwise take every thread, and the admin would wait behind them)."""

    def __init__(self, seconds: float, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._rendering: dict[str, threading.Event] = {}
        self._reads: dict[str, ParamReaders] = {}  # route name -> what its view reads
        # what a request looked like on arrival -> its entry's key, for the shortcut
        self._aliases: dict[tuple[str, ...], str] = {}
        self._lock = threading.Lock()
        self.on_clear: list[Callable[[], None]] = []  # what else a change makes stale (kept histories)

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, request: Request, reads: ParamReaders) -> str | None:
        """path?canonical-params, or None when a parameter is invalid (the view answers
        that with a 4xx, which is never cached)."""
        try:
            canonical = sorted((name, str(read(request.GET.get(name)))) for name, read in reads.items())
        except (HTTPException, ValueError):
            return None
        language = language_of(request)
        path = page_prefix(request.environ) + (f"{language}:" if language != DEFAULT else "") + request.path
        key = f"{path}?{urlencode(canonical)}" if canonical else path
        arrival = arrived_as(request.environ, language)
        if self._aliases.get(arrival) != key:
            if len(self._aliases) >= MAX_ALIASES:  # made-up query strings: start again, never grow
                self._aliases = {}
            self._aliases[arrival] = key
        return key

    def shortcut(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """The fresh cached answer (status, headers, body) for a request not yet through
        Pyramid (None: let Pyramid take it), worked out from the environ alone: the way a
        page that is cached costs less than a view. The same headers and choices as
        `_answer`, but for the security and CORS headers the caller adds. Never a private
        page; a stale one only while another request renders it anew (as `fresh`):
        otherwise Pyramid's path renders it, once."""
        page = environ.get(PAGE)
        method = environ.get("REQUEST_METHOD")
        if page is None or page.private or method not in ("GET", "HEAD"):
            return None
        language = _language(environ.get("HTTP_COOKIE", ""), environ.get("HTTP_ACCEPT_LANGUAGE", ""), page.language)
        key = self._aliases.get(arrived_as(environ, language))
        if key is None:
            return None
        now = time.monotonic()
        with self._lock:
            entry = self._usable(key, now)  # fresh, or the previous copy while one thread renders anew
        if entry is None:
            return None
        encoding = _encoding(environ.get("HTTP_ACCEPT_ENCODING"), tuple(entry.compressed)) if entry.compressed else ""
        etag = f"{entry.etag}-{encoding}" if encoding else entry.etag
        headers = [
            ("ETag", f'"{etag}"'),
            ("Cache-Control", public_cache_control(int(entry.expires - now))),
            ("Vary", "Accept-Encoding, Accept-Language, Cookie"),
        ]
        wanted = environ.get("HTTP_IF_NONE_MATCH", "")
        if f'"{etag}"' in wanted or wanted.strip() == "*":
            return "304 Not Modified", headers, b""
        body = entry.compressed[encoding] if encoding else entry.body
        headers += [("Content-Type", _with_charset(entry.content_type)), ("Content-Length", str(len(body)))]
        if encoding:
            headers.append(("Content-Encoding", encoding))
        return "200 OK", headers, b"" if method == "HEAD" else body

    def fresh(self, request: Request, route_name: str) -> Response | None:
        """The cached answer if it is fresh (or being re-rendered right now by another
        thread: then the previous copy), else None."""
        reads = self._reads.get(route_name)
        if reads is None or page_of(request).private:
            return None  # not rendered yet (it declares its reads), or past the gate first
        key = self.key(request, reads)
        if key is None:
            return None
        now = time.monotonic()
        with self._lock:
            entry = self._usable(key, now)
        return None if entry is None else self._answer(request, entry, now)

    def fresh_etag(self, key: str) -> str | None:
        """The ETag of the usable entry at `key` (a path with no parameters): fresh, or
        stale while another thread renders it afresh."""
        with self._lock:
            entry = self._usable(key, time.monotonic())
        return None if entry is None else entry.etag

    def serve(
        self, request: Request, reads: ParamReaders, render: Callable[[], Response], seconds: float | None = None
    ) -> Response:
        """The cached page (rendering it when stale), or 304 when the client has it;
        `seconds` overrides how long this one stays fresh."""
        route = getattr(request, "matched_route", None)
        if route is not None:
            self._reads[route.name] = reads
        key = self.key(request, reads)
        if key is None or self.seconds <= 0:
            return render()
        for _ in range(2):
            now = time.monotonic()
            with self._lock:
                entry = self._usable(key, now)
                if entry is not None:
                    return self._answer(request, entry, now)
                underway = self._rendering.get(key)
                if underway is None:
                    done = self._rendering[key] = threading.Event()
                    break
            underway.wait(RENDER_WAIT)  # another thread renders it: take its copy
        else:
            return render()  # that render failed or is very slow: render this one alone
        try:
            response = render()
        finally:
            with self._lock:
                self._rendering.pop(key, None)
            done.set()
        if response.status_int != 200:
            return response
        body = response.body
        now = time.monotonic()
        lifetime = self.seconds if seconds is None else min(seconds, self.seconds)
        entry = _Entry(
            now + lifetime,
            body,
            response.content_type or "text/html",
            hashlib.sha256(body).hexdigest()[:32],
            compress(body),
        )
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
        """The stored copy the client takes best (brotli, gzip, else as it is), with an
        ETag of its own per encoding (one representation, one strong ETag)."""
        max_age = max(0, int(entry.expires - now))
        encoding = _encoding_for(request, entry)
        etag = f"{entry.etag}-{encoding}" if encoding else entry.etag
        if etag in (request.if_none_match or ()):
            response = Response(status=304)
        else:
            response = Response(
                body=entry.compressed[encoding] if encoding else entry.body,
                content_type=entry.content_type,
                charset="utf-8",
            )
            if encoding:
                response.content_encoding = encoding
        response.etag = etag
        response.cache_control = (
            f"private, max-age={max_age}" if page_of(request).private else public_cache_control(max_age)
        )
        # the page comes in the reader's language, and compressed as the client accepts
        response.vary = ("Accept-Encoding", "Accept-Language", "Cookie")
        return response

    def clear(self) -> None:
        """Expire every page (after an incident changes, so the public sees it at once):
        the next request renders it afresh, and requests meanwhile get the previous copy
        rather than wait (a page is stale for one render, never for its whole lifetime)."""
        with self._lock:
            for key, entry in self._entries.items():
                self._entries[key] = _Entry(0.0, entry.body, entry.content_type, entry.etag, entry.compressed)
        for clear in self.on_clear:
            clear()


def arrived_as(environ: Mapping[str, Any], language: str) -> tuple[str, ...]:
    """A request as it arrives (its page chosen, nothing else done): the same tuple
    before Pyramid and inside it, so the shortcut finds what Pyramid's path stored."""
    return (
        environ.get(MOUNT, ""),
        environ.get(BY_DOMAIN, ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        language,
    )


class CachedShortcut:
    """WSGI, in front of Pyramid: a fresh cached page is answered here, after the same
    rate limit and with the same headers Pyramid's path gives it, without a Pyramid
    request, tweens, routing or a transaction (bench/page.py: against a bare view)."""

    def __init__(self, app: Any, registry: Any) -> None:
        self.app = app
        self.registry = registry
        self.cache: PageCache = registry["statusweb.page_cache"]
        self.limits = registry["statusweb.edge.public_limits"]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        answer = self.cache.shortcut(environ)
        if answer is None:
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        security = headers_for(self.registry, path)
        wait = self.limits.wait(client_address(environ), environ[PAGE].slug)
        if wait:
            refused = too_many(path, wait)
            for name, value in security:
                refused.headers.setdefault(name, value)
            return refused(environ, start_response)
        status, headers, body = answer
        start_response(status, [*headers, *security, *cors_headers(environ["REQUEST_METHOD"], path)])
        return [body]


def client_address(environ: Mapping[str, Any]) -> str:
    """The client's address as Pyramid's `request.client_addr` gives it (WebOb: the first
    X-Forwarded-For entry, which waitress sets only from a trusted proxy)."""
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    return forwarded.split(",")[0].strip() if forwarded else str(environ.get("REMOTE_ADDR") or "?")


@lru_cache(maxsize=1024)
def _language(cookie: str, accept_language: str, page_language: str) -> str:
    """language_of for these two headers on a page of this language (browsers send few
    different ones: kept)."""
    request = WebobRequest.blank("/", headers={"Cookie": cookie, "Accept-Language": accept_language})
    return pick_language(request.cookies.get(COOKIE, ""), request.accept_language, page_language)


@lru_cache(maxsize=1024)
def _encoding(accept_encoding: str | None, stored: tuple[str, ...]) -> str:
    """_encoding_for, for a header value and the encodings stored."""
    return _best_encoding(create_accept_encoding_header(accept_encoding), stored)


@lru_cache(maxsize=64)
def _with_charset(content_type: str) -> str:
    """The Content-Type header `_answer`'s Response sends for this type (WebOb adds the
    charset to some types, not to others): worked out by the same code, once."""
    return str(Response(content_type=content_type, charset="utf-8").headers["Content-Type"])


def page_prefix(environ: Mapping[str, Any]) -> str:
    """The page a request is for, in its cache key ("" for the default page), with the
    domain that chose it (its links differ from the same page's under /pages/)."""
    page, domain = environ.get(PAGE), environ.get(BY_DOMAIN)
    if page is None or (page.is_default and not domain):
        return ""
    return f"{page.slug}@{domain}|" if domain else f"{page.slug}|"


def _encoding_for(request: Request, entry: _Entry) -> str:
    """The best stored encoding this request accepts ("" for none: the body as it is)."""
    return _best_encoding(request.accept_encoding, tuple(entry.compressed)) if entry.compressed else ""


def _best_encoding(header: Any, stored: tuple[str, ...]) -> str:
    if not isinstance(header, AcceptEncodingValidHeader):
        return ""  # none, empty or unreadable: the body as it is
    accepted = header.acceptable_offers([encoding for encoding in ENCODINGS if encoding in stored])
    return str(accepted[0][0]) if accepted else ""


RenderedView = Callable[[Any, Request], Response]


def cached(
    reads: ParamReaders | None = None, *, seconds: float | None = None
) -> Callable[[RenderedView], RenderedView]:
    """A view `decorator=` that serves the rendered answer through the page cache;
    `reads` names the query parameters the view uses and how each is canonicalised;
    `seconds` shortens how long its answers stay fresh."""
    declared: ParamReaders = dict(reads or {})

    def decorate(view: RenderedView) -> RenderedView:
        def through_cache(context: Any, request: Request) -> Response:
            cache: PageCache = request.page_cache
            return cache.serve(request, declared, lambda: view(context, request), seconds)

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
    config.add_tween("statusweb.edge.page_cache.cache_tween_factory", over="pyramid_tm.tm_tween_factory")
