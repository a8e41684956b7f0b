"""Apprise sink: one [[alert]] reaches every service Apprise speaks (Discord, Telegram,
Microsoft Teams, Mattermost, ntfy, Pushover, Matrix, SMS gateways, plain JSON...).

    [[alert]]
    name = "chat"
    type = "apprise"
    urls = ["${DISCORD_URL}", "${NTFY_URL}"]   # Apprise URLs, secrets: from the environment
    allow_private = false                      # true: URLs may name hosts of this network

Apprise is synchronous: each URL is sent in a small pool of threads of its own (never on
the event loop), under the sink's `timeout`. Each URL is told once per alert: when one
fails, the retry goes only to the URLs that have not answered yet (while this process
lives). A URL whose service is a host you name (json://, ntfy://host, mmost://...) must
resolve to public addresses, the rule subscribers' webhooks follow, unless
`allow_private = true`. URLs are secrets: no message, log line or repr shows one; an
error names its place in `urls` and its scheme.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..addresses import has_control_characters, is_public_address, private_host_reason
from ..errors import FieldError
from ..hookspecs import hookimpl
from ..model import Alert, Transition, TransitionKind
from ..redact import redact_urls
from ..schema import Duration
from .base import AlertSink, Delivery, group_title
from .fields import alert_fields, alert_title
from .templates import KEYS

POOL_SIZE = 4  # threads sending for every Apprise sink of this process together
REMEMBERED = 1000  # alerts whose half-done delivery is remembered for its retry
_pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="apprise")
_NEWS_TYPES = {
    TransitionKind.RECOVERED: "success",
    TransitionKind.IMPROVED: "success",
    TransitionKind.REGION_BACK: "success",
    TransitionKind.DEGRADED: "warning",
    TransitionKind.MAINTENANCE: "info",
    TransitionKind.MAINTENANCE_ENDED: "info",
}


@dataclass(frozen=True, kw_only=True)
class AppriseConfig:
    urls: tuple[str, ...]
    allow_private: bool = False
    timeout: Duration = 15.0

    def __post_init__(self) -> None:
        if not self.urls:
            raise FieldError("urls", 'expected a list of Apprise URLs, e.g. ["${DISCORD_URL}"]')
        for index, url in enumerate(self.urls):
            target = notify_target(f"urls[{index}]", url)
            if target and not self.allow_private and _plainly_private(target):
                raise FieldError(
                    f"urls[{index}]",
                    f"{scheme_of(url)}:// names a host of a private network; "
                    "alerts go to public addresses (set allow_private = true if this is meant)",
                )

    def __repr__(self) -> str:  # the URLs hold tokens
        return f"AppriseConfig(urls=<{len(self.urls)} hidden>)"


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "?"


def notify_target(key: str, url: str) -> str:
    """The host an Apprise URL sends to when it is one you name (json://host/path,
    ntfy://host/topic, mmost://host/token), or "" for a service's own fixed address
    (discord://, tgram://); FieldError for a URL Apprise does not understand."""
    import apprise

    if has_control_characters(url):
        raise FieldError(key, "an Apprise URL may not hold a control character (a line break, a tab)")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise FieldError(
            key,
            f"Apprise does not understand this {scheme_of(url)}:// URL "
            "(see https://github.com/caronc/apprise/wiki for each service's form)",
        )
    return named_host(plugin)


def named_host(plugin: Any) -> str:
    """The host an instantiated Apprise plugin sends to when its URL forms name one
    ({host} in Apprise's own templates), else ""."""
    names_host = any("{host}" in template for template in getattr(plugin, "templates", ()))
    return str(plugin.host or "") if names_host else ""


def _plainly_private(host: str) -> bool:
    """What is private without asking DNS: a private address, or localhost."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not is_public_address(host)
    except ValueError:  # a name: resolved at each send
        return False


def render_apprise_message(
    transition: Transition, *, status_page_url: str = "", title: str | None = None, body: str | None = None
) -> dict[str, Any]:
    """Title, body and Apprise's notification type; pure, so it is tested on its own."""
    if body is None:
        lines = [f"{name}: {value}" for name, value in alert_fields(transition)]
        if status_page_url:
            lines.append(f"Status page: {status_page_url}")
        body = "\n".join(lines)
    return {
        "title": title if title is not None else alert_title(transition),
        "body": body,
        "type": news_type(transition),
    }


def news_type(transition: Transition) -> str:
    """Apprise's notify type (its colour and icon): failure, success, warning or info."""
    if transition.kind is TransitionKind.SETTLED:
        return "failure" if transition.current.is_failure else "success"
    return _NEWS_TYPES.get(transition.kind, "failure")


class AppriseSink(AlertSink[AppriseConfig]):
    name = "apprise"
    label = "Apprise"
    Config = AppriseConfig
    template_keys = KEYS

    def __init__(self, config: AppriseConfig, *, instance_name: str, status_page_url: str = "") -> None:
        super().__init__(config, instance_name=instance_name, status_page_url=status_page_url)
        self._told: OrderedDict[str, set[int]] = OrderedDict()  # alert id -> URLs that have it

    def render(self, transition: Transition) -> dict[str, Any]:
        return render_apprise_message(transition, status_page_url=self.status_page_url)

    def render_templated(self, transition: Transition, title: str | None, body: str | None) -> dict[str, Any]:
        return render_apprise_message(transition, status_page_url=self.status_page_url, title=title, body=body)

    def mark_late(self, payload: Mapping[str, Any], note: str, late_by: float) -> Mapping[str, Any]:
        return {**payload, "body": f"{payload.get('body', '')}\n\n⌛ {note}"}

    def add_note(self, payload: Mapping[str, Any], note: str) -> Mapping[str, Any]:
        return {**payload, "body": f"{payload.get('body', '')}\n\n⚠️ {note}"}

    def group(self, alerts: Sequence[Alert], already_told: Sequence[str]) -> Mapping[str, Any]:
        lines = [f"• {alert.payload.get('title', alert.monitor)}" for alert in alerts]
        if already_told:
            lines.append(f"• already reported: {', '.join(already_told)}")
        lines.append("Several services failing together: look for a shared dependency first.")
        title = f"🔴  {group_title(alerts, already_told, self.grouping.group_window)}"
        return {"title": title, "body": "\n".join(lines), "type": "failure"}

    async def deliver(self, payload: Mapping[str, Any], session: aiohttp.ClientSession) -> Delivery:
        return await self.send(payload, session, idempotency_key="")

    async def send(
        self, payload: Mapping[str, Any], session: aiohttp.ClientSession, *, idempotency_key: str
    ) -> Delivery:
        """Every URL not yet told of this alert, one after the other; ok when all have it."""
        told = self._told.pop(idempotency_key, set()) if idempotency_key else set()
        errors = []
        for index, url in enumerate(self.config.urls):
            if index in told:
                continue
            error = await self._send_one(url, payload)
            if error is None:
                told.add(index)
            else:
                errors.append(f"urls[{index}] ({scheme_of(url)}): {error}")
        if not errors:
            return Delivery(ok=True)
        if idempotency_key and told:
            self._told[idempotency_key] = told
            while len(self._told) > REMEMBERED:
                self._told.popitem(last=False)
        return Delivery(ok=False, error="; ".join(errors)[:300])

    async def _send_one(self, url: str, payload: Mapping[str, Any]) -> str | None:
        timeout = self.config.timeout
        job = _pool.submit(notify_one, url, payload, timeout, self.config.allow_private)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job), timeout + 1.0)
        except TimeoutError:
            return f"no answer within {timeout:g} s"


def notify_one(url: str, payload: Mapping[str, Any], timeout: float, allow_private: bool) -> str | None:
    """Send `payload` to one Apprise URL (in a pool thread): None, or what went wrong in
    Apprise's words, with any URL in them cut down to its host."""
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return "Apprise no longer understands this URL"
    host = named_host(plugin)
    if host and not allow_private:
        reason = private_host_reason(host.strip("[]"), int(plugin.port or 443))
        if reason:
            return f"{reason}; alerts go to public addresses (allow_private = true if this is meant)"
    plugin.socket_connect_timeout = min(plugin.socket_connect_timeout or timeout, timeout)
    plugin.socket_read_timeout = min(plugin.socket_read_timeout or timeout, timeout)
    with _captured_warnings() as said:
        try:
            ok = plugin.notify(
                title=str(payload.get("title", "")),
                body=str(payload.get("body", "")) or " ",
                notify_type=str(payload.get("type", "info")),
            )
        except Exception as exc:  # a plugin's own bug must not end the notifier
            return redact_urls(f"{type(exc).__name__}: {exc}")[:200]
    if ok:
        return None
    return redact_urls(" ".join(said)[:200]) or "Apprise reported a failure"


class _ThreadWarnings(logging.Handler):
    """Apprise's warnings, kept per sending thread: they are its only account of a
    failure. Apprise's logger tells nobody else (its debug lines may quote a URL)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        said = getattr(self.local, "said", None)
        if said is not None:
            said.append(record.getMessage())


_warnings = _ThreadWarnings()
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(_warnings)
_apprise_log.setLevel(logging.WARNING)
_apprise_log.propagate = False
# requests' pool logs each request's path at DEBUG, and an Apprise URL's path is its token
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)


@contextmanager
def _captured_warnings() -> Iterator[list[str]]:
    said: list[str] = []
    _warnings.local.said = said
    try:
        yield said
    finally:
        _warnings.local.said = None


@hookimpl
def statuscore_alert_sinks() -> list[type[AlertSink[Any]]]:
    return [AppriseSink]
