"""People who may post incidents. Passwords are argon2 hashes (argon2-cffi)."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from statusweb.models.meta import Base, UTCDateTime

ROLES = ("admin", "editor")
_hasher = PasswordHasher()


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="editor")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Every session carries the generation it was made in; bumping it (logout, a new
    # password, disabling) ends every session of this user at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # TOTP (services/second_factor.py): the base32 secret, set when enrolment starts and
    # in force from its confirmation; the last time step accepted, so a code is used once.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # OpenID Connect (services/oidc.py): the address a provider's verified email claim is
    # matched with, and "<issuer> <sub>" once the user signed in through it
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, unique=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(600), nullable=True, unique=True)

    def set_password(self, password: str) -> None:
        """A new password ends every session made with the old one."""
        self.password_hash = _hasher.hash(password)
        self.end_sessions()

    def end_sessions(self) -> None:
        self.session_generation = (self.session_generation or 0) + 1

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


_dummy_hashes: dict[int, str] = {}


def verify_without_user(password: str) -> bool:
    """Spend what checking a real password costs, so a login for a name that does not
    exist takes as long as one for a name that does (no account enumeration)."""
    dummy = _dummy_hashes.get(id(_hasher))
    if dummy is None:  # made with the hasher's own parameters, so it costs the same
        dummy = _dummy_hashes.setdefault(id(_hasher), _hasher.hash("no such user"))
    try:
        _hasher.verify(dummy, password)
    except (VerificationError, InvalidHashError):
        pass
    return False


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Hash with `hasher` from now on (tests use argon2's cheapest profile)."""
    global _hasher
    _hasher = hasher


class UserSession(Base):
    """One signed-in browser: the session cookie names it by a random key (only its
    SHA-256 is kept), so its user can see where they are signed in and end any of them."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    generation: Mapped[int] = mapped_column(Integer)  # the user's session generation at sign-in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(45), default="")  # the client address at sign-in
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RecoveryCode(Base):
    """One of a user's ten one-time codes for a lost phone: only its SHA-256 is kept
    (a code is 50 random bits, not a password to stretch), and using it ends it."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
