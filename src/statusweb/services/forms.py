"""Form reading for the admin: every field checked, every problem named, nothing saved
unless all of it is right (the view re-renders the form with the errors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from statuscore import has_control_characters
from statusweb.models import COMPONENT_STATUSES, IMPACTS, INCIDENT_STATUSES, MEMBER_ROLES
from statusweb.services.params import optional_id, storable
from statusweb.services.passwords import password_problem


@dataclass
class Form:
    """Submitted values (as typed, to refill the form), errors by field name, and the
    values already converted (`parsed`), so a view never reads a field twice."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    parsed: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def text(
        self,
        params: Mapping[str, str],
        name: str,
        *,
        required: bool = True,
        max_length: int = 200,
        one_line: bool = False,
    ) -> str:
        """`one_line`: a title, which becomes a mail subject: no line break or tab."""
        value = params.get(name, "").strip()
        self.values[name] = value.replace("\x00", "")
        if not storable(value):
            self.errors[name] = "This holds a character that cannot be stored (a NUL byte)."
        elif one_line and has_control_characters(value):
            self.errors[name] = "One line, please: no line breaks, tabs or other control characters."
        elif required and not value:
            self.errors[name] = "This is needed."
        elif len(value) > max_length:
            self.errors[name] = f"At most {max_length} characters."
        return value

    def choice(self, params: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
        value = params.get(name, "")
        self.values[name] = value
        if value not in choices:
            self.errors[name] = f"Choose one of: {', '.join(choices)}."
        return value

    def moment(self, params: Mapping[str, str], name: str) -> datetime | None:
        """An optional UTC date and time as a datetime-local input sends it."""
        value = params.get(name, "").strip()
        self.values[name] = value
        self.parsed[name] = None
        if not value:
            return None
        try:
            self.parsed[name] = datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            self.errors[name] = "Write a date and time like 2026-02-08T14:30 (UTC)."
        return self.parsed[name]


def read_incident(params: Mapping[str, str], service_ids: list[int], *, creating: bool) -> tuple[Form, dict[int, str]]:
    """The incident form; `affected` maps service id -> component status."""
    form = Form()
    form.text(params, "title", one_line=True)
    form.choice(params, "impact", IMPACTS)
    form.text(params, "root_cause", required=False, max_length=5000)
    if creating:
        form.choice(params, "status", INCIDENT_STATUSES)
        form.text(params, "body", max_length=10_000)
        form.moment(params, "eta")
    affected = {}
    for service_id in service_ids:
        key = f"service-{service_id}"
        value = params.get(key, "")
        form.values[key] = value
        if value and value not in COMPONENT_STATUSES:
            form.errors[key] = "Unknown component status."
        elif value:
            affected[service_id] = value
    return form, affected


def read_update(params: Mapping[str, str]) -> Form:
    form = Form()
    form.choice(params, "status", INCIDENT_STATUSES)
    form.text(params, "body", max_length=10_000)
    form.moment(params, "eta")
    form.text(params, "root_cause", required=False, max_length=5000)
    return form


def read_user(params: Mapping[str, str], organizations: tuple[str, ...]) -> Form:
    """A new person: name, role in one of `organizations` (slugs), password twice."""
    form = Form()
    form.text(params, "name", max_length=100)
    form.choice(params, "role", MEMBER_ROLES)
    form.choice(params, "organization", organizations)
    _new_password(form, params, form.values["name"])
    return form


def read_invitation(params: Mapping[str, str], organizations: tuple[str, ...]) -> Form:
    """Whom to invite (an optional email address, for the owner's records), as what, where."""
    form = Form()
    form.choice(params, "role", MEMBER_ROLES)
    form.choice(params, "organization", organizations)
    form.text(params, "email", required=False, max_length=254)
    return form


def read_new_password(params: Mapping[str, str], name: str) -> Form:
    form = Form()
    _new_password(form, params, name)
    return form


def _new_password(form: Form, params: Mapping[str, str], name: str) -> None:
    """At least 12 characters, not a common password, typed the same twice."""
    password = params.get("password", "")
    problem = password_problem(password, name)
    if problem:
        form.errors["password"] = problem
    elif password != params.get("password_again", ""):
        form.errors["password_again"] = "The two passwords differ."


REPEATS = ("none", "daily", "weekly", "monthly", "custom")
_REPEAT_RULES = {"daily": "FREQ=DAILY", "weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY"}


def read_maintenance(params: Any, service_ids: list[int]) -> Form:
    """The maintenance form; `parsed["plan"]` is a checked WindowPlan when `ok`."""
    from statusweb.services.maintenance import MaintenanceError, WindowPlan

    form = Form()
    title = form.text(params, "title", one_line=True)
    description = form.text(params, "description", required=False, max_length=10_000)
    starts = form.moment(params, "starts_at")
    ends = form.moment(params, "ends_at")
    for name, value in (("starts_at", starts), ("ends_at", ends)):
        if value is None and name not in form.errors:
            form.errors[name] = "This is needed."
    repeat = form.choice(params, "repeat", REPEATS) if params.get("repeat") else "none"
    form.values.setdefault("repeat", repeat)
    rule = (
        form.text(params, "rrule", required=repeat == "custom", max_length=500)
        if repeat == "custom"
        else _REPEAT_RULES.get(repeat, "")
    )
    chosen = []
    for raw in params.getall("service") if hasattr(params, "getall") else []:
        number = optional_id(raw)
        if number is None or number not in service_ids:
            form.errors["service"] = "Unknown service."
            continue
        chosen.append(number)
    form.values["service"] = [str(number) for number in chosen]
    if form.ok and starts and ends:
        try:
            form.parsed["plan"] = WindowPlan(
                title=title,
                description=description,
                starts_at=starts,
                ends_at=ends,
                service_ids=tuple(sorted(set(chosen))),
                rrule=rule,
            )
        except MaintenanceError as exc:
            form.errors["rrule" if "recurrence" in str(exc) else "ends_at"] = str(exc)
    return form
