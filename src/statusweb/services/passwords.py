"""What a password must be: at least 12 characters and not a common one.

The list shipped in `data/common_passwords.txt` holds the passwords (and stems) that
lists of leaked passwords put at the top; a password is refused when it is one of them,
one of them with digits or symbols added at either end, one character repeated, or
the user's own name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

MIN_LENGTH = 12
MAX_LENGTH = 1000  # argon2 hashes anything, but a megabyte "password" is an attack
_PADDING = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$", re.S)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = files("statusweb").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, name: str = "") -> str | None:
    """Why `password` will not do, in words for the form; None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"At least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"At most {MAX_LENGTH} characters."
    lowered = password.lower()
    common = common_passwords()
    stem = _PADDING.match(lowered).group(1)  # type: ignore[union-attr]
    if lowered in common or stem in common or lowered.strip("0123456789") == "":
        return "That password is one of the most common ones; choose another."
    if len(set(lowered)) <= 2:
        return "That password repeats one or two characters; choose another."
    if name and name.lower() in lowered:
        return "A password may not contain the user's name."
    return None
