"""Each signed-in browser as a row, so its user can see where they are signed in and
end any of those sessions (issue 29: session hygiene until the second factor).

The session cookie stays a signed cookie; it also carries a random key, and only the
key's SHA-256 is stored. A session is alive while its row is not ended, its user's
session generation is the one it was made in (a new password or disabling ends all
of them at once) and it is younger than the absolute lifetime: the cookie carries the
generation and the sign-in time, and security.py checks those; the list of sessions
(`active`) applies the same two rules to the rows.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from statuscore import utcnow
from statusweb.models import User, UserSession

LIFETIME = timedelta(hours=12)  # absolute: from the sign-in, however often the cookie is reissued
TOUCH_EVERY = timedelta(minutes=1)  # how stale "last seen" may get: not one write per request
KEPT_AFTER_END = timedelta(days=7)  # ended rows stay this long, then the daily cleanup drops them


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Arrival:
    """Where a sign-in came from, as the sessions page shows it."""

    address: str
    user_agent: str

    @classmethod
    def of(cls, request: Any) -> Arrival:
        agent = "".join(c for c in str(request.user_agent or "") if c.isprintable())
        return cls(str(request.client_addr or "")[:45], agent[:200])


def start(session: Session, user: User, arrival: Arrival, now: datetime | None = None) -> str:
    """A new session row for `user`; returns the key the cookie carries."""
    now = now or utcnow()
    key = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            key_hash=_hash(key),
            generation=user.session_generation or 0,
            created_at=now,
            last_seen_at=now,
            address=arrival.address,
            user_agent=arrival.user_agent,
        )
    )
    session.flush()
    return key


def alive(session: Session, user: User, key: Any, now: datetime | None = None) -> UserSession | None:
    """The row of the session `key` names when nobody has ended it (and note that it was
    seen), else None. Its generation and age are the cookie's to check (security.py signs
    both into it, and checks them first)."""
    if not isinstance(key, str) or not key:
        return None
    now = now or utcnow()
    row = session.scalar(select(UserSession).where(UserSession.key_hash == _hash(key), UserSession.user_id == user.id))
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def active(session: Session, user: User, now: datetime | None = None) -> list[UserSession]:
    """`user`'s live sessions, the most recently seen first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.generation == (user.session_generation or 0),
                UserSession.created_at > now - LIFETIME,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def end(
    session: Session,
    user_id: int,
    session_ids: list[int] | None = None,
    *,
    keep: int | None = None,
    now: datetime | None = None,
) -> int:
    """End `user_id`'s sessions (those in `session_ids`, or all), except `keep`; how many ended."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if session_ids is not None:
        query = query.where(UserSession.id.in_(session_ids))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    return session.execute(query.values(ended_at=now or utcnow())).rowcount or 0  # type: ignore[attr-defined]


def prune(session: Session, now: datetime | None = None) -> int:
    """Drop rows that can never let anyone in again (ended, or past the lifetime), a while later."""
    now = now or utcnow()
    return (
        session.execute(
            delete(UserSession).where(
                or_(
                    UserSession.ended_at < now - KEPT_AFTER_END,
                    UserSession.created_at < now - LIFETIME - KEPT_AFTER_END,
                )
            )
        ).rowcount  # type: ignore[attr-defined]
        or 0
    )
