"""How the runner's duties went (maintenance, check-now, votes, subscribers, regions, SLA):
when each last completed a round and its last error, so a duty that keeps failing is
named in the heartbeat, on /healthz and in the admin, instead of failing unseen."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_STALLED_CHARS = 2000  # the heartbeat's `stalled` column


@dataclass
class DutyLog:
    started: float  # monotonic seconds: a duty that never ran counts from here
    done: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def completed(self, name: str, at: float) -> None:
        self.done[name] = at
        self.errors.pop(name, None)

    def failed(self, name: str, error: str, at: float) -> bool:
        """Record a failed round; True when its error is new (worth a log line: a duty
        retried every second must not write the same traceback every second)."""
        new = self.errors.get(name) != error
        self.errors[name] = error
        self.done.setdefault(name, self.started)
        return new

    def stalled(self, now: float, limit: float) -> str:
        """One line per duty with no completed round for `limit` seconds: "name: error"."""
        lines = [
            f"{name}: {self.errors.get(name, 'no round completed')}"
            for name, at in sorted(self.done.items())
            if now - at > limit
        ]
        return "\n".join(lines)[:MAX_STALLED_CHARS]
