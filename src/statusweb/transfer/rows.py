"""One record of our file into the database, per section: references by slug resolved
to this database's ids, a row that is there already recognised (and kept as it is), and
every value checked before anything is added, so a bad record is skipped whole."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from statuscore import utcnow
from statusweb.models import (
    COMPONENT_STATUSES,
    DEFAULT_SLUG,
    IMPACTS,
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    MEMBER_ROLES,
    POSTMORTEM,
    ROLES,
    SUBSCRIBER_KINDS,
    AffectedService,
    ApiToken,
    AuditEvent,
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    Maintenance,
    MaintenanceService,
    MaintenanceUpdate,
    Membership,
    Organization,
    Page,
    RecoveryCode,
    Service,
    ServiceGroup,
    Subscriber,
    User,
)
from statusweb.services.organizations import organization_named
from statusweb.transfer.shape import (
    INCIDENT_UPDATE_FIELDS,
    MAINTENANCE_UPDATE_FIELDS,
    RecordError,
    load_row,
    load_value,
    section,
)

NO_PASSWORD = "!"  # matches no password: the user sets one (statusweb-admin set-password)


@dataclass
class Context:
    """What an import has learnt so far: this database's ids for the file's names, and
    what it added and kept per section."""

    with_secrets: bool
    empty: bool = False  # the database had no users, services or incidents when the import began
    session: Session | None = None
    organizations: dict[str, int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)
    windows: dict[int, int] = field(default_factory=dict)  # maintenance ref -> id
    series: list[tuple[int, int]] = field(default_factory=list)  # (window id, its series' ref)
    rollups: dict[tuple[str, int], set[datetime]] = field(default_factory=dict)
    passwordless: list[str] = field(default_factory=list)
    dropped_domains: list[str] = field(default_factory=list)
    made: dict[str, set[int]] = field(default_factory=dict)  # ids this import added, per section
    seen: Counter[tuple[Any, ...]] = field(default_factory=Counter)  # records per section and key so far
    pending: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)  # rollup rows for one INSERT
    added: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    read: int = 0

    def attach(self, session: Session) -> None:
        self.session = session

    def see_if_empty(self) -> None:
        self.empty = not any(self.db.scalar(select(model.id).limit(1)) for model in (User, Service, Incident))

    def flush(self) -> None:
        """Insert the batch's rollup rows, many to a statement."""
        for model, rows in self.pending.items():
            if rows:
                self.db.connection().execute(insert(model.__table__), rows)  # Core: no ORM bookkeeping
        self.pending = {}

    @property
    def db(self) -> Session:
        assert self.session is not None
        return self.session

    def find(self, kind: str, names: dict[str, int], model: Any, slug: Any, key: str) -> int:
        """The id of `slug` of `kind`, from the file's earlier records or the database."""
        if not isinstance(slug, str):
            raise RecordError(f"{slug!r} is not a {kind}'s slug", key)
        if slug not in names:
            found = self.db.scalar(select(model.id).where(model.slug == slug))
            if found is None:
                raise RecordError(f"no {kind} {slug[:60]!r} in the file or the database", key)
            names[slug] = found
        return names[slug]

    def page(self, record: dict[str, Any]) -> int | None:
        slug = record.get("page")
        return None if slug is None else self.find("page", self.pages, Page, slug, "page")

    def organization(self, record: dict[str, Any], *, optional: bool = False) -> int | None:
        slug = record.get("organization")
        if slug is None and optional:
            return None
        if slug == DEFAULT_SLUG and slug not in self.organizations:  # every install has one; make it if missing
            self.organizations[slug] = organization_named(self.db, slug, utcnow()).id
        return self.find("organization", self.organizations, Organization, slug, "organization")

    def service(self, slug: Any, key: str) -> int:
        return self.find("service", self.services, Service, slug, key)


def _choice(row: dict[str, Any], key: str, allowed: tuple[str, ...]) -> None:
    if row[key] not in allowed:
        raise RecordError(f"{row[key]!r} is not one of {', '.join(allowed)}", key)


def _list(record: dict[str, Any], key: str) -> list[Any]:
    value = record.get(key, [])
    if not isinstance(value, list):
        raise RecordError("must be a list", key)
    return value


def _dict(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError("must be a JSON object", key)
    return value


def _keep_or_add(context: Context, name: str, existing: Any, make: Callable[[], Any]) -> Any:
    """The row the database has, or a new one: counted either way."""
    if existing is not None:
        context.kept[name] += 1
        return existing
    row = make()
    context.db.add(row)
    context.db.flush()
    context.added[name] += 1
    context.made.setdefault(name, set()).add(row.id)
    return row


def _match(context: Context, name: str, model: Any, row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The database's row a record stands for, by the columns that name it. Rows alike in
    all of them (two windows of one title, start and moment) are told apart by order:
    the file's n-th such record is the n-th such row the database had before the import."""
    values = tuple(row[key] for key in keys)
    conditions = [getattr(model, k).is_(None) if v is None else getattr(model, k) == v for k, v in zip(keys, values)]
    made = context.made.get(name, set())
    rows = [r for r in context.db.scalars(select(model).where(*conditions).order_by(model.id)) if r.id not in made]
    seen = context.seen[(name, values)]
    context.seen[(name, values)] += 1
    return rows[seen] if seen < len(rows) else None


# -- sections --------------------------------------------------------------------------


def _settle_default(context: Context, name: str, found: Any, row: dict[str, Any]) -> Any:
    """The default organization and page of an empty database are the schema's
    placeholders: the file's take their place. Anywhere else, the database's row stays."""
    if found is None or not context.empty or row["slug"] != DEFAULT_SLUG:
        return found
    for key, value in row.items():
        setattr(found, key, value)
    context.added[name] += 1
    return None


def _organizations(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("organizations"), record, with_secrets=False)
    found = context.db.scalar(select(Organization).where(Organization.slug == row["slug"]))
    if _settle_default(context, "organizations", found, row) is None and found is not None:
        context.organizations[found.slug] = found.id
        return
    organization = _keep_or_add(context, "organizations", found, lambda: Organization(**row))
    context.organizations[organization.slug] = organization.id


def _users(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("users"), record, with_secrets=context.with_secrets)
    _choice(row, "role", ROLES)
    memberships = []
    for item in _list(record, "memberships"):
        item = _dict(item, "memberships")
        member = {key: load_value(Membership.__table__.columns[key], item) for key in ("role", "created_at")}
        _choice(member, "role", MEMBER_ROLES)
        memberships.append((context.organization(item), member))
    codes = [_recovery_code(c) for c in _list(record, "recovery_codes")] if context.with_secrets else []
    found = context.db.scalar(select(User).where(User.name == row["name"]))
    if found is not None:
        context.kept["users"] += 1
        return
    for key in ("email", "oidc_subject"):
        if row[key] and context.db.scalar(select(User.name).where(getattr(User, key) == row[key])):
            raise RecordError(f"another user has {row[key][:80]!r} already", key)
    if not row.get("password_hash"):
        row["password_hash"] = NO_PASSWORD
        context.passwordless.append(row["name"])
    user = _keep_or_add(context, "users", None, lambda: User(**row))
    for organization_id, member in memberships:
        context.db.add(Membership(user_id=user.id, organization_id=organization_id, **member))
    for code in codes:
        context.db.add(RecoveryCode(user_id=user.id, **code))


def _recovery_code(item: Any) -> dict[str, Any]:
    columns = RecoveryCode.__table__.columns
    return {
        key: load_value(columns[key], _dict(item, "recovery_codes")) for key in ("code_hash", "created_at", "used_at")
    }


def _pages(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("pages"), record, with_secrets=context.with_secrets)
    row["organization_id"] = context.organization(record)
    found = context.db.scalar(select(Page).where(Page.slug == row["slug"]))
    if _settle_default(context, "pages", found, row) is None and found is not None:
        context.pages[found.slug] = found.id
        return
    if found is None and row["domain"]:
        if context.db.scalar(select(Page.slug).where(Page.domain == row["domain"])) is not None:
            context.dropped_domains.append(f"{row['slug']} ({row['domain']})")
            row.update(domain=None, domain_verified_at=None, domain_verified_by="", domain_token=None)
    page = _keep_or_add(context, "pages", found, lambda: Page(**row))
    context.pages[page.slug] = page.id


def _service_groups(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("service_groups"), record, with_secrets=False)
    found = context.db.scalar(select(ServiceGroup).where(ServiceGroup.name == row["name"]))
    _keep_or_add(context, "service_groups", found, lambda: ServiceGroup(**row))


def _services(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("services"), record, with_secrets=context.with_secrets)
    row["page_id"] = context.page(record)
    found = context.db.scalar(select(Service).where(Service.slug == row["slug"]))
    service = _keep_or_add(context, "services", found, lambda: Service(**row))
    context.services[service.slug] = service.id


def _incident_templates(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("incident_templates"), record, with_secrets=False)
    _choice(row, "impact", IMPACTS)
    try:
        _dict(json.loads(row["components"]), "components")
    except ValueError:
        raise RecordError("is not a JSON object of service slugs", "components") from None
    row["organization_id"] = context.organization(record)
    found = context.db.scalar(
        select(IncidentTemplate).where(
            IncidentTemplate.organization_id == row["organization_id"], IncidentTemplate.name == row["name"]
        )
    )
    _keep_or_add(context, "incident_templates", found, lambda: IncidentTemplate(**row))


def _updates(record: dict[str, Any], model: Any, fields: tuple[str, ...], allowed: tuple[str, ...]) -> list[Any]:
    """The record's updates, each checked, as rows marked imported (no subscriber is told)."""
    rows = []
    for item in _list(record, "updates"):
        item = _dict(item, "updates")
        values = {key: load_value(model.__table__.columns[key], item) for key in fields}
        _choice(values, "status", allowed)
        rows.append(model(imported=True, **values))
    return rows


def _incidents(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("incidents"), record, with_secrets=False)
    _choice(row, "impact", IMPACTS)
    _choice(row, "status", INCIDENT_STATUSES)
    row["page_id"] = context.page(record)
    affected = []
    for slug, status in _dict(record.get("affected", {}), "affected").items():
        if status not in COMPONENT_STATUSES:
            raise RecordError(f"{status!r} is not one of {', '.join(COMPONENT_STATUSES)}", "affected")
        affected.append(AffectedService(service_id=context.service(slug, "affected"), component_status=status))
    updates = _updates(record, IncidentUpdate, INCIDENT_UPDATE_FIELDS, (*INCIDENT_STATUSES, POSTMORTEM))
    found = _match(context, "incidents", Incident, row, ("page_id", "created_at", "title"))
    _keep_or_add(context, "incidents", found, lambda: Incident(**row, affected=affected, updates=updates))


def _maintenance(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("maintenance"), record, with_secrets=False)
    _choice(row, "status", MAINTENANCE_STATUSES)
    ref, series = record.get("ref"), record.get("series")
    for key, value in (("ref", ref), ("series", series)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RecordError(f"{value!r} is not a window's number in this file", key)
    row["page_id"] = context.page(record)
    affected = [MaintenanceService(service_id=context.service(slug, "affected")) for slug in _list(record, "affected")]
    updates = _updates(record, MaintenanceUpdate, MAINTENANCE_UPDATE_FIELDS, MAINTENANCE_STATUSES)
    # a series and its first occurrence differ only by the rrule
    found = _match(context, "maintenance", Maintenance, row, ("page_id", "created_at", "starts_at", "title", "rrule"))
    window = _keep_or_add(context, "maintenance", found, lambda: Maintenance(**row, affected=affected, updates=updates))
    if ref is not None:
        context.windows[ref] = window.id
    if series is not None and found is None:
        context.series.append((window.id, series))


def _subscribers(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("subscribers"), record, with_secrets=False)
    _choice(row, "kind", SUBSCRIBER_KINDS)
    table = Subscriber.__table__.columns
    for key in ("confirm_token", "unsubscribe_token", "secret"):  # kept when the file has them
        row[key] = load_value(table[key], record) if record.get(key) else ""
    row["confirm_token"] = row["confirm_token"] or secrets.token_urlsafe(32)
    row["unsubscribe_token"] = row["unsubscribe_token"] or secrets.token_urlsafe(32)
    if row["kind"] == "webhook" and row["confirmed_at"] is not None and not row["secret"]:
        raise RecordError("a confirmed webhook subscriber needs its signing secret (export --with-secrets)", "secret")
    row["page_id"] = context.page(record)
    ids = sorted(context.service(slug, "components") for slug in _list(record, "components"))
    row["components"] = ",".join(str(i) for i in ids)
    found = context.db.scalar(
        select(Subscriber).where(
            Subscriber.kind == row["kind"],
            Subscriber.address == row["address"],
            Subscriber.page_id.is_(None) if row["page_id"] is None else Subscriber.page_id == row["page_id"],
        )
    )
    _keep_or_add(context, "subscribers", found, lambda: Subscriber(**row))


def _api_tokens(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("api_tokens"), record, with_secrets=True)
    row["organization_id"] = context.organization(record)
    found = context.db.scalar(select(ApiToken).where(ApiToken.token_hash == row["token_hash"]))
    _keep_or_add(context, "api_tokens", found, lambda: ApiToken(**row))


def _audit_events(context: Context, record: dict[str, Any]) -> None:
    row = load_row(section("audit_events"), record, with_secrets=False)
    row["organization_id"] = context.organization(record, optional=True)
    found = _match(context, "audit_events", AuditEvent, row, ("organization_id", "at", "actor", "action", "subject"))
    _keep_or_add(context, "audit_events", found, lambda: AuditEvent(**row))


def _rollups(name: str) -> Callable[[Context, dict[str, Any]], None]:
    part = section(name)

    def handle(context: Context, record: dict[str, Any]) -> None:
        row = load_row(part, record, with_secrets=False)
        row["service_id"] = context.service(record.get("service"), "service")
        known = context.rollups.get((name, row["service_id"]))
        if known is None:
            buckets = select(part.model.bucket).where(part.model.service_id == row["service_id"])
            known = context.rollups[(name, row["service_id"])] = set(context.db.scalars(buckets))
        if row["bucket"] in known:
            context.kept[name] += 1
            return
        context.pending.setdefault(part.model, []).append(row)
        known.add(row["bucket"])
        context.added[name] += 1

    return handle


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], None]] = {
    "organizations": _organizations,
    "users": _users,
    "pages": _pages,
    "service_groups": _service_groups,
    "services": _services,
    "incident_templates": _incident_templates,
    "incidents": _incidents,
    "maintenance": _maintenance,
    "subscribers": _subscribers,
    "api_tokens": _api_tokens,
    "audit_events": _audit_events,
    "rollups_hourly": _rollups("rollups_hourly"),
    "rollups_daily": _rollups("rollups_daily"),
}


def finish(context: Context) -> list[str]:
    """Link each added occurrence to its series; say what the operator must do next."""
    for window_id, ref in context.series:
        series_id = context.windows.get(ref)
        window = context.db.get(Maintenance, window_id)
        if window is not None and series_id is not None:
            window.series_id = series_id
    notes = []
    if context.passwordless:
        names = ", ".join(context.passwordless[:10]) + (" ..." if len(context.passwordless) > 10 else "")
        notes.append(
            f"{len(context.passwordless)} users came without a password (the file has no secrets): {names}; "
            "give each one with statusweb-admin set-password CONFIG NAME, or let them sign in through OpenID Connect"
        )
    if context.dropped_domains:
        notes.append(
            "pages imported without their domain, which another page here has: " + ", ".join(context.dropped_domains)
        )
    return notes
