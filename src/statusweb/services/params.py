"""Numbers and dates from URLs and forms, checked the same way on every route.

`int()` takes "²", full-width "２" and 4,000-digit strings; a database then fails on
them with a 500. Everything a visitor types goes through these helpers instead:
ASCII digits only (`isascii() and isdecimal()`), then a range, else a 400 (or a 404
for an id, since a record that cannot exist is simply not found).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound

MAX_ID = 2**31 - 1  # an INTEGER key on PostgreSQL (incidents, users, services)
MAX_BIG_ID = 2**63 - 1  # a BIGINT key (check results)
MAX_DIGITS = 19
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


class InvalidParameter(HTTPBadRequest):
    """A query or form value that cannot be used; the message says what would be."""


def is_digits(raw: str) -> bool:
    """Plain ASCII digits, and not so many that parsing them costs anything."""
    return 0 < len(raw) <= MAX_DIGITS and raw.isascii() and raw.isdecimal()


def whole_number(raw: str | None, name: str, *, minimum: int, maximum: int, default: int | None = None) -> int:
    """`raw` as an int within [minimum, maximum]; `default` when absent or empty."""
    if raw is None or raw == "":
        if default is None:
            raise InvalidParameter(f"{name} is needed: a whole number from {minimum} to {maximum}")
        return default
    if not is_digits(raw) or not minimum <= int(raw) <= maximum:
        raise InvalidParameter(f"{name} must be a whole number from {minimum} to {maximum}")
    return int(raw)


def optional_id(raw: str | None, maximum: int = MAX_ID) -> int | None:
    """An id from a form or query, or None when it cannot be one (ignored, not an error)."""
    if raw is None or not is_digits(raw) or not 1 <= int(raw) <= maximum:
        return None
    return int(raw)


def record_id(raw: str | None, what: str = "record") -> int:
    """A database id from a URL; anything that cannot be one is a 404, never a 500."""
    found = optional_id(raw)
    if found is None:
        raise HTTPNotFound(f"no such {what}")
    return found


def slug(raw: str | None, what: str = "service") -> str:
    """A service's slug from a URL (lower-case letters, digits, dashes); anything else,
    a NUL byte included, cannot name one: 404 before any query."""
    if raw is None or not _SLUG.fullmatch(raw):
        raise HTTPNotFound(f"no such {what}")
    return raw


def storable(text: str) -> bool:
    """Whether a database can keep `text` (PostgreSQL refuses NUL bytes in text; a lone
    surrogate, which JSON can carry, cannot be encoded at all)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def calendar_day(raw: str) -> datetime | None:
    """A date like 2026-02-08 as midnight UTC, within years 2000-9998 (so a day later
    still exists); None when it is not one."""
    if not raw.isascii() or len(raw) != 10:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    if not 2000 <= day.year <= 9998:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
