"""monitors.toml -> validated Monitors and alert sinks.

    status_page_url = "https://status.example.org"
    [defaults]
    interval = "60s"
    timeout = "10s"
    [[alert]]
    type = "slack"
    webhook_url = "${SLACK_WEBHOOK_URL}"
    [[monitor]]
    name = "Website"
    url = "https://example.org/health"
    conditions = ["status == 200", "latency < 2s"]
    [[group]]                   # what the page says of a group (optional)
    name = "Texts"
    description = "Reading and searching the library"
    [[page]]                    # more status pages than the default one (optional)
    slug = "internal"
    private = true
    [[monitor]]
    name = "Staging"
    url = "https://staging.example.org/health"
    page = "internal"

Every problem is found here, at load time, and named by file, monitor and key.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from . import shorthand
from .alerts.base import AlertSink
from .alerts.loading import build_sinks, check_routes, environment_slack
from .checks.base import CheckType
from .conditions import ConditionSyntaxError, parse_condition
from .dependencies import resolve_dependencies
from .errors import ConfigError
from .model import CSS_MAX_BYTES, THIRD_PARTY_GROUP, GroupSpec, Monitor, MonitorPolicy, PageSpec, new_monitor
from .plugins import PluginRegistry, default_registry
from .schema import as_table, build_config, substitute_env

log = logging.getLogger("statuscore.config")

_TOP_LEVEL = {"status_page_url", "defaults", "monitor", "alert", "page", "group"}

# Every environment variable statuscore reads, and where in monitors.toml it lands (over
# what the file says). A Slack variable fills every [[alert]] of type "slack", adding one
# when the file has none; `${NAME}` in any string is the other way in.
ENVIRONMENT = {
    "STATUS_PAGE_URL": "status_page_url",
    "HEALTH_CHECK_INTERVAL": "defaults.interval",
    "HEALTH_CHECK_RETRIES": "defaults.retries",
    "SLACK_WEBHOOK_URL": "alert[type=slack].webhook_url",
    "SLACK_CHANNEL": "alert[type=slack].channel",
}


_POLICY_KEYS = {f.name for f in fields(MonitorPolicy)}
_IDENTITY_KEYS = {"name", "slug"}
_NOT_TYPE_KEYS = _POLICY_KEYS | _IDENTITY_KEYS  # what a check type's own options never include
_MONITOR_POLICY_FIELDS = tuple(f.name for f in fields(MonitorPolicy) if f.name not in ("enabled", "conditions"))
# Each distinct policy of a file (by its keys' repr): the policy, and what a Monitor takes from it.
Policies = dict[str, tuple[MonitorPolicy, dict[str, Any]]]
_DEFAULTS_ONLY = "[defaults]"  # the key of the policy of monitors that set no policy key themselves
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_NOT_IN_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class LoadedConfig:
    path: str
    monitors: tuple[Monitor, ...]
    sinks: tuple[AlertSink[Any], ...]
    status_page_url: str
    # Problems that leave the monitors running, e.g. a Slack sink whose webhook URL is
    # not set: alerts are optional, so such a sink is switched off and named here.
    warnings: tuple[str, ...] = ()
    pages: tuple[PageSpec, ...] = ()  # the [[page]] tables (the default page needs none)
    groups: tuple[GroupSpec, ...] = ()  # the [[group]] tables (a monitor's `group` needs none)


def load_config(
    path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None, registry: PluginRegistry | None = None
) -> LoadedConfig:
    """Read and validate a monitors.toml; raises ConfigError naming file, monitor, key."""
    env = os.environ if env is None else env
    registry = registry or default_registry()
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError("file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=file) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML syntax error: {exc}", file=file) from None
    try:
        return _load(raw, file, env, registry, references=_may_reference(text))
    except ConfigError as exc:
        raise exc.located(file=file) from None


def _may_reference(text: str) -> bool:
    """Whether any string of the file can hold `${NAME}`: not without a "$", written
    as is or escaped (\\u0024, \\U00000024). Most files have none, and skipping the walk
    through every monitor's values saves 0.6 us a monitor."""
    return "$" in text or "\\u" in text or "\\U" in text


def load_monitors(path: str | os.PathLike[str], **kwargs: Any) -> list[Monitor]:
    """Just the monitors of a monitors.toml (the library API's entry point)."""
    return list(load_config(path, **kwargs).monitors)


def _load(
    raw: dict[str, Any], file: str, env: Mapping[str, str], registry: PluginRegistry, references: bool = True
) -> LoadedConfig:
    unknown = sorted(set(raw) - _TOP_LEVEL)
    if unknown:
        raise ConfigError(
            f"unknown top-level key (known: {', '.join(sorted(_TOP_LEVEL))}; monitors go in [[monitor]] tables)",
            key=unknown[0],
        )
    raw = {
        key: value if key in ("monitor", "alert", "page", "group") else substitute_env(value, env, key)
        for key, value in raw.items()
    }
    raw = _apply_environment(raw, env)
    status_page_url = raw.get("status_page_url", "")
    if not isinstance(status_page_url, str):
        raise ConfigError("expected a string", key="status_page_url")
    defaults = as_table(raw.get("defaults", {}), "defaults")
    unknown = sorted(set(defaults) - _POLICY_KEYS)
    if unknown:
        raise ConfigError(
            f"not allowed in [defaults] (allowed: {', '.join(sorted(_POLICY_KEYS))})", key=f"defaults.{unknown[0]}"
        )
    tables = raw.get("monitor", [])
    if not isinstance(tables, list):
        raise ConfigError("write monitors as [[monitor]] tables", key="monitor")
    monitors: list[Monitor] = []
    policies: Policies = {}
    names: set[str] = set()
    slugs: dict[str, str] = {}
    for index, table in enumerate(tables):
        table = as_table(table, f"monitor[{index}]")
        try:
            table = substitute_env(table, env, "") if references else table
        except ConfigError as exc:
            name = table.get("name") if isinstance(table.get("name"), str) else f"number {index + 1}"
            raise exc.located(monitor=name) from None
        monitor = _build_monitor(table, defaults, index, registry, policies)
        if monitor is None:
            continue
        if monitor.name in names:
            raise ConfigError("duplicate monitor name", monitor=monitor.name, key="name")
        if monitor.slug in slugs:
            raise ConfigError(
                f"slug {monitor.slug!r} is already used by monitor {slugs[monitor.slug]!r}",
                monitor=monitor.name,
                key="slug",
            )
        names.add(monitor.name)
        slugs[monitor.slug] = monitor.name
        monitors.append(monitor)
    monitors = resolve_dependencies(monitors)
    warnings: list[str] = []
    sinks = build_sinks(raw.get("alert", []), env, registry, status_page_url, warnings)
    check_routes(monitors, raw.get("alert", []))
    pages = _build_pages(raw.get("page", []), env, Path(file).parent)
    _check_pages(monitors, pages)
    groups = _build_groups(raw.get("group", []), env)
    used = {monitor.group for monitor in monitors}
    warnings += [f"[[group]] {group.name!r}: no monitor has this group" for group in groups if group.name not in used]
    for warning in warnings:
        log.warning("%s: %s", file, warning)
    return LoadedConfig(file, tuple(monitors), tuple(sinks), status_page_url, tuple(warnings), pages, groups)


SpecT = TypeVar("SpecT")


def _build_tables(
    tables: Any, kind: str, what: str, cls: type[SpecT], env: Mapping[str, str]
) -> list[tuple[str, SpecT]]:
    """Each `[[kind]]` table built as `cls` (secrets from the environment), with its key."""
    if not isinstance(tables, list):
        raise ConfigError(f"write {what} as [[{kind}]] tables", key=kind)
    built = []
    for index, table in enumerate(tables):
        key = f"{kind}[{index}]"
        table = substitute_env(as_table(table, key), env, key)
        try:
            built.append((key, build_config(cls, table)))
        except ConfigError as exc:
            raise exc.located(key_prefix=key) from None
    return built


def _build_groups(tables: Any, env: Mapping[str, str]) -> tuple[GroupSpec, ...]:
    """The [[group]] tables: each name once."""
    groups: dict[str, GroupSpec] = {}
    for key, group in _build_tables(tables, "group", "groups", GroupSpec, env):
        if group.name in groups:
            raise ConfigError(f"two [[group]] tables are named {group.name!r}", key=f"{key}.name")
        groups[group.name] = group
    return tuple(groups.values())


def _build_pages(tables: Any, env: Mapping[str, str], folder: Path) -> tuple[PageSpec, ...]:
    """The [[page]] tables: slugs and domains unique, secrets from the environment, each
    stylesheet read (relative to `folder`, the file's)."""
    pages: list[PageSpec] = []
    for key, page in _build_tables(tables, "page", "status pages", PageSpec, env):
        if page.css:
            object.__setattr__(page, "css_text", _read_stylesheet(folder / page.css, f"{key}.css"))
        for earlier in pages:
            if page.slug == earlier.slug:
                raise ConfigError(f"two pages have the slug {page.slug!r}", key=f"{key}.slug")
            if page.domain and page.domain == earlier.domain:
                raise ConfigError(f"pages {earlier.slug!r} and {page.slug!r} have the same domain", key=f"{key}.domain")
        pages.append(page)
    return tuple(pages)


def _read_stylesheet(path: Path, key: str) -> str:
    """A page's stylesheet: UTF-8, at most CSS_MAX_BYTES (statusweb sanitises it)."""
    try:
        with path.open("rb") as file:
            data = file.read(CSS_MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc.strerror or exc}", key=key) from None
    if len(data) > CSS_MAX_BYTES:
        raise ConfigError(f"{str(path)!r} is over {CSS_MAX_BYTES // 1024} KiB", key=key)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{str(path)!r} is not UTF-8 (byte {exc.start})", key=key) from None


def _check_pages(monitors: list[Monitor], pages: tuple[PageSpec, ...]) -> None:
    """A monitor's `page` must name a [[page]] (or "default", the page at `/`)."""
    declared = {page.slug for page in pages} | {"default"}
    for monitor in monitors:
        if monitor.page and monitor.page not in declared:
            raise ConfigError(
                f"no [[page]] has the slug {monitor.page!r} (declared: {', '.join(sorted(declared))})",
                monitor=monitor.name,
                key="page",
            )


def _build_monitor(
    table: dict[str, Any],
    defaults: dict[str, Any],
    index: int,
    registry: PluginRegistry,
    policies: Policies | None = None,
) -> Monitor | None:
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"every [[monitor]] needs a name (monitor number {index + 1} has none)", key="name")
    try:
        table = shorthand.expand(table, defaults)
        merged = {**defaults, **table}
        policy, values = _policy(
            merged, {} if policies is None else policies, only_defaults=_POLICY_KEYS.isdisjoint(table)
        )
        if not policy.enabled:
            return None
        provided = registry.check_type(policy.type)
        if provided is None:
            known = ", ".join(sorted(registry.check_types)) or "none"
            raise ConfigError(f"unknown check type {policy.type!r} (installed: {known})", key="type")
        check_cls = provided.cls
        type_raw = {k: v for k, v in table.items() if k not in _NOT_TYPE_KEYS}
        try:
            options = build_config(check_cls.Config, type_raw)
        except ConfigError as exc:
            if exc.message.startswith("unknown key"):
                keys = sorted({f.name for f in fields(check_cls.Config) if f.init} | _NOT_TYPE_KEYS)
                raise ConfigError(
                    f"unknown key for type {policy.type!r} (known: {', '.join(keys)})", key=exc.key
                ) from None
            raise
        conditions = []
        extra = check_cls.condition_subjects
        for number, text in enumerate(policy.conditions):
            try:
                conditions.append(parse_condition(text, extra))
            except ConditionSyntaxError as exc:
                raise ConfigError(f"{exc} in {text!r}", key=f"conditions[{number}]") from None
        slug = table.get("slug", slugify(name))
        if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
            raise ConfigError("a slug is lower-case letters, digits and dashes", key="slug")
        values = _type_defaults(policy, values, check_cls)
        return new_monitor(name=name.strip(), slug=slug, options=options, conditions=tuple(conditions), **values)
    except ConfigError as exc:
        raise exc.located(monitor=name) from None


def _type_defaults(policy: MonitorPolicy, values: dict[str, Any], check_cls: type[CheckType[Any]]) -> dict[str, Any]:
    """`values` with what the check type says for the keys the monitor left unset (a
    shared dict: copied, not changed)."""
    third_party = check_cls.third_party
    chosen: dict[str, Any] = {"third_party": third_party} if third_party else {}
    if policy.public_degraded is None:
        chosen["public_degraded"] = check_cls.public_degraded
    if policy.notify is None:
        chosen["notify"] = not third_party
    if third_party and not policy.group:
        chosen["group"] = THIRD_PARTY_GROUP
    return {**values, **chosen}


def _policy(
    merged: dict[str, Any], policies: Policies, only_defaults: bool = False
) -> tuple[MonitorPolicy, dict[str, Any]]:
    """The monitor's policy keys, validated, and the values a Monitor takes from them;
    most monitors of a large file share theirs with [defaults], so each distinct set is
    built once per file (`policies`, by the keys' repr: TOML values print the same
    exactly when they are the same; `only_defaults`: the monitor sets none of its own)."""
    raw = {k: v for k, v in merged.items() if k in _POLICY_KEYS}
    key = _DEFAULTS_ONLY if only_defaults else repr(sorted(raw.items()))
    found = policies.get(key)
    if found is None:
        policy = build_config(MonitorPolicy, raw)
        found = policies[key] = (policy, {name: getattr(policy, name) for name in _MONITOR_POLICY_FIELDS})
    return found


def _apply_environment(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """`raw` with the ENVIRONMENT table applied: set variables win over the file."""
    raw = dict(raw)
    if env.get("STATUS_PAGE_URL"):
        raw["status_page_url"] = env["STATUS_PAGE_URL"]
    raw["defaults"] = _environment_defaults(as_table(raw.get("defaults", {}), "defaults"), env)
    slack = {
        key: env[variable]
        for variable, key in (("SLACK_WEBHOOK_URL", "webhook_url"), ("SLACK_CHANNEL", "channel"))
        if env.get(variable)
    }
    if slack:
        raw["alert"] = environment_slack(raw.get("alert", []), slack)
    return raw


def _environment_defaults(defaults: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """HEALTH_CHECK_INTERVAL and HEALTH_CHECK_RETRIES over [defaults]."""
    defaults = dict(defaults)
    interval = env.get("HEALTH_CHECK_INTERVAL", "").strip()
    if interval:
        defaults["interval"] = float(interval) if interval.replace(".", "", 1).isdigit() else interval
    retries = env.get("HEALTH_CHECK_RETRIES", "").strip()
    if retries:
        if not (retries.isascii() and retries.isdigit()):
            raise ConfigError(f"HEALTH_CHECK_RETRIES must be a whole number, got {retries!r}", key="defaults.retries")
        defaults["retries"] = int(retries)
    return defaults


def slugify(name: str, fallback: str = "monitor") -> str:
    """Lower-case letters, digits and dashes, for URLs and ids: "MCP Server" -> "mcp-server"."""
    slug = _NOT_IN_SLUG.sub("-", name.lower()).strip("-")
    return slug or fallback


def make_monitor(*, registry: PluginRegistry | None = None, **table: Any) -> Monitor:
    """A Monitor from keyword arguments, validated exactly like a [[monitor]] table:
    `make_monitor(name="API", url="https://...", conditions=["status == 200"])`."""
    monitor = _build_monitor(dict(table), {}, 0, registry or default_registry())
    if monitor is None:
        raise ConfigError("the monitor is disabled (enabled = false)", monitor=table.get("name"))
    return monitor


def monitor_for_url(url: str, *, registry: PluginRegistry | None = None, **policy: Any) -> Monitor:
    """An http monitor for a bare URL (`statuscore check https://...`, `check(url)`)."""
    return make_monitor(registry=registry, name=url, slug=slugify(url)[:60] or "url", url=url, **policy)
