"""`POST /api/v1/slack/command`: the incident and maintenance calls of /api/v1, as a Slack
slash command sends them (`/status open major +linker Linker is down -- Looking into it`).

Slack cannot send a bearer token, so the request is proved by Slack's own signature:
`X-Slack-Signature: v0=<HMAC-SHA256 of "v0:<timestamp>:<body>" with the app's signing
secret>` (STATUSWEB_SLACK_SIGNING_SECRET), with `X-Slack-Request-Timestamp` within five
minutes (a replayed request is refused). The command acts on one status page
(STATUSWEB_SLACK_PAGE, a page's slug, default the main page) and nothing of another
organization's, from the workspace STATUSWEB_SLACK_TEAM when set; each change is in the
audit log as "slack <user name>". Changes are answered in
the channel; help and mistakes only to the person who typed them."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from statuscore import parse_duration, utcnow
from statusweb.api.manage import ApiRefusal, services_named
from statusweb.models import IMPACTS, INCIDENT_STATUSES, Incident, IncidentNotEditable, Maintenance
from statusweb.pages.queries import organization_of_rows, rows_page_id, scope_to_organizations
from statusweb.services import incidents
from statusweb.services.audit import TOKEN_ACTOR
from statusweb.services.maintenance import (
    MaintenanceError,
    WindowPlan,
    advance_windows,
    create_window,
    end_now,
    same_page,
)
from statusweb.views.admin_pages import audit_on_page

MAX_AGE = 300  # seconds a signed request stays good
COMPONENT_FOR_IMPACT = {
    "none": "operational",
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
}
USAGE = """Usage:
/status list
/status open [minor|major|critical] [+service ...] <title> [-- <first update>]
/status update <incident id> <investigating|identified|monitoring|resolved> <message>
/status resolve <incident id> [message]
/status maintenance <duration, e.g. 30m> [+service ...] <title>
/status end <maintenance id>"""


class CommandError(Exception):
    """A mistake in the command: said to its author only."""


def signed_by_slack(request: Request, secret: str, now: float | None = None) -> bool:
    """Whether Slack signed this very body within the last five minutes."""
    stamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not secret or not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return False
    if abs((now if now is not None else time.time()) - int(stamp)) > MAX_AGE:
        return False
    base = b"v0:" + stamp.encode() + b":" + request.body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _reply(text: str, *, in_channel: bool = False) -> dict[str, Any]:
    return {"response_type": "in_channel" if in_channel else "ephemeral", "text": text[:3000]}


@view_config(route_name="api_v1_slack", request_method="POST", renderer="json", require_csrf=False)
def slash_command(request: Request) -> dict[str, Any]:
    settings = request.settings
    if not signed_by_slack(request, settings.slack_signing_secret):
        raise ApiRefusal(
            401, "not signed by Slack (X-Slack-Signature with the app's signing secret, a fresh timestamp)"
        )
    try:
        form = {key: request.POST.get(key, "") for key in ("text", "user_name", "team_id", "command")}
    except (UnicodeDecodeError, ValueError):
        raise ApiRefusal(400, "the body is not a Slack form") from None
    if settings.slack_team and form["team_id"] != settings.slack_team:
        raise ApiRefusal(403, "this workspace may not change this status page")
    slug = settings.slack_page
    try:
        page_id = rows_page_id(request.dbsession, slug)
    except LookupError:
        return _reply(f"There is no page {slug!r} here; check STATUSWEB_SLACK_PAGE.")
    organization = organization_of_rows(request.dbsession, page_id)
    if organization is None:
        return _reply("This page belongs to no organization yet; run statusweb-admin bootstrap first.")
    scope_to_organizations(request.dbsession, {organization})
    user = "".join(c for c in form["user_name"] if c.isprintable())[:60] or "someone"
    request.environ[TOKEN_ACTOR] = f"slack {user}"
    try:
        return _run(Command(request, page_id, f"slack {user}"), form["text"].strip())
    except (CommandError, ApiRefusal) as exc:
        return _reply(f"{getattr(exc, 'message', exc)}\n\n{USAGE}")


@dataclass(frozen=True)
class Command:
    """Who typed it, and the page it acts on."""

    request: Request
    page_id: int | None
    author: str


def _run(command: Command, text: str) -> dict[str, Any]:
    verb, _, rest = text.partition(" ")
    verb = verb.lower()
    if verb in ("", "help"):
        return _reply(USAGE)
    if verb == "list":
        return _reply(_listing(command))
    if verb == "open":
        return _open(command, rest)
    if verb in ("update", "resolve"):
        return _update(command, verb, rest)
    if verb == "maintenance":
        return _maintenance(command, rest)
    if verb == "end":
        return _end(command, rest)
    raise CommandError(f"I do not know {verb[:40]!r}.")


def _listing(command: Command) -> str:
    session = command.request.dbsession
    open_ones = session.scalars(
        select(Incident)
        .where(Incident.deleted.is_(False), Incident.status != "resolved", same_page(Incident, command.page_id))
        .order_by(Incident.id.desc())
        .limit(20)
    ).all()
    windows = session.scalars(
        select(Maintenance)
        .where(
            Maintenance.rrule == "",
            Maintenance.status.in_(("scheduled", "in_progress", "verifying")),
            same_page(Maintenance, command.page_id),
        )
        .order_by(Maintenance.starts_at)
        .limit(20)
    ).all()
    lines = [f"#{i.id} {i.title} ({i.impact}, {i.status})" for i in open_ones] or ["No open incidents."]
    lines += [f"maintenance #{w.id} {w.title} ({w.status.replace('_', ' ')})" for w in windows]
    return "\n".join(lines)


def _affected(command: Command, words: list[str]) -> tuple[dict[str, int], list[str]]:
    """The `+slug` words as services of the page, and the other words."""
    slugs = [word[1:] for word in words if word.startswith("+") and len(word) > 1]
    rest = [word for word in words if not (word.startswith("+") and len(word) > 1)]
    return (services_named(command.request, command.page_id, slugs, "+service") if slugs else {}), rest


def _open(command: Command, rest: str) -> dict[str, Any]:
    request = command.request
    head, _, message = rest.partition(" -- ")
    words = head.split()
    impact = words.pop(0).lower() if words and words[0].lower() in IMPACTS else "minor"
    services, title_words = _affected(command, words)
    title = " ".join(title_words)
    if not title or len(title) > 200:
        raise CommandError("An incident needs a title (at most 200 characters).")
    incident = incidents.create(
        request.dbsession,
        page_id=command.page_id,
        title=title,
        impact=impact,
        components={sid: COMPONENT_FOR_IMPACT[impact] for sid in services.values()},
        status="investigating",
        body=message.strip()[:10_000] or "We are investigating.",
        author=command.author,
    )
    audit_on_page(request, command.page_id, "incident.create", f"#{incident.id} {incident.title}")
    return _reply(f"Opened incident #{incident.id}: {title} ({impact}). {_link(request, incident.id)}", in_channel=True)


def _number(word: str, what: str) -> int:
    number = word.strip().lstrip("#")
    if not number.isascii() or not number.isdigit() or len(number) > 9:
        raise CommandError(f"{word[:20]!r} is not {what} number.")
    return int(number)


def _incident(command: Command, word: str) -> Incident:
    number = _number(word, "an incident")
    found = command.request.dbsession.scalars(
        select(Incident)
        .where(Incident.id == number, Incident.deleted.is_(False), same_page(Incident, command.page_id))
        .options(selectinload(Incident.updates), selectinload(Incident.affected))
    ).first()
    if found is None:
        raise CommandError(f"There is no incident #{number}.")
    return found


def _update(command: Command, verb: str, rest: str) -> dict[str, Any]:
    request = command.request
    words = rest.split(" ", 2 if verb == "update" else 1)
    incident = _incident(command, words[0] if words and words[0] else "?")
    if verb == "resolve":
        status, message = "resolved", (words[1] if len(words) > 1 else "") or "This incident has been resolved."
    else:
        status = words[1].lower() if len(words) > 1 else ""
        message = words[2] if len(words) > 2 else ""
        if status not in INCIDENT_STATUSES or not message.strip():
            raise CommandError("An update needs a status and a message.")
    try:
        incidents.post_update(incident, status=status, body=message.strip()[:10_000], author=command.author)
    except IncidentNotEditable as exc:
        raise CommandError(str(exc)) from None
    audit_on_page(request, incident.page_id, "incident.update", f"#{incident.id} {incident.title}: {status}")
    return _reply(f"Incident #{incident.id} {incident.title}: {status}. {_link(request, incident.id)}", in_channel=True)


def _maintenance(command: Command, rest: str) -> dict[str, Any]:
    request, author = command.request, command.author
    words = rest.split()
    try:
        seconds = parse_duration(words.pop(0)) if words else 0.0
    except ValueError:
        seconds = 0.0
    if not 60 <= seconds <= 7 * 86400:
        raise CommandError("Maintenance needs a duration first, from 1m to 7d (e.g. 30m, 2h).")
    services, title_words = _affected(command, words)
    now = utcnow()
    try:
        plan = WindowPlan(
            title=" ".join(title_words)[:200],
            starts_at=now,
            ends_at=now + timedelta(seconds=seconds),
            page_id=command.page_id,
            service_ids=tuple(sorted(services.values())),
        )
        window = create_window(request.dbsession, plan, now=now, author=author)
    except MaintenanceError as exc:
        raise CommandError(str(exc)) from None
    advance_windows(request.dbsession, now, author=author)
    audit_on_page(request, command.page_id, "maintenance.create", f"#{window.id} {window.title}")
    ends = window.ends_at.strftime("%H:%M UTC")
    return _reply(f"Maintenance #{window.id} {window.title}: under way until {ends}.", in_channel=True)


def _end(command: Command, rest: str) -> dict[str, Any]:
    request, author = command.request, command.author
    number = _number(rest, "a maintenance")
    window = request.dbsession.scalars(
        select(Maintenance)
        .where(Maintenance.id == number, same_page(Maintenance, command.page_id))
        .options(selectinload(Maintenance.affected), selectinload(Maintenance.updates))
    ).first()
    if window is None:
        raise CommandError(f"There is no maintenance #{number}.")
    if not window.is_open or window.is_series or window.status == "verifying":
        raise CommandError(f"Maintenance #{window.id} is {window.status.replace('_', ' ')}.")
    now = utcnow()
    end_now(window, now=now, author=author)
    advance_windows(request.dbsession, now, author=author)
    audit_on_page(request, window.page_id, "maintenance.end", f"#{window.id} {window.title}")
    return _reply(f"Maintenance #{window.id} {window.title} ended; checking that all is well.", in_channel=True)


def _link(request: Request, incident_id: int) -> str:
    return request.route_url("incident", id=incident_id)
