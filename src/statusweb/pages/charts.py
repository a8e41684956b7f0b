"""The response-time chart, drawn on the server as SVG (no chart library, works without
JavaScript): p50 and p95 lines over 24 h, 7 d or 30 d, axes with times and milliseconds,
each point's values on hover (an SVG title) and, for everyone, in a table below it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 30  # room for the axes' labels
RANGES = {"24h": (timedelta(hours=24), "hour"), "7d": (timedelta(days=7), "hour"), "30d": (timedelta(days=30), "day")}


@dataclass(frozen=True)
class LatencyPoint:
    at: datetime
    p50_ms: int
    p95_ms: int


def chart_range(raw: str | None) -> str:
    """`?range=` of a service page: 24h, 7d or 30d (anything else: 24h)."""
    return raw if raw in RANGES else "24h"


def latency_chart(points: list[LatencyPoint], range_key: str, now: datetime) -> str:
    span, _ = RANGES[range_key]
    start = now - span
    if not points:
        return (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="No response times yet">'
            f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">No data yet</text></svg>'
        )
    top = _nice_top(max(p.p95_ms for p in points))

    def x(at: datetime) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * max(0.0, (at - start) / span)

    def y(ms: int) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * min(ms, top) / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(_summary(points, range_key))}</title>',
    ]
    for tick in (0, top // 2, top):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y(tick) + 5:.1f}" text-anchor="end">{tick} ms</text>'
        )
    for at in _time_ticks(start, now, range_key):
        parts.append(
            f'<text class="axis" x="{x(at):.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{escape(_tick_label(at, range_key))}</text>"
        )
    for name, value in (("p95", lambda p: p.p95_ms), ("p50", lambda p: p.p50_ms)):
        coords = " ".join(f"{x(p.at):.1f},{y(value(p)):.1f}" for p in points)
        parts.append(f'<polyline class="line-{name}" fill="none" points="{coords}"/>')
    for point in points:
        parts.append(
            f'<circle class="point" cx="{x(point.at):.1f}" cy="{y(point.p95_ms):.1f}" r="5">'
            f"<title>{escape(_point_label(point, range_key))}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def latency_table(points: list[LatencyPoint], range_key: str) -> list[tuple[str, int, int]]:
    """The chart's values as rows (time, p50, p95), newest first."""
    return [(_when(p.at, range_key), p.p50_ms, p.p95_ms) for p in reversed(points)]


def _summary(points: list[LatencyPoint], range_key: str) -> str:
    worst = max(points, key=lambda p: p.p95_ms)
    return (
        f"Response time over the last {range_key}: p50 and p95 per {RANGES[range_key][1]}; highest p95 "
        f"{worst.p95_ms} ms at {_when(worst.at, range_key)}"
    )


def _point_label(point: LatencyPoint, range_key: str) -> str:
    return f"{_when(point.at, range_key)}: p50 {point.p50_ms} ms, p95 {point.p95_ms} ms"


def _when(at: datetime, range_key: str) -> str:
    return f"{at:%b %d}" if RANGES[range_key][1] == "day" else f"{at:%b %d %H:00} UTC"


def _nice_top(value: int) -> int:
    """A round upper bound for the y axis (100, 200, 500, 1000, 2000 ...)."""
    top = 100
    while top < value:
        top = top * 5 // 2 if str(top).startswith("2") else top * 2
    return top


def _time_ticks(start: datetime, end: datetime, range_key: str) -> list[datetime]:
    step = {"24h": timedelta(hours=6), "7d": timedelta(days=1), "30d": timedelta(days=5)}[range_key]
    first = start.replace(minute=0, second=0, microsecond=0)
    if range_key != "24h":
        first = first.replace(hour=0) + timedelta(days=1)
    else:
        first += timedelta(hours=(6 - first.hour % 6) % 6)
    ticks = []
    while first <= end:
        ticks.append(first)
        first += step
    return ticks


def _tick_label(at: datetime, range_key: str) -> str:
    return f"{at:%H:00}" if range_key == "24h" else f"{at:%b %d}" if range_key == "30d" else f"{at:%a %d}"
