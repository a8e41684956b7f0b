"""Durations as people write them in config: "10s", "500ms", "2m", "1h30m"."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`. A bare number counts as seconds; raises ValueError otherwise."""
    if isinstance(text, bool):
        raise ValueError(f'expected a duration like "10s", got {text!r}')
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"a duration cannot be negative: {text!r}")
        return float(text)
    compact = text.strip().replace(" ", "")
    if not compact:
        raise ValueError('expected a duration like "10s", got an empty string')
    pos, total = 0, 0.0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(compact):
        raise ValueError(f'expected a duration like "10s", "500ms", "2m" or "1h", got {text!r}')
    return total


def format_duration(seconds: float) -> str:
    """A short human form: "4 min", "1 h 5 min", "2.5 s"."""
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
