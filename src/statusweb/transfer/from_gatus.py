"""Gatus's config.yaml: endpoints become monitors (their conditions ours where the two
languages say the same thing), external endpoints push monitors, the `alerting` providers
sinks (Apprise for the chat services), each endpoint's `alerts` its `alerts` list and
thresholds. A condition with no counterpart is named and left out; the monitor stays."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from statuscore import ConditionSyntaxError, parse_condition
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
from statusweb.transfer.foreign import Conversion, clean_name, is_secret_header

_CONDITION = re.compile(r"^\s*(?P<left>.+?)\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<right>.*?)\s*$")
_PLACEHOLDER = re.compile(r"^\[(STATUS|RESPONSE_TIME|BODY|CONNECTED|DNS_RCODE)\](?P<path>(\.[A-Za-z0-9_\-\[\]]+)*)$")
_ENV = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


def convert(document: Any, file: str) -> Conversion:
    if not isinstance(document, dict) or not isinstance(document.get("endpoints", []), list):
        raise ValueError(f'{file} is not a Gatus configuration ("endpoints" must be a list)')
    if not document.get("endpoints") and not document.get("external-endpoints"):
        raise ValueError(f"{file} is not a Gatus configuration: it has no endpoints")
    conversion = Conversion(prefix="GATUS", source=f"Gatus configuration {file}")
    sinks = _alerting(conversion, document.get("alerting") or {})
    for endpoint in document.get("endpoints") or []:
        if isinstance(endpoint, dict):
            _endpoint(conversion, endpoint, sinks)
    for endpoint in document.get("external-endpoints") or []:
        if isinstance(endpoint, dict):
            _external(conversion, endpoint, sinks)
    groups = sorted({t["group"] for t in conversion.monitors if t.get("group")})
    conversion.groups = [{"name": name} for name in groups]
    return conversion


def _secret(conversion: Conversion, hint: str, value: Any) -> str:
    """A Gatus value that is already ${NAME} stays one; any other goes to the env file."""
    text = str(value)
    if _ENV.match(text):
        conversion.note(text, "kept from the environment as Gatus had it: set it where the runner runs")
        return text
    return conversion.secret(hint, text)


def _endpoint(conversion: Conversion, endpoint: dict[str, Any], sinks: dict[str, str]) -> None:
    name = clean_name(endpoint.get("name") or endpoint.get("url"), "endpoint")
    url = str(endpoint.get("url") or "")
    table: dict[str, Any] = {"name": name, "slug": conversion.slug(name)}
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        table["url"] = url
        _http_options(conversion, endpoint, table)
    elif scheme == "tcp":
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            conversion.skip(f"endpoint {name!r}", f"{url!r} has no host and port")
            return
        table.update(type="tcp", host=parts.hostname, port=parts.port)
    elif scheme == "icmp":
        table.update(type="icmp", host=urlsplit(url).hostname or url.removeprefix("icmp://"))
    elif isinstance(endpoint.get("dns"), dict):
        dns = endpoint["dns"]
        table.update(type="dns", query=str(dns.get("query-name", "")), record=str(dns.get("query-type", "A")))
        table["resolver"] = url.split("://")[-1].split(":")[0]
    else:
        conversion.skip(f"endpoint {name!r}", f"its URL scheme {scheme or url!r} has no check type here")
        return
    conditions = []
    for condition in endpoint.get("conditions") or []:
        converted = _condition(str(condition), table)
        if converted is None:
            conversion.note(f"endpoint {name!r}", f"condition {condition!r} has no counterpart here and was left out")
        elif converted:
            conditions.append(converted)
    if conditions:
        table["conditions"] = conditions
    _common(conversion, endpoint, table, sinks)
    conversion.monitors.append(table)


def _http_options(conversion: Conversion, endpoint: dict[str, Any], table: dict[str, Any]) -> None:
    if str(endpoint.get("method", "GET")).upper() != "GET":
        table["method"] = str(endpoint["method"]).upper()
    if endpoint.get("body"):
        table["body"] = str(endpoint["body"])
    headers = endpoint.get("headers")
    if isinstance(headers, dict) and headers:
        table["headers"] = {
            str(k): _secret(conversion, f"{table['slug']}_{k}", v) if is_secret_header(str(k)) else str(v)
            for k, v in headers.items()
        }
    client = endpoint.get("client") or {}
    if client.get("insecure"):
        table["verify_tls"] = False
    if client.get("ignore-redirect"):
        table["follow_redirects"] = False
    if client.get("timeout"):
        table["timeout"] = str(client["timeout"])


def _common(conversion: Conversion, endpoint: dict[str, Any], table: dict[str, Any], sinks: dict[str, str]) -> None:
    table["interval"] = str(endpoint.get("interval") or "60s")
    table["retries"] = 0  # Gatus tries once per interval; thresholds count the failures
    if endpoint.get("group"):
        table["group"] = str(endpoint["group"])[:100]
    if endpoint.get("enabled") is False:
        table["enabled"] = False
    wanted = [a for a in endpoint.get("alerts") or [] if isinstance(a, dict) and a.get("enabled", True)]
    alerts = [a for a in wanted if str(a.get("type")) in sinks]
    names = sorted({sinks[str(a.get("type"))] for a in alerts})
    missing = sorted({str(a.get("type")) for a in wanted} - set(sinks))
    if missing:
        conversion.note(f"endpoint {table['name']!r}", f"alerts {', '.join(missing)} are not brought over")
    if names:
        table["alerts"] = names
        table["failure_threshold"] = max(int(a.get("failure-threshold", 3)) for a in alerts)
        table["success_threshold"] = max(int(a.get("success-threshold", 2)) for a in alerts)
        if any(a.get("send-on-resolved") is False for a in alerts):
            conversion.note(
                f"endpoint {table['name']!r}", "send-on-resolved: false is not kept; recoveries are always told"
            )
    elif conversion.alerts:
        table["notify"] = False


def _external(conversion: Conversion, endpoint: dict[str, Any], sinks: dict[str, str]) -> None:
    name = clean_name(endpoint.get("name"), "external endpoint")
    token = str(endpoint.get("token") or "")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{24,}", token) and not _ENV.match(token):
        conversion.skip(
            f"external endpoint {name!r}",
            "its token is not 24 or more letters, digits, - _ or . as a push token must be",
        )
        return
    every = str((endpoint.get("heartbeat") or {}).get("interval") or "1h")
    table: dict[str, Any] = {"name": name, "slug": conversion.slug(name), "type": "push", "expect_every": every}
    table["token"] = _secret(conversion, f"{table['slug']}_push_token", token)
    _common(conversion, endpoint, table, sinks)
    table.pop("retries")
    conversion.note(
        f"external endpoint {name!r}", "its job must now call /api/push/<token> (Uptime Kuma's shape), not Gatus's API"
    )
    conversion.monitors.append(table)


def _condition(text: str, table: dict[str, Any]) -> str | None:
    """A Gatus condition in our words; "" when the check type makes it needless, None
    when there is no counterpart."""
    found = _CONDITION.match(text)
    if not found:
        return None
    left, op, right = found["left"], found["op"], found["right"]
    placeholder = _PLACEHOLDER.match(left)
    if placeholder is None:
        return None
    kind, path = placeholder.group(1), placeholder["path"]
    if kind == "CONNECTED" and table.get("type") in ("tcp", "icmp") and op == "==" and right == "true":
        return ""
    if kind == "DNS_RCODE" and table.get("type") == "dns" and op == "==":
        table["expect_rcode"] = right
        return ""
    ours = _translate(kind, path, op, right, table)
    if ours is None:
        return None
    try:
        parse_condition(ours)
    except ConditionSyntaxError:
        return None
    return ours


def _translate(kind: str, path: str, op: str, right: str, table: dict[str, Any]) -> str | None:
    if table.get("type", "http") != "http":
        return None
    if kind == "BODY":
        return _json_condition(f"json{path}", op, right) if path else _body_condition(op, right)
    if path:
        return None
    if kind == "STATUS":
        codes = re.fullmatch(r"any\((.*)\)", right)
        if codes and op == "==":
            return f"status in [{', '.join(c.strip() for c in codes.group(1).split(','))}]"
        return f"status {op} {right}" if right.isdigit() else None
    if kind == "RESPONSE_TIME" and right.isdigit():
        return f"latency {op} {right}ms"
    return None


def _body_condition(op: str, right: str) -> str | None:
    """[BODY] compared whole: pat(*x*) as contains, another pattern as a regex."""
    if op not in ("==", "!="):
        return None
    pattern = re.fullmatch(r"pat\((.*)\)", right)
    if not pattern:
        return f"body {op} {_quote(right)}"
    glob = pattern.group(1)
    inner = glob.strip("*")
    if glob == f"*{inner}*" and "*" not in inner:
        return f"body {'contains' if op == '==' else 'not contains'} {_quote(inner)}"
    regex = "^" + ".*".join(re.escape(part) for part in glob.split("*")) + "$"
    return f"body {'matches' if op == '==' else 'not matches'} {_quote(regex)}"


def _json_condition(subject: str, op: str, right: str) -> str | None:
    """[BODY].x compared: a literal as itself; pat(*) as exists, pat(*x*) as contains."""
    pattern = re.fullmatch(r"pat\((.*)\)", right)
    if pattern:
        glob, inner = pattern.group(1), pattern.group(1).strip("*")
        if op == "==" and glob == "*":
            return f"{subject} exists"
        if op in ("==", "!=") and glob == f"*{inner}*" and "*" not in inner:
            return f"{subject} {'contains' if op == '==' else 'not contains'} {_quote(inner)}"
        return None
    if re.fullmatch(r"[a-z]+\(.*\)", right):
        return None  # any(), len() and the rest have no counterpart
    return f"{subject} {op} {_value(right)}"


def _value(text: str) -> str:
    if re.fullmatch(r"-?\d+(\.\d+)?", text) or text in ("true", "false", "null"):
        return text
    return _quote(text)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _alerting(conversion: Conversion, alerting: dict[str, Any]) -> dict[str, str]:
    """Each provider a sink here speaks: Gatus's alert type -> the sink's name."""
    names: dict[str, str] = {}
    for kind, config in alerting.items():
        if not isinstance(config, dict):
            continue
        sink = _sink(conversion, str(kind), config)
        if sink is None:
            conversion.skip(f"alerting provider {kind!r}", "no sink here or in Apprise takes its settings")
            continue
        conversion.alerts.append(sink)
        names[str(kind)] = sink["name"]
    return names


def _sink(conversion: Conversion, kind: str, config: dict[str, Any]) -> dict[str, Any] | None:
    name = f"gatus-{kind}"

    def secret(value: Any) -> str:
        return _secret(conversion, f"{name}_url", value)

    if kind == "slack" and config.get("webhook-url"):
        return {"type": "slack", "name": name, "webhook_url": secret(config["webhook-url"])}
    if kind == "custom" and config.get("url"):
        sink = {"type": "webhook", "name": name, "url": secret(config["url"])}
        if config.get("body"):
            conversion.note(
                f"alerting provider {kind!r}", "its body template is not kept: our webhook sends its own JSON"
            )
        return sink
    if kind == "pagerduty" and config.get("integration-key"):
        return {"type": "pagerduty", "name": name, "routing_key": secret(config["integration-key"])}
    if kind == "email" and config.get("host") and config.get("to"):
        user = config.get("username") or config.get("from") or ""
        login = f"{user}:{config.get('password') or ''}@" if config.get("password") else ""
        url = f"smtp://{login}{config['host']}:{config.get('port') or 587}"
        return {
            "type": "email",
            "name": name,
            "url": secret(url),
            "sender": str(config.get("from") or user),
            "to": [a.strip() for a in str(config["to"]).split(",") if a.strip()],
        }
    apprise = apprise_url(kind, config, APPRISE)
    return {"type": "apprise", "name": name, "urls": [secret(apprise)]} if apprise else None


# Gatus's alerting providers that Apprise sends, and where Gatus keeps each one's parts
APPRISE: dict[str, tuple[Builder, tuple[str, ...]]] = {
    "discord": (discord, ("webhook-url",)),
    "telegram": (telegram, ("token", "id")),
    "ntfy": (ntfy, ("url?", "topic")),
    "gotify": (gotify, ("server-url", "token")),
    "pushover": (pushover, ("user-key", "application-token")),
    "mattermost": (mattermost, ("webhook-url",)),
    "teams": (as_is, ("webhook-url",)),
    "teams-workflows": (as_is, ("webhook-url",)),
}
