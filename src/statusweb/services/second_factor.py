"""A second factor for the admin: TOTP codes (RFC 6238, by pyotp) from an authenticator
app, enrolled with a QR code (segno's SVG), and ten one-time recovery codes.

A code is accepted within one 30-second step either side of now (a phone's clock drifts)
and only in a step later than the last one accepted: a code seen over a shoulder, or
replayed from a proxy's log, is refused even inside its 30 seconds. Recovery codes are
random (about 50 bits each), so their SHA-256 is enough to keep; each opens the admin once.
An organization's owners may require a second factor of every member
(`Organization.require_2fa`): until they enrol, such members reach only the enrolment page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from statuscore import utcnow
from statusweb.models import Membership, Organization, RecoveryCode, User

RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
ISSUER = "statusweb"


def new_secret() -> str:
    return pyotp.random_base32()


def enrolment_uri(user: User, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.name, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an inline <svg> element (no script, no external image)."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title="Enrolment QR code")
    return svg


def enrolled(user: User) -> bool:
    return bool(user.totp_secret and user.totp_enabled_at)


def required_for(session: Session, user: User) -> bool:
    """Whether an organization `user` belongs to requires a second factor."""
    return bool(
        session.scalar(
            select(Organization.id)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.user_id == user.id, Organization.require_2fa.is_(True))
            .limit(1)
        )
    )


def accept_totp(session: Session, user: User, code: str, now: datetime | None = None) -> bool:
    """Whether `code` is the user's TOTP for a step of now ±1 later than the last one
    accepted. Accepting records the step in one conditional UPDATE, so two requests
    racing with one code cannot both get in."""
    code = code.strip().replace(" ", "")
    if not user.totp_secret or len(code) != 6 or not (code.isascii() and code.isdigit()):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now or utcnow())
    last = user.totp_last_step if user.totp_last_step is not None else -1
    for step in (current - 1, current, current + 1):
        if step > last and hmac.compare_digest(totp.generate_otp(step), code):
            return _claimed(
                session,
                update(User)
                .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
                .values(totp_last_step=step),
            )
    return False


def _claimed(session: Session, statement: Any) -> bool:
    """Whether the conditional UPDATE changed its row (the first of racing requests)."""
    return bool(session.execute(statement.execution_options(synchronize_session="fetch")).rowcount)  # type: ignore[attr-defined]


def start_enrolment(user: User) -> None:
    """A new secret, not in force until a code from it is confirmed."""
    user.totp_secret = new_secret()
    user.totp_enabled_at = None
    user.totp_last_step = None


def confirm_enrolment(session: Session, user: User, code: str, now: datetime | None = None) -> list[str] | None:
    """Put the pending secret in force if `code` comes from it: the new recovery codes
    (shown once), or None for a wrong code."""
    if user.totp_enabled_at is not None or not accept_totp(session, user, code, now):
        return None
    user.totp_enabled_at = now or utcnow()
    return new_recovery_codes(session, user, now)


def new_recovery_codes(session: Session, user: User, now: datetime | None = None) -> list[str]:
    """Ten fresh codes ("abcde-fghjk"); the earlier ones stop working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    now = now or utcnow()
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code), created_at=now) for code in codes)
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def accept_recovery_code(session: Session, user: User, code: str, now: datetime | None = None) -> bool:
    """Whether `code` is one of the user's unused recovery codes; using it ends it."""
    normal = "".join(c for c in code.strip().lower() if c.isalnum())
    if len(normal) != 10 or not normal.isascii():
        return False
    return _claimed(
        session,
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(f"{normal[:5]}-{normal[5:]}"),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now or utcnow()),
    )


def accept(session: Session, user: User, code: str, now: datetime | None = None) -> bool:
    """A TOTP code or a recovery code, whichever `code` looks like."""
    digits = code.strip().replace(" ", "")
    if digits.isascii() and digits.isdigit():
        return accept_totp(session, user, digits, now)
    return accept_recovery_code(session, user, code, now)


def reset(session: Session, user: User) -> bool:
    """No second factor any more (a lost phone and no recovery code): whether it had one.
    Its sessions end; an organization that requires one asks for a new enrolment."""
    had = user.totp_secret is not None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.end_sessions()
    return had


def _recovery_code() -> str:
    letters = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{letters[:5]}-{letters[5:]}"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
