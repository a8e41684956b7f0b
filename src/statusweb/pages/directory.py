"""Which status pages exist, looked up without a query per request.

Every request asks "which page is this?" (by `/pages/{slug}/` or by a custom domain), so
the pages are read from the database into memory and read again after `REFRESH_SECONDS`
or when the admin changes one (`forget`). The custom domains are an allow-list: only a
verified domain (domain_checks.py) selects a page; any other Host is the main site.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.engine import Engine

from statusweb.models import DEFAULT_SLUG, Organization, Page, get_session_factory

REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class PageInfo:
    """What a request needs to know about its page. `id` is None for the default page
    when it has no row (an install that never configured pages)."""

    id: int | None
    slug: str
    name: str
    organization_id: int | None
    private: bool = False
    domain: str | None = None
    viewer_password_hash: str | None = None
    language: str = ""  # what a reader who chose none gets ("": their browser's)
    stylesheet: str = ""  # sanitised CSS added after the page's own (/page.css)

    @cached_property
    def stylesheet_version(self) -> str:
        """Changes with the stylesheet: /page.css?v=... is cached a long time."""
        return hashlib.sha256(self.stylesheet.encode()).hexdigest()[:12] if self.stylesheet else ""

    @property
    def is_default(self) -> bool:
        return self.slug == DEFAULT_SLUG

    @property
    def row_id(self) -> int | None:
        """What a service, incident or subscriber of this page stores as its page_id
        (NULL for the default page, whether or not it has a row)."""
        return None if self.is_default else self.id


class PageDirectory:
    def __init__(self, engine: Engine, default_name: str) -> None:
        self._session_factory = get_session_factory(engine)
        self._default_name = default_name
        self._by_slug: dict[str, PageInfo] = {}
        self._by_domain: dict[str, PageInfo] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def default(self) -> PageInfo:
        return self._pages().get(DEFAULT_SLUG) or PageInfo(None, DEFAULT_SLUG, self._default_name, None)

    def by_slug(self, slug: str) -> PageInfo | None:
        return self.default() if slug == DEFAULT_SLUG else self._pages().get(slug)

    def by_domain(self, host: str) -> PageInfo | None:
        self._pages()
        return self._by_domain.get(host)

    def all(self) -> list[PageInfo]:
        pages = dict(self._pages())
        pages.setdefault(DEFAULT_SLUG, self.default())
        return sorted(pages.values(), key=lambda page: (not page.is_default, page.slug))

    def forget(self) -> None:
        """Read the pages again on the next lookup (the admin changed one)."""
        with self._lock:
            self._read_at = float("-inf")

    def _pages(self) -> dict[str, PageInfo]:
        with self._lock:
            if time.monotonic() - self._read_at > REFRESH_SECONDS:
                self._read()
            return self._by_slug

    def _read(self) -> None:
        """(Under the lock.) A failed read keeps what was known: the page stays up."""
        try:
            with self._session_factory() as session:
                rows = session.execute(select(Page, Organization.slug).join(Organization)).all()
        except Exception:  # noqa: BLE001 - a database hiccup must not take every page down
            if self._read_at == float("-inf"):
                raise
            return
        by_slug = {}
        for page, _organization in rows:
            name = self._default_name if page.slug == DEFAULT_SLUG and page.name == "Status" else page.name
            by_slug[page.slug] = PageInfo(
                page.id,
                page.slug,
                name,
                page.organization_id,
                page.private,
                page.serving_domain,
                page.viewer_password_hash,
                page.language,
                page.stylesheet,
            )
        self._by_slug = by_slug
        self._by_domain = {info.domain: info for info in by_slug.values() if info.domain}
        self._read_at = time.monotonic()
