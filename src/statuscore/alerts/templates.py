"""Message templates: an [[alert]]'s `title_template` and `body_template`, in Jinja2's
sandbox, so a team words its own alerts without a plugin.

    [[alert]]
    type = "slack"
    title_template = "{{ icon }} {{ monitor }} is {{ status }}"
    body_template = "{{ reason or 'no reason given' }} (since {{ since }}) {{ page_url }}"

A template is compiled and tried on a sample of every kind of news when monitors.toml
loads: a syntax error, a field that does not exist or anything the sandbox refuses is a
config error naming the key then, never a lost alert at three in the morning. Without
templates a sink sends exactly the message it always did."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..durations import format_duration
from ..errors import FieldError
from ..model import CheckResult, Monitor, Status, Transition, TransitionKind
from ..redact import redact_urls
from .fields import alert_fields, alert_heading, alert_icon, format_time

#: The fields a template may use, and what each holds (the README's table).
TEMPLATE_FIELDS: Mapping[str, str] = {
    "monitor": "the monitor's name",
    "slug": "its slug (the page's and the API's id)",
    "kind": "the news: down, recovered, degraded, improved, reminder, flapping, settled, "
    "maintenance, maintenance_ended, sla_breach, sla_budget, region_lost, region_back",
    "status": "the status now: UP, DOWN, DEGRADED, MAINTENANCE, UNKNOWN",
    "previous": "the status before",
    "since": "when the previous status began, e.g. 2026-12-06 09:14:03 UTC",
    "at": "when this happened",
    "duration": "seconds the previous status lasted (a recovery: its downtime; a DOWN: how long it was up), or none",
    "duration_text": 'the same for a person, e.g. "~12 min", or ""',
    "reason": 'what the check said (the error), or ""',
    "status_code": "the HTTP status code, or none",
    "latency_ms": "the response time in milliseconds",
    "url": 'what the monitor checks (its URL, passwords and query left out), or ""',
    "regions": "the regions it is checked from (a list)",
    "page_url": 'the status page, or ""',
    "icon": "the emoji today's messages start with",
    "heading": 'today\'s heading, e.g. "Service Down"',
    "fields": "today's (name, value) pairs, e.g. [('Status', 'DOWN'), ('Since', ...)]",
}
KEYS = ("title_template", "body_template")
TITLE_LIMIT = 250
BODY_LIMIT = 4000


@dataclass(frozen=True)
class MessageTemplates:
    """The compiled templates of one sink (None: that part stays the sink's own)."""

    title: Any = None
    body: Any = None

    def render(self, context: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """(title, body); raises what a template raises (the caller keeps its default)."""
        title = _clip(" ".join(self.title.render(context).split()), TITLE_LIMIT) if self.title else None
        body = _clip(self.body.render(context).strip(), BODY_LIMIT) if self.body else None
        return title, body


def compile_templates(
    raw: Mapping[str, Any], *, accepted: tuple[str, ...], body_escape: Callable[[str], str] | None = None
) -> MessageTemplates | None:
    """`raw`'s title_template and body_template compiled and tried on every kind of news;
    FieldError names the key. `accepted`: the keys this sink uses; `body_escape`: applied
    to every field the body prints (Slack's &, < and >, so a hostile error text cannot
    write `<!channel>`; a title is plain text everywhere)."""
    given = {key: raw[key] for key in KEYS if key in raw}
    if not given:
        return None
    # Imported here: only a process whose monitors.toml has templates pays for Jinja2.
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    compiled: dict[str, Any] = {}
    for key, source in given.items():
        environment = SandboxedEnvironment(
            undefined=StrictUndefined,
            autoescape=False,
            finalize=_printer(body_escape if key == "body_template" else None),
        )
        if key not in accepted:
            raise FieldError(key, f"this sink does not use it (it takes {', '.join(accepted) or 'no templates'})")
        if not isinstance(source, str) or not source.strip():
            raise FieldError(key, "expected a template: a non-empty string")
        try:
            template = environment.from_string(source)
            for transition, monitor in _samples():
                template.render(template_context(transition, monitor, "https://status.example.org"))
        except TemplateError as exc:
            number = getattr(exc, "lineno", None)
            line = f" (line {number})" if number else ""
            hint = f"; {_FIELDS_HINT}" if "undefined" in str(exc.message) else ""
            raise FieldError(key, f"{type(exc).__name__}{line}: {exc.message}{hint}") from None
        except Exception as exc:  # a filter's error on the sample: TypeError, ZeroDivisionError...
            raise FieldError(key, f"fails on a sample alert: {type(exc).__name__}: {exc}") from None
        compiled[key.removesuffix("_template")] = template
    return MessageTemplates(**compiled)


_FIELDS_HINT = f"the fields are {', '.join(TEMPLATE_FIELDS)}"


def template_context(transition: Transition, monitor: Monitor | None, page_url: str) -> dict[str, Any]:
    """Every field of TEMPLATE_FIELDS for one transition."""
    result = transition.result
    return {
        "monitor": transition.monitor,
        "slug": transition.slug,
        "kind": transition.kind.value,
        "status": transition.current.value.upper(),
        "previous": transition.previous.value.upper(),
        "since": format_time(transition.since),
        "at": format_time(transition.at),
        "duration": transition.duration,
        "duration_text": f"~{format_duration(transition.duration)}" if transition.duration is not None else "",
        "reason": result.error or "",
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "url": monitor_target(monitor),
        "regions": list(monitor.regions) if monitor else [],
        "page_url": page_url,
        "icon": alert_icon(transition),
        "heading": alert_heading(transition),
        "fields": alert_fields(transition),
    }


def monitor_target(monitor: Monitor | None) -> str:
    """What the monitor checks, safe to show: a URL without its user, password, query or
    fragment; a host and port; or ""."""
    if monitor is None:
        return ""
    url = getattr(monitor.options, "url", None)
    if isinstance(url, str) and url:
        cut = url.split("#", 1)[0].split("?", 1)[0]
        scheme, _, rest = cut.partition("://")
        return f"{scheme}://{rest.rsplit('@', 1)[-1]}" if rest else redact_urls(cut)
    host = getattr(monitor.options, "host", None)
    port = getattr(monitor.options, "port", None)
    return f"{host}:{port}" if host and port else str(host or "")


def _printer(escape: Callable[[str], str] | None) -> Callable[[Any], str]:
    """How a template prints a field: None as "", escaped when the sink needs it."""

    def printed(value: Any) -> str:
        text = "" if value is None else str(value)
        return escape(text) if escape else text

    return printed


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _samples() -> list[tuple[Transition, Monitor | None]]:
    """One transition of each kind, with and without a monitor, a duration and an error,
    so a template that works on these works on whatever comes."""
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    monitor = Monitor(name="Sample", type="http", options=None, slug="sample", regions=("eu", "us"))
    samples: list[tuple[Transition, Monitor | None]] = []
    for number, kind in enumerate(TransitionKind):
        failed = number % 2 == 0
        result = CheckResult(
            monitor="Sample",
            slug="sample",
            status=Status.DOWN if failed else Status.UP,
            checked_at=at,
            latency=0.25,
            status_code=503 if failed else None,
            error="HTTP 503 Service Unavailable" if failed else None,
        )
        transition = Transition(
            monitor="Sample",
            slug="sample",
            kind=kind,
            previous=Status.UP if failed else Status.DOWN,
            current=result.status,
            at=at,
            since=at,
            duration=None if failed else 300.0,
            result=result,
        )
        samples.append((transition, monitor if failed else None))
    return samples
