"""Uptime Kuma's JSON backup (Settings, Backup, Export in 1.x): monitors become
monitors.toml entries, notifications alert sinks where one of ours (or Apprise) speaks
their language, status pages `[[page]]`s with their pinned incidents, single maintenance
windows ours. The rest is named, never dropped silently."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from statusweb.transfer.apprise_urls import (
    Builder,
    apprise_url,
    as_is,
    discord,
    gotify,
    mattermost,
    ntfy,
    pushover,
    telegram,
)
from statusweb.transfer.foreign import Conversion, clean_name, is_secret_header, utc_text

# Kuma's incident styles -> our impact
IMPACT_OF_STYLE = {"danger": "major", "warning": "minor", "dark": "major"}


def convert(document: Any, file: str) -> Conversion:
    if not isinstance(document, dict) or not isinstance(document.get("monitorList"), list):
        raise ValueError(f'{file} is not an Uptime Kuma backup (it has no "monitorList")')
    conversion = Conversion(prefix="KUMA", source=f"Uptime Kuma {document.get('version', '?')} backup {file}")
    sinks = _notifications(conversion, document.get("notificationList") or [])
    monitors = [m for m in document["monitorList"] if isinstance(m, dict)]
    groups = {m.get("id"): str(m.get("name", "")) for m in monitors if m.get("type") == "group"}
    pages = _status_pages(conversion, document.get("statusPageList") or [])
    for monitor in monitors:
        if monitor.get("type") == "group":
            conversion.groups.append({"name": str(monitor.get("name", ""))[:100]})
            continue
        table = _monitor(conversion, monitor, groups, sinks)
        if table is not None:
            page = pages.get(monitor.get("id"))
            if page:
                table["page"] = page
            conversion.monitors.append(table)
    _incidents(conversion, document.get("statusPageList") or [])
    _maintenance(conversion, document.get("maintenanceList") or [])
    if "statusPageList" not in document:
        conversion.skip(
            "status pages and incidents",
            "this backup has none (Uptime Kuma 1.x backups hold monitors and notifications)",
        )
    for key in ("proxyList", "dockerHostList"):
        if document.get(key):
            conversion.skip(key, "proxies and Docker hosts have no counterpart here")
    return conversion


def _monitor(
    conversion: Conversion, kuma: dict[str, Any], groups: dict[Any, str], sinks: dict[Any, str]
) -> dict[str, Any] | None:
    name = clean_name(kuma.get("name"), f"monitor {kuma.get('id')}")
    kind = str(kuma.get("type", ""))
    what = f"monitor {name!r} ({kind})"
    if kuma.get("upsideDown"):
        conversion.skip(what, "upside-down mode (UP when it fails) has no counterpart; add it by hand if you need it")
        return None
    table: dict[str, Any] = {"name": name, "slug": conversion.slug(name)}
    build = _TYPES.get(kind)
    if build is None:
        conversion.skip(what, "no check type here does what it does")
        return None
    found = build(conversion, kuma, table)
    if found is not None:
        conversion.skip(what, found)
        return None
    _policy(kuma, table)
    if kuma.get("description"):
        table["description"] = str(kuma["description"])
    if kuma.get("parent") in groups:
        table["group"] = groups[kuma["parent"]][:100]
    wanted = [sinks[i] for i in _ids(kuma.get("notificationIDList")) if i in sinks]
    if wanted:
        table["alerts"] = sorted(set(wanted))
    elif conversion.alerts:
        table["notify"] = False  # Kuma told nobody about it
    if kuma.get("active") is False:
        table["enabled"] = False
    return table


def _ids(value: Any) -> list[Any]:
    """Kuma's {"1": true} (or a list) of notification ids, as the ints it keys them by."""
    items = value.items() if isinstance(value, dict) else ((v, True) for v in value or [])
    return [int(k) if str(k).isdigit() else k for k, on in items if on]


def _policy(kuma: dict[str, Any], table: dict[str, Any]) -> None:
    interval = kuma.get("interval")
    if isinstance(interval, int) and interval > 0:
        table["interval"] = f"{interval}s"
    if isinstance(kuma.get("maxretries"), int):
        table["retries"] = kuma["maxretries"]
    if isinstance(kuma.get("retryInterval"), int) and kuma["retryInterval"] > 0:
        table["retry_delay"] = f"{kuma['retryInterval']}s"
    timeout = kuma.get("timeout")
    if isinstance(timeout, int | float) and timeout > 0 and table.get("type", "http") != "push":
        milliseconds = int(timeout * 1000)
        table["timeout"] = f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"
    resend = kuma.get("resendInterval")
    if isinstance(resend, int) and resend > 0 and isinstance(interval, int) and interval > 0:
        table["reminder_every"] = f"{resend * interval}s"


def _http(conversion: Conversion, kuma: dict[str, Any], table: dict[str, Any]) -> str | None:
    if not kuma.get("url"):
        return "it has no URL"
    table["url"] = str(kuma["url"])
    method = str(kuma.get("method") or "GET").upper()
    if method != "GET":
        table["method"] = method
    codes = _status_codes(kuma.get("accepted_statuscodes") or ["200-299"])
    if codes is None:
        return f"accepted status codes {kuma.get('accepted_statuscodes')!r} cannot be read"
    if codes:
        table["expected_status"] = codes
    if kuma.get("ignoreTls"):
        table["verify_tls"] = False
    if kuma.get("maxredirects") == 0:
        table["follow_redirects"] = False
    headers = _headers(conversion, table["slug"], kuma)
    if headers is None:
        return "its headers are not a JSON object"
    if headers:
        table["headers"] = headers
    if kuma.get("body"):
        table["body"] = str(kuma["body"])
    if kuma.get("type") == "keyword":
        table["keyword"] = str(kuma.get("keyword") or "")
        if kuma.get("invertKeyword"):
            table["invert_keyword"] = True
    if kuma.get("type") == "json-query":
        table["json_query"] = str(kuma.get("jsonPath") or "")
        table["expected"] = str(kuma.get("expectedValue") or "")
    return None


def _status_codes(ranges: Any) -> list[int] | None:
    """Kuma's ["200-299", "301"] as codes; [] when it is just any 2xx (our default)."""
    if not isinstance(ranges, list):
        return None
    if ranges == ["200-299"]:
        return []
    codes: list[int] = []
    for item in ranges:
        low, _, high = str(item).partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            return None
        codes += range(int(low), int(high or low) + 1)
    return sorted(set(c for c in codes if 100 <= c <= 599)) or None


def _headers(conversion: Conversion, slug: str, kuma: dict[str, Any]) -> dict[str, str] | None:
    """Its headers, with every value that may be a secret moved to the env file."""
    raw = kuma.get("headers") or "{}"
    try:
        headers = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(headers, dict):
        return None
    found = {str(k): str(v) for k, v in headers.items()}
    if kuma.get("basic_auth_user"):
        pair = f"{kuma['basic_auth_user']}:{kuma.get('basic_auth_pass') or ''}"
        found["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    for key, value in found.items():
        if is_secret_header(key):
            found[key] = conversion.secret(f"{slug}_{key}", value)
    return found


def _port(conversion: Conversion, kuma: dict[str, Any], table: dict[str, Any]) -> str | None:
    if not kuma.get("hostname") or not isinstance(kuma.get("port"), int):
        return "it has no host name or port"
    table.update(type="tcp", host=str(kuma["hostname"]), port=kuma["port"])
    return None


def _ping(conversion: Conversion, kuma: dict[str, Any], table: dict[str, Any]) -> str | None:
    if not kuma.get("hostname"):
        return "it has no host name"
    table.update(type="icmp", host=str(kuma["hostname"]))
    return None


def _dns(conversion: Conversion, kuma: dict[str, Any], table: dict[str, Any]) -> str | None:
    if not kuma.get("hostname"):
        return "it has no host name"
    table.update(type="dns", query=str(kuma["hostname"]), record=str(kuma.get("dns_resolve_type") or "A"))
    if kuma.get("dns_resolve_server"):
        table["resolver"] = str(kuma["dns_resolve_server"])
    return None


def _push(conversion: Conversion, kuma: dict[str, Any], table: dict[str, Any]) -> str | None:
    token = str(kuma.get("pushToken") or "")
    if len(token) < 24:
        return "its push token is shorter than the 24 characters a push token needs here; make a new one"
    interval = kuma.get("interval") if isinstance(kuma.get("interval"), int) else 60
    table.update(
        type="push", token=conversion.secret(f"{table['slug']}_push_token", token), expect_every=f"{interval}s"
    )
    return None


def _database(conversion: Conversion, kuma: dict[str, Any], table: dict[str, Any]) -> str | None:
    url = str(kuma.get("databaseConnectionString") or "")
    if not url:
        return "it has no connection string (the backup was made without sensitive data)"
    table.update(type=str(kuma["type"]), url=conversion.secret(f"{table['slug']}_url", url))
    return None


def _grpc(conversion: Conversion, kuma: dict[str, Any], table: dict[str, Any]) -> str | None:
    if not kuma.get("grpcUrl"):
        return "it has no gRPC address"
    table.update(type="grpc", target=str(kuma["grpcUrl"]), tls=bool(kuma.get("grpcEnableTls")))
    if kuma.get("grpcServiceName"):
        table["service"] = str(kuma["grpcServiceName"])
    if kuma.get("keyword"):
        conversion.skip(
            f"monitor {table['name']!r}", "its gRPC keyword is dropped: the health service's SERVING is checked"
        )
    return None


_TYPES = {
    "http": _http,
    "keyword": _http,
    "json-query": _http,
    "port": _port,
    "ping": _ping,
    "dns": _dns,
    "push": _push,
    "postgres": _database,
    "redis": _database,
    "grpc-keyword": _grpc,
}


def _notifications(conversion: Conversion, items: list[Any]) -> dict[Any, str]:
    """Each notification Kuma can send that a sink here can: id -> the sink's name."""
    names: dict[Any, str] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            config = (
                json.loads(item.get("config") or "{}") if isinstance(item.get("config"), str) else item.get("config")
            )
        except ValueError:
            config = None
        label = str(item.get("name") or (config or {}).get("name") or f"notification {item.get('id')}")
        if not isinstance(config, dict):
            conversion.skip(f"notification {label!r}", "its settings are not JSON")
            continue
        kind = str(config.get("type", ""))
        sink = _sink(conversion, kind, config, conversion.slug(f"kuma-{label}"))
        if sink is None:
            conversion.skip(f"notification {label!r} ({kind})", "no sink here or in Apprise takes its settings")
            continue
        conversion.alerts.append(sink)
        names[item.get("id")] = sink["name"]
    return names


def _sink(conversion: Conversion, kind: str, config: dict[str, Any], name: str) -> dict[str, Any] | None:
    def secret(value: Any) -> str:
        return conversion.secret(f"{name}_url", str(value))

    if kind == "slack" and config.get("slackwebhookURL"):
        sink = {"type": "slack", "name": name, "webhook_url": secret(config["slackwebhookURL"])}
        if config.get("slackchannel"):
            sink["channel"] = str(config["slackchannel"])
        return sink
    if kind == "webhook" and config.get("webhookURL"):
        return {"type": "webhook", "name": name, "url": secret(config["webhookURL"])}
    if kind == "PagerDuty" or kind == "pagerduty":
        key = config.get("pagerdutyIntegrationKey")
        return {"type": "pagerduty", "name": name, "routing_key": secret(key)} if key else None
    if kind == "smtp" and config.get("smtpHost") and config.get("smtpTo"):
        scheme = "smtps" if config.get("smtpSecure") else "smtp"
        user = config.get("smtpUsername") or ""
        login = f"{user}:{config.get('smtpPassword') or ''}@" if user else ""
        url = f"{scheme}://{login}{config['smtpHost']}:{config.get('smtpPort') or (465 if scheme == 'smtps' else 587)}"
        sender = str(config.get("smtpFrom") or f"statusweb@{config['smtpHost']}")
        return {"type": "email", "name": name, "url": secret(url), "sender": sender, "to": _addresses(config["smtpTo"])}
    apprise = apprise_url(kind, config, APPRISE)
    return {"type": "apprise", "name": name, "urls": [secret(apprise)]} if apprise else None


def _addresses(value: Any) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


# Kuma's notification types that Apprise sends, and where Kuma keeps each one's parts
APPRISE: dict[str, tuple[Builder, tuple[str, ...]]] = {
    "apprise": (as_is, ("appriseURL",)),
    "discord": (discord, ("discordWebhookUrl",)),
    "telegram": (telegram, ("telegramBotToken", "telegramChatID")),
    "ntfy": (ntfy, ("ntfyserverurl?", "ntfytopic")),
    "gotify": (gotify, ("gotifyserverurl", "gotifyapplicationToken")),
    "pushover": (pushover, ("pushoveruserkey", "pushoverapptoken")),
    "mattermost": (mattermost, ("mattermostWebhookUrl",)),
    "teams": (as_is, ("webhookUrl",)),
}


def _status_pages(conversion: Conversion, pages: list[Any]) -> dict[Any, str | None]:
    """Each status page as a [[page]]; monitor id -> the slug of the first page showing it."""
    shown: dict[Any, str | None] = {}
    for page in pages:
        config = page.get("config") if isinstance(page, dict) else None
        if not isinstance(config, dict) or not config.get("slug"):
            conversion.skip("a status page", "it has no slug")
            continue
        slug = _page_slug(str(config["slug"]))
        if slug is not None:
            conversion.pages.append({"slug": slug, "name": str(config.get("title") or slug)[:200]})
        for group in page.get("publicGroupList") or []:
            for monitor in (group or {}).get("monitorList") or []:
                key = (monitor or {}).get("id")
                if key in shown and shown[key] != slug:
                    conversion.note(
                        f"monitor {monitor.get('name')!r}",
                        f"it is on several status pages; here it is on {shown[key] or 'the default page'} only",
                    )
                shown.setdefault(key, slug)
    return shown


def _page_slug(slug: str) -> str | None:
    """Kuma's page slug as ours (None: the default page, which every install has)."""
    slug = slug.lower()
    return None if slug in ("default", "status") else slug[:63]


def _incidents(conversion: Conversion, pages: list[Any]) -> None:
    """The incident pinned on each status page (all of them, in Kuma 2's `incidents`)."""
    for page in pages:
        if not isinstance(page, dict) or not isinstance(page.get("config"), dict):
            continue
        slug = _page_slug(str(page["config"].get("slug", "")))
        found = page.get("incidents") or ([page["incident"]] if page.get("incident") else [])
        for incident in found:
            if not isinstance(incident, dict) or not incident.get("title"):
                continue
            at = _kuma_time(incident.get("createdDate"))
            if at is None:
                conversion.skip(f"incident {incident.get('title')!r}", "its createdDate is not a time")
                continue
            conversion.record(
                "incidents",
                {
                    "page": slug,
                    "title": str(incident["title"])[:200],
                    "impact": IMPACT_OF_STYLE.get(str(incident.get("style")), "none"),
                    "status": "investigating",
                    "created_at": at,
                    "updated_at": _kuma_time(incident.get("lastUpdatedDate")) or at,
                    "updates": [
                        {"status": "investigating", "body": str(incident.get("content") or ""), "created_at": at}
                    ],
                },
            )


def _maintenance(conversion: Conversion, windows: list[Any]) -> None:
    """Single windows with a start and an end; Kuma keeps which monitors they touch apart
    from the backup, so they touch every service here."""
    for window in windows:
        if not isinstance(window, dict):
            continue
        title = str(window.get("title") or "Maintenance")[:200]
        dates = window.get("dateRange") or []
        if window.get("strategy") != "single" or len(dates) < 2:
            conversion.skip(
                f"maintenance {title!r} ({window.get('strategy')})",
                "only single windows with a start and end are brought over; plan repeating ones again in the admin",
            )
            continue
        start, end = _kuma_time(dates[0]), _kuma_time(dates[1])
        if start is None or end is None or end <= start:
            conversion.skip(f"maintenance {title!r}", "its dates cannot be read")
            continue
        now = utc_text(datetime.now(UTC))
        status = "completed" if end < now else "scheduled"
        conversion.record(
            "maintenance",
            {
                "page": None,
                "title": title,
                "description": str(window.get("description") or ""),
                "starts_at": start,
                "ends_at": end,
                "status": status,
                "all_services": True,
                "created_at": start,
                "updated_at": start,
            },
        )
        conversion.note(f"maintenance {title!r}", "brought over touching every service: the backup does not say which")


def _kuma_time(value: Any) -> str | None:
    """Kuma's "2024-05-01 12:00:00" (UTC) or an ISO time, as the export's text."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return None
    return utc_text(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
