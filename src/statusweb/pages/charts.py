"""Inline SVG drawn on the server: the response-time chart works without JavaScript."""

from __future__ import annotations

from datetime import datetime
from html import escape

WIDTH, HEIGHT, PAD = 600, 120, 4


def latency_chart(points: list[tuple[datetime, float]]) -> str:
    """A line of mean latency per hour; an empty chart says so."""
    if len(points) < 2:
        return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="no data yet">'
                f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">No data yet</text></svg>')
    start, end = points[0][0], points[-1][0]
    span = max((end - start).total_seconds(), 1.0)
    top = max(value for _, value in points) * 1.1 or 1.0
    coords = " ".join(
        f"{PAD + (WIDTH - 2 * PAD) * (at - start).total_seconds() / span:.1f},"
        f"{HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top:.1f}" for at, value in points)
    label = escape(f"mean response time per hour, {start:%b %d %H:%M} to {end:%b %d %H:%M} UTC, "
                   f"highest {max(v for _, v in points):.0f} ms")
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}">'
            f'<polyline fill="none" stroke-width="2" points="{coords}"/>'
            f'<text x="{PAD}" y="14">{top / 1.1:.0f} ms</text></svg>')
