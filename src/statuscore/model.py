"""The values that flow through statuscore: monitors in, results and transitions out.

Everything here is a frozen dataclass so a result can be handed to a store, a sink and
a plugin hook at once without anyone changing it under the others. Times are aware UTC
datetimes; durations are float seconds.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from .errors import FieldError
from .frozen import builder, quick_init
from .schema import Duration, Percent

REGION_PATTERN = r"[a-z0-9][a-z0-9_-]{0,49}"  # a runner's region and a monitor's `regions`

if TYPE_CHECKING:
    from .conditions import Condition


class Status(str, enum.Enum):
    """What a monitor is, ordered by how bad it is for the people using it."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"

    @property
    def is_failure(self) -> bool:
        return self is Status.DOWN

    @property
    def is_good(self) -> bool:
        return self in (Status.UP, Status.DEGRADED)


# The members again as module constants, for code that runs on every check (the state
# machine, judging an attempt): on Python 3.11 reading `Status.DOWN` goes through
# EnumType.__getattr__'s hook, 70 ns against 25 for a global, and a monitor's first
# check read a dozen of them (bench/engine.py).
UP, DEGRADED, DOWN = Status.UP, Status.DEGRADED, Status.DOWN
MAINTENANCE, UNKNOWN = Status.MAINTENANCE, Status.UNKNOWN


CSS_MAX_BYTES = 64 * 1024  # a [[page]]'s stylesheet
GROUP_NAME_MAX = 100  # a group's name, on the page and in the status database
THIRD_PARTY_GROUP = "Third-party"  # where a vendor's status (`statuspage`) is shown by default


@dataclass(frozen=True, kw_only=True)
class MonitorPolicy:
    """The keys every monitor accepts whatever its type (and `[defaults]` may set)."""

    type: str = "http"
    group: str = ""
    description: str = ""
    interval: Duration = 60.0
    timeout: Duration = 10.0
    retries: int = 3
    retry_delay: Duration = 10.0
    retry_backoff: Literal["fixed", "exponential"] = "fixed"
    failure_threshold: int = 1
    success_threshold: int = 1
    degraded_over: Duration | None = None
    conditions: tuple[str, ...] = ()
    reminder_every: Duration | None = None
    flap_threshold: int = 5
    flap_window: Duration = 3600.0
    flap_settle: int = 5
    notify_degraded: bool = False
    maintenance: bool = False
    enabled: bool = True
    alerts: tuple[str, ...] = ()  # names of the [[alert]] sinks to tell; empty: all of them
    sla: Percent | None = None  # target uptime over rolling windows, e.g. "99.9%"
    page: str = ""  # the slug of the [[page]] that shows it; empty: the default page
    # Checked from each of these regions by runners that share a database (statusweb); it
    # goes DOWN only when `quorum` of them (default: a majority) see it down. Empty: from any one.
    regions: tuple[str, ...] = ()
    quorum: int | None = None
    # On status pages at all (false: checked and alerted, shown only in the admin).
    public: bool = True
    # Whether DEGRADED shows on status pages as such (false: operational there, while the
    # admin and alerts still say degraded). Unset: the check type's default (tls_cert: false).
    public_degraded: bool | None = None
    # Monitors (names or slugs) this one needs: while one of them is DOWN, this one's DOWN
    # is told with it ("also affected") and its pages say "affected by" (dependencies.py).
    depends_on: tuple[str, ...] = ()
    # false: transitions are recorded and shown, no sink is told. Unset: the check type's
    # default (statuspage, a vendor's own status: false).
    notify: bool | None = None

    def __post_init__(self) -> None:
        self._check_regions()
        if len(self.group) > GROUP_NAME_MAX or not self.group.isprintable():
            raise FieldError("group", f"at most {GROUP_NAME_MAX} printable characters")
        if self.interval < 1:
            raise FieldError("interval", "must be at least 1s")
        if self.timeout <= 0:
            raise FieldError("timeout", "must be more than 0s")
        if not 0 <= self.retries <= 10:
            raise FieldError("retries", "must be between 0 and 10")
        for key in ("failure_threshold", "success_threshold"):
            if getattr(self, key) < 1:
                raise FieldError(key, "must be at least 1")
        if self.flap_threshold < 0:
            raise FieldError("flap_threshold", "must be 0 (off) or more")
        if self.flap_settle < 1:
            raise FieldError("flap_settle", "must be at least 1 (checks in a row that end flapping)")

    def _check_regions(self) -> None:
        for number, region in enumerate(self.regions):
            if not re.fullmatch(REGION_PATTERN, region):
                raise FieldError(f"regions[{number}]", "a region is a short name of a-z, 0-9, '-' and '_'")
        if len(set(self.regions)) != len(self.regions):
            raise FieldError("regions", "lists a region twice")
        if self.quorum is not None:
            if not self.regions:
                raise FieldError("quorum", "needs `regions` (the regions that vote)")
            if not 1 <= self.quorum <= len(self.regions):
                raise FieldError("quorum", f"must be between 1 and {len(self.regions)} (the regions listed)")


@dataclass(frozen=True, kw_only=True)
class PageSpec:
    """A `[[page]]` of monitors.toml: a status page that shows the monitors naming it.
    statuscore only validates it; a status page program (statusweb) serves it."""

    slug: str
    name: str = ""
    private: bool = False  # only the organization's members (or a viewer password) see it
    domain: str = ""  # a host name that serves this page at `/`
    organization: str = "default"  # the slug of the organization it belongs to
    viewer_password: str = ""  # "${INTERNAL_VIEWER_PASSWORD}": shares a private page
    language: str = ""  # what a reader who chose none gets (statusweb: en, he, es); empty: their browser's
    css: str = ""  # a stylesheet, relative to monitors.toml, added after the page's own
    # the stylesheet's text, read when the file is loaded (at most CSS_MAX_BYTES)
    css_text: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.language and not re.fullmatch(r"[a-z]{2,3}", self.language):
            raise FieldError("language", "a two-letter language code such as en, he or es")
        if self.css and (not self.css.isprintable() or not self.css.endswith(".css")):
            raise FieldError("css", "the path of a .css file, relative to this file")
        for key in ("slug", "organization"):
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", getattr(self, key)):
                raise FieldError(key, "lower-case letters, digits and dashes (at most 63)")
        if self.domain and not re.fullmatch(
            r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", self.domain
        ):
            raise FieldError("domain", "a lower-case host name such as status.example.org (no scheme, no port)")
        if self.viewer_password and len(self.viewer_password) < 12:
            raise FieldError("viewer_password", "at least 12 characters")


@dataclass(frozen=True, kw_only=True)
class GroupSpec:
    """A `[[group]]` of monitors.toml: what the page says of the monitors whose `group`
    is `name` (a group needs no table; one gives it a description or starts it closed)."""

    name: str
    description: str = ""
    collapsed: bool = False  # shown closed on the page while every service in it is operational

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > GROUP_NAME_MAX or not self.name.isprintable():
            raise FieldError("name", f"1 to {GROUP_NAME_MAX} printable characters")
        if len(self.description) > 2000:
            raise FieldError("description", "at most 2000 characters")


@quick_init
@dataclass(frozen=True, slots=True)
class Monitor:
    """One thing to watch: its check type's validated config plus the policy around it.
    Every default is MonitorPolicy's: one place says what an unset key means."""

    name: str
    type: str
    options: Any
    slug: str
    group: str = MonitorPolicy.group
    description: str = MonitorPolicy.description
    interval: float = MonitorPolicy.interval
    timeout: float = MonitorPolicy.timeout
    retries: int = MonitorPolicy.retries
    retry_delay: float = MonitorPolicy.retry_delay
    retry_backoff: str = MonitorPolicy.retry_backoff
    failure_threshold: int = MonitorPolicy.failure_threshold
    success_threshold: int = MonitorPolicy.success_threshold
    degraded_over: float | None = MonitorPolicy.degraded_over
    conditions: tuple[Condition, ...] = ()
    reminder_every: float | None = MonitorPolicy.reminder_every
    flap_threshold: int = MonitorPolicy.flap_threshold
    flap_window: float = MonitorPolicy.flap_window
    flap_settle: int = MonitorPolicy.flap_settle
    notify_degraded: bool = MonitorPolicy.notify_degraded
    maintenance: bool = MonitorPolicy.maintenance
    alerts: tuple[str, ...] = MonitorPolicy.alerts
    sla: float | None = MonitorPolicy.sla
    page: str = MonitorPolicy.page
    regions: tuple[str, ...] = MonitorPolicy.regions
    quorum: int | None = MonitorPolicy.quorum
    public: bool = MonitorPolicy.public
    public_degraded: bool = True
    depends_on: tuple[str, ...] = MonitorPolicy.depends_on  # slugs, resolved at load
    notify: bool = True
    third_party: bool = False  # its check type reports a vendor's status (CheckType.third_party)

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    @property
    def votes_needed(self) -> int:
        """Regions that must see it down for it to be DOWN (`quorum`, default a majority)."""
        return self.quorum or len(self.regions) // 2 + 1


@quick_init
@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try of a check saw. A check type returns this; the runner times it.

    `ok` is the check type's own verdict (e.g. the status code was expected);
    `retryable` says whether trying again could help (connection errors, timeouts, 5xx).
    `values` carries anything extra a check measured (a TLS plugin's `days_left`), which
    conditions can test by name. `warning` marks a success that deserves attention (a
    certificate expiring soon): the monitor is DEGRADED with that reason. `pending` says
    there is no verdict yet and why (a push monitor waiting for its first push): the
    result is UNKNOWN with that reason, neither up nor down, and shows no latency.
    """

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    warning: str | None = None
    pending: str | None = None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one scheduled check, after retries and conditions."""

    monitor: str
    slug: str
    status: Status
    checked_at: datetime
    latency: float
    status_code: int | None = None
    error: str | None = None
    attempts: int = 1
    max_attempts: int = 1
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def latency_ms(self) -> int:
        return round(self.latency * 1000)

    def as_dict(self, type_name: str = "") -> dict[str, Any]:
        """The shape `statuscore check --json` prints, one object per monitor."""
        return {
            "name": self.monitor,
            "slug": self.slug,
            "type": type_name,
            "status": self.status.value,
            "latency_ms": self.latency_ms if self.status is not Status.UNKNOWN else None,
            "status_code": self.status_code,
            "error": self.error,
            "attempts": self.attempts,
            "checked_at": self.checked_at.isoformat(),
            "truncated": bool(self.values.get("truncated")),
        }


class TransitionKind(str, enum.Enum):
    """Why a transition matters; sinks pick their message by this."""

    DOWN = "down"
    RECOVERED = "recovered"
    DEGRADED = "degraded"
    IMPROVED = "improved"
    REMINDER = "reminder"
    FLAPPING = "flapping"
    SETTLED = "settled"
    MAINTENANCE = "maintenance"
    MAINTENANCE_ENDED = "maintenance_ended"
    FIRST = "first"
    SLA_BREACH = "sla_breach"  # an SLA window's uptime fell under its target
    SLA_BUDGET = "sla_budget"  # 80% of an SLA window's error budget is spent
    REGION_LOST = "region_lost"  # no live runner checks from a region that monitors list
    REGION_BACK = "region_back"  # a runner checks from that region again


@quick_init
@dataclass(frozen=True, slots=True)
class Transition:
    """A change a person may need to hear about.

    `since` is when the monitor entered `previous` (for a recovery: when the outage
    began), `duration` how long `previous` lasted (the downtime of a recovery).
    `notify` is False for changes that are recorded but never alerted (maintenance,
    repeats while flapping, a monitor's first UP).
    """

    monitor: str
    slug: str
    kind: TransitionKind
    previous: Status
    current: Status
    at: datetime
    since: datetime
    duration: float | None
    result: CheckResult
    notify: bool = True
    third_party: bool = False  # its check type reports a vendor's status (CheckType.third_party)


@dataclass(frozen=True, slots=True)
class Alert:
    """A rendered message waiting for one sink. `id` is stable so re-queuing dedupes."""

    id: str
    sink: str
    monitor: str
    kind: str
    payload: Mapping[str, Any]
    created_at: datetime
    attempts: int = 0
    next_try: datetime | None = None
    last_error: str | None = None
    #: A line the sink adds when it sends the alert (e.g. that the status database was
    #: unreachable, which explains a repeat): the store sets it, `AlertSink.add_note` shows it.
    note: str | None = None


# The records statuscore makes on every check (and per monitor loaded), built by
# `frozen.builder`: the same frozen instances as `Attempt(...)` and the rest, 3.7 times
# cheaper to make (bench/engine.py).
new_attempt = builder(Attempt)
new_result = builder(CheckResult)
new_transition = builder(Transition)
new_monitor = builder(Monitor)
