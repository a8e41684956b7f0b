"""statuscore: uptime checks with honest state, retries that only retry what may pass,
and alerts that arrive exactly when an outage starts and ends.

    import statuscore
    result = statuscore.check_sync("https://www.sefaria.org/api/texts/Genesis.1.1")
    print(result.status, result.latency_ms, result.error)
"""

from __future__ import annotations

import logging

from .addresses import (
    checked_email,
    checked_url,
    has_control_characters,
    host_addresses,
    is_public_address,
    private_host_reason,
)
from .alerts.base import AlertSink, Delivery
from .alerts.email import smtp_send
from .alerts.webhook import sign as sign_webhook
from .api import check, check_many, check_sync
from .checks.base import CheckContext, CheckType
from .checks.http_client import read_capped
from .clock import Clock, SystemClock, utcnow
from .conditions import ConditionSyntaxError, parse_condition
from .config import LoadedConfig, load_config, load_monitors, make_monitor, monitor_for_url, slugify
from .delays import backoff_delay, no_jitter
from .dependencies import Dependencies
from .durations import format_duration, parse_duration
from .errors import ConfigError, FieldError, PluginError
from .hookspecs import hookimpl
from .maintenance import MaintenanceCalendar, MaintenanceWindow
from .model import (
    CSS_MAX_BYTES,
    REGION_PATTERN,
    Alert,
    Attempt,
    CheckResult,
    GroupSpec,
    Monitor,
    PageSpec,
    Status,
    Transition,
    TransitionKind,
)
from .plugins import PluginRegistry, load_registry
from .process import settle_loaded_config
from .push import MemoryPushLedger, PushLedger, PushRecord
from .redact import redact_urls
from .scheduler import Scheduler
from .schema import Duration
from .state import MonitorState, RegionVote, advance, count_votes
from .store import MemoryStore, Store

__version__ = "0.1.0"

# A library writes nothing to the terminal: its warnings (a sink switched off, say) go to
# the program's logging if it set some up, and nowhere otherwise (not Python's last resort).
logging.getLogger("statuscore").addHandler(logging.NullHandler())

__all__ = [
    "CSS_MAX_BYTES",
    "REGION_PATTERN",
    "Alert",
    "AlertSink",
    "Attempt",
    "CheckContext",
    "CheckResult",
    "CheckType",
    "Clock",
    "ConfigError",
    "Delivery",
    "Dependencies",
    "Duration",
    "FieldError",
    "GroupSpec",
    "LoadedConfig",
    "MaintenanceCalendar",
    "MaintenanceWindow",
    "MemoryPushLedger",
    "MemoryStore",
    "Monitor",
    "MonitorState",
    "PageSpec",
    "PluginError",
    "PluginRegistry",
    "PushLedger",
    "PushRecord",
    "RegionVote",
    "Scheduler",
    "Status",
    "Store",
    "SystemClock",
    "Transition",
    "TransitionKind",
    "advance",
    "backoff_delay",
    "check",
    "check_many",
    "checked_email",
    "checked_url",
    "count_votes",
    "has_control_characters",
    "redact_urls",
    "host_addresses",
    "is_public_address",
    "private_host_reason",
    "check_sync",
    "format_duration",
    "hookimpl",
    "load_config",
    "load_monitors",
    "load_registry",
    "make_monitor",
    "monitor_for_url",
    "no_jitter",
    "parse_duration",
    "read_capped",
    "settle_loaded_config",
    "sign_webhook",
    "smtp_send",
    "slugify",
    "parse_condition",
    "ConditionSyntaxError",
    "utcnow",
]
