"""[[alert]] tables -> alert sinks: each sink's own keys checked by its Config, the keys
every sink has (grouping, templates, maintenance notices) taken out first, and a sink
whose secret is not in the environment switched off with a warning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, FieldError
from ..model import Monitor
from ..plugins import PluginRegistry
from ..schema import as_table, build_config, substitute_env
from .base import AlertSink
from .grouping import GroupPolicy
from .templates import KEYS as TEMPLATE_KEYS
from .templates import MessageTemplates, compile_templates


def check_routes(monitors: list[Monitor], tables: list[Any]) -> None:
    """A monitor's `alerts` must name [[alert]] sinks ("name", or the type when unnamed).
    A sink that is off (its secret unset) still counts: routing to it is not a mistake."""
    declared = {str(t.get("name") or t.get("type")) for t in tables if isinstance(t, dict)}
    for monitor in monitors:
        for number, name in enumerate(monitor.alerts):
            if name not in declared:
                named = ", ".join(sorted(declared)) or "none"
                raise ConfigError(
                    f"no [[alert]] is named {name!r} (named: {named})", monitor=monitor.name, key=f"alerts[{number}]"
                )


def build_sinks(
    tables: Any, env: Mapping[str, str], registry: PluginRegistry, status_page_url: str, warnings: list[str]
) -> list[AlertSink[Any]]:
    """The alert sinks. One whose secret is not in the environment is switched off with
    a warning, not an error: the monitors and the page work without alerts."""
    if not isinstance(tables, list):
        raise ConfigError("write alert sinks as [[alert]] tables", key="alert")
    tables = [dict(as_table(t, f"alert[{i}]")) for i, t in enumerate(tables)]
    available: list[tuple[int, dict[str, Any]]] = []
    for index, table in enumerate(tables):
        label = table.get("name") or table.get("type") or f"number {index + 1}"
        try:
            table = substitute_env(table, env, f"alert[{index}]")
        except ConfigError as exc:
            warnings.append(f"alert sink {label!r} is off: {exc.message}")
            continue
        if table.get("type") == "slack" and not table.get("webhook_url"):
            warnings.append(f"alert sink {label!r} is off: no webhook URL (set SLACK_WEBHOOK_URL)")
            continue
        available.append((index, table))
    sinks: list[AlertSink[Any]] = []
    seen: set[str] = set()
    for index, table in available:
        sink_type = table.pop("type", None)
        instance = table.pop("name", sink_type)
        key = f"alert[{index}]"
        notices = table.pop("maintenance_notices", False)
        if not isinstance(notices, bool):
            raise ConfigError("expected true or false", key=f"{key}.maintenance_notices")
        grouping = _group_policy(table, key)
        provided = registry.sinks.get(sink_type) if isinstance(sink_type, str) else None
        if provided is None:
            known = ", ".join(sorted(registry.sinks))
            raise ConfigError(f"unknown alert type {sink_type!r} (installed: {known})", key=f"{key}.type")
        if instance in seen:
            raise ConfigError(f"two alert sinks are named {instance!r}; give one a `name`", key=f"{key}.name")
        seen.add(instance)
        raw_templates = {name: table.pop(name) for name in TEMPLATE_KEYS if name in table}
        try:
            config = build_config(provided.cls.Config, table)
        except ConfigError as exc:
            raise exc.located(key_prefix=key) from None
        sink = provided.cls(config, instance_name=instance, status_page_url=status_page_url)
        sink.maintenance_notices = notices
        sink.grouping = grouping
        sink.templates = _templates(raw_templates, sink, key)
        sinks.append(sink)
    return sinks


def _templates(raw: dict[str, Any], sink: AlertSink[Any], key: str) -> MessageTemplates | None:
    """An [[alert]]'s `title_template` and `body_template`, compiled and tried now: a
    template that cannot render is this file's error, not a lost alert."""
    try:
        return compile_templates(raw, accepted=sink.template_keys, body_escape=sink.escape_body)
    except FieldError as exc:
        raise ConfigError(f"alert sink {sink.instance_name!r}: {exc.message}", key=f"{key}.{exc.key}") from None


def _group_policy(table: dict[str, Any], key: str) -> GroupPolicy:
    """`group_wait` and `group_window`, taken out of an [[alert]] table (every sink has them)."""
    raw: dict[str, Any] = {name: table.pop(name) for name in ("group_wait", "group_window") if name in table}
    try:
        policy: GroupPolicy = build_config(GroupPolicy, raw)
    except ConfigError as exc:
        raise exc.located(key_prefix=key) from None
    if policy.group_wait > policy.group_window:
        raise ConfigError(
            f"group_wait ({policy.group_wait:g} s) must not be longer than group_window ({policy.group_window:g} s)",
            key=f"{key}.group_wait",
        )
    return policy


def environment_slack(alerts: Any, slack: dict[str, str]) -> list[Any]:
    """SLACK_* into every slack [[alert]] that does not set them; one more when there is none."""
    if not isinstance(alerts, list):
        raise ConfigError("write alert sinks as [[alert]] tables", key="alert")
    tables = [dict(t) if isinstance(t, dict) else t for t in alerts]
    slack_tables = [t for t in tables if isinstance(t, dict) and t.get("type") == "slack"]
    if "webhook_url" in slack and not slack_tables:
        slack_tables = [{"type": "slack"}]
        tables += slack_tables
    for table in slack_tables:
        for key, value in slack.items():
            table[key] = table.get(key) or value
    return tables
