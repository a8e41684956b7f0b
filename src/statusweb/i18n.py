"""English, Hebrew and Spanish for the public pages (Sefaria's readers read the first two).

The reader's language comes from the `lang` cookie (set by the switcher, /lang/{code}),
else from the page's own `language` ([[page]] in monitors.toml), else from
Accept-Language, else English. Translations live in gettext catalogs
(`locale/he.po`, `locale/es.po`, read with Babel at start); templates call `_("...")` and format dates
with `when(...)` in the reader's locale. Hebrew pages are laid out right to left. The page
cache keys every page by language, so a Hebrew reader never gets an English copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import quote

from babel.dates import format_datetime
from babel.messages.pofile import read_po
from pyramid.events import BeforeRender
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from statusweb.edge.page_mount import PAGE

LANGUAGES = {"en": "English", "he": "עברית", "es": "Español"}
RIGHT_TO_LEFT = {"he"}
DEFAULT = "en"
COOKIE = "lang"


@cache
def catalog(language: str) -> dict[str, str]:
    """msgid -> msgstr for `language` (empty for English, the source language)."""
    if language == DEFAULT:
        return {}
    with files("statusweb").joinpath(f"locale/{language}.po").open("rb") as po:
        messages = read_po(po)
    return {str(m.id): str(m.string) for m in messages if m.id and m.string and not m.fuzzy}


def language_of(request: Request) -> str:
    """The reader's language: the switcher's cookie, else the page's own (a [[page]]'s
    `language`), else the best of Accept-Language."""
    page = request.environ.get(PAGE)
    return pick_language(request.cookies.get(COOKIE, ""), request.accept_language, page.language if page else "")


def pick_language(chosen: str, accept_language: Any, page_language: str) -> str:
    """language_of's rule, for a cookie's value, WebOb's Accept-Language and the page's."""
    if chosen in LANGUAGES:
        return chosen
    if page_language in LANGUAGES:
        return page_language
    best = accept_language.lookup(list(LANGUAGES), default=DEFAULT) if accept_language else DEFAULT
    return str(best) if best in LANGUAGES else DEFAULT


def translator(language: str) -> Callable[..., str]:
    messages = catalog(language)

    def translate(text: str, **values: Any) -> str:
        found = messages.get(text, text)
        return found.format(**values) if values else found

    return translate


@lru_cache(maxsize=8192)
def when(language: str, moment: datetime, pattern: str = "MMM d, HH:mm") -> str:
    """A date in the reader's locale, in UTC (the page says so beside it). Kept: Babel
    takes ~40 us a date, and a page writes the same 90 days for every service."""
    return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=language)


@view_config(route_name="language", request_method=("GET", "HEAD"))
def choose_language(request: Request) -> HTTPSeeOther:
    """The switcher: remember the choice in a cookie, back to the page the reader was on."""
    code = request.matchdict["code"]
    if code not in LANGUAGES:
        raise HTTPNotFound("no such language")
    target = request.GET.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target or not target.isprintable():
        target = "/"
    # `next` is a whole path (/pages/{slug}/... included); a header holds ASCII only
    answer = HTTPSeeOther(request.host_url + quote(target, safe="/?&=%#:@!$'()*+,;~"))
    answer.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return answer


def add_globals(event: BeforeRender) -> None:
    request = event.get("request")
    if request is None:
        return
    language = language_of(request)
    event.setdefault("_", translator(language))
    event.setdefault("lang", language)
    event.setdefault("text_direction", "rtl" if language in RIGHT_TO_LEFT else "ltr")
    event.setdefault("when", lambda moment, pattern="MMM d, HH:mm": when(language, moment, pattern))
    event.setdefault("languages", LANGUAGES)


def includeme(config: Any) -> None:
    config.add_subscriber(add_globals, BeforeRender)
    for language in LANGUAGES:
        catalog(language)  # a broken catalog stops the start, not a reader's request
