"""`statusweb-admin export`: the database as our file (`shape.py`), every section in a
fixed order by id, references by slug or name instead of ids (they are remapped on
import), and secrets (password hashes, tokens, webhook subscribers) only when asked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from statusweb.migrations import current
from statusweb.models import (
    Incident,
    Maintenance,
    Membership,
    Organization,
    Page,
    RecoveryCode,
    Service,
    Subscriber,
    User,
)
from statusweb.transfer.shape import (
    INCIDENT_UPDATE_FIELDS,
    MAINTENANCE_UPDATE_FIELDS,
    SECTIONS,
    ExportWriter,
    Section,
    dump_row,
    dump_value,
)

Progress = Callable[[str, int, int], None]  # section, records written, records in all
BATCH = 1000  # rows read at a time, and how often progress is told


class Slugs(dict[int, str]):
    """Id -> slug of one table, read at the start; a row made while the export runs (on
    SQLite, which keeps no snapshot for reads) is looked up when first met."""

    def __init__(self, session: Session, model: Any) -> None:
        super().__init__({row[0]: row[1] for row in session.execute(select(model.id, model.slug))})
        self.session, self.model = session, model

    def __missing__(self, key: int) -> str:
        slug = self.find(key)
        if slug is None:
            raise LookupError(f"{self.model.__tablename__} {key} is referred to but gone")  # pragma: no cover - FKs
        return slug

    def find(self, key: int) -> str | None:
        """The slug of row `key`, None when there is no such row."""
        if key not in self:
            slug = self.session.scalar(select(self.model.slug).where(self.model.id == key))
            if slug is None:
                return None
            self[key] = str(slug)
        return self[key]


@dataclass
class Names:
    """Ids as the file names them: an organization, a page or a service by its slug."""

    organizations: Slugs
    pages: Slugs
    services: Slugs

    @classmethod
    def of(cls, session: Session) -> Names:
        return cls(Slugs(session, Organization), Slugs(session, Page), Slugs(session, Service))

    def page(self, page_id: int | None) -> str | None:
        return None if page_id is None else self.pages[page_id]


@dataclass
class ExportReport:
    written: dict[str, int] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


def export(session: Session, out: IO[str], *, with_secrets: bool, progress: Progress | None = None) -> ExportReport:
    """Write every section of the database to `out`, telling `progress` as it goes. On
    PostgreSQL it reads one snapshot, so a runner writing meanwhile never splits a row's
    story between two sections."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
    names = Names.of(session)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    writer = ExportWriter(out, {"schema": current(engine) or "", "with_secrets": with_secrets})
    report = ExportReport()
    for part in SECTIONS:
        total = _count(session, part, with_secrets)
        writer.begin(part.name)
        written = 0
        for record in _records(session, part, names, with_secrets):
            writer.record(record)
            written += 1
            if progress and written % BATCH == 0:
                progress(part.name, written, total)
        if progress:
            progress(part.name, written, total)
        report.written[part.name] = written
    writer.end()
    if not with_secrets:
        report.left_out = _left_out(session)
    return report


def _where(part: Section, with_secrets: bool) -> list[Any]:
    if part.model is Subscriber and not with_secrets:
        return [Subscriber.kind != "webhook"]  # a webhook is its URL and secret: secrets
    if part.name == "api_tokens" and not with_secrets:
        return [False]  # a token is nothing but its hash
    return []


def _count(session: Session, part: Section, with_secrets: bool) -> int:
    return session.scalar(select(func.count()).select_from(part.model).where(*_where(part, with_secrets))) or 0


def _rows(session: Session, part: Section, with_secrets: bool, *options: Any) -> Iterator[Any]:
    model = part.model
    query = select(model).where(*_where(part, with_secrets)).order_by(model.id).options(*options)
    yield from session.scalars(query.execution_options(yield_per=BATCH))


def _records(session: Session, part: Section, names: Names, with_secrets: bool) -> Iterator[dict[str, Any]]:
    fields = part.fields + (part.secrets if with_secrets else ())
    build = _EXTRA.get(part.name)
    if part.name == "users":
        yield from _users(session, part, names, with_secrets)
        return
    if part.name == "maintenance":
        yield from _maintenance(session, part, names, with_secrets)
        return
    if part.name.startswith("rollups"):
        yield from _rollups(session, part, names)
        return
    options = [selectinload(Incident.updates), selectinload(Incident.affected)] if part.name == "incidents" else []
    for row in _rows(session, part, with_secrets, *options):
        record = dump_row(row, fields)
        if build is not None:
            record = build(row, names) | record
        yield record


def _organization(row: Any, names: Names) -> dict[str, Any]:
    return {"organization": None if row.organization_id is None else names.organizations[row.organization_id]}


def _page(row: Any, names: Names) -> dict[str, Any]:
    return {"page": names.page(row.page_id)}


def _incident(row: Incident, names: Names) -> dict[str, Any]:
    affected = {names.services[a.service_id]: a.component_status for a in row.affected}
    updates = sorted(row.updates, key=lambda u: (u.created_at, u.id))
    return {
        "page": names.page(row.page_id),
        "affected": dict(sorted(affected.items())),
        "updates": [dump_row(u, INCIDENT_UPDATE_FIELDS) for u in updates],
    }


def _subscriber(row: Subscriber, names: Names) -> dict[str, Any]:
    slugs = sorted(filter(None, (names.services.find(i) for i in row.service_ids)))  # ids kept as text may be stale
    return {"page": names.page(row.page_id), "components": slugs}


_EXTRA: dict[str, Callable[[Any, Names], dict[str, Any]]] = {
    "pages": _organization,
    "services": _page,
    "incident_templates": _organization,
    "incidents": _incident,
    "subscribers": _subscriber,
    "api_tokens": _organization,
    "audit_events": _organization,
}


def _rollups(session: Session, part: Section, names: Names) -> Iterator[dict[str, Any]]:
    """Rows as plain tuples, not objects: a long history is mostly these."""
    model = part.model
    counts = part.fields[1:]  # after the bucket, whole numbers as they are
    query = select(model.service_id, model.bucket, *(getattr(model, name) for name in counts))
    rows = session.execute(query.order_by(model.service_id, model.bucket).execution_options(yield_per=BATCH))
    for service_id, bucket, *values in rows:
        yield {"service": names.services[service_id], "bucket": dump_value(bucket), **dict(zip(counts, values))}


def _users(session: Session, part: Section, names: Names, with_secrets: bool) -> Iterator[dict[str, Any]]:
    """Each user with their organizations (and, with secrets, their recovery codes)."""
    fields = part.fields + (part.secrets if with_secrets else ())
    for user in _rows(session, part, with_secrets):
        memberships = session.scalars(select(Membership).where(Membership.user_id == user.id)).all()
        record = dump_row(user, fields)
        record["memberships"] = sorted(
            (
                {"organization": names.organizations[m.organization_id]} | dump_row(m, ("role", "created_at"))
                for m in memberships
            ),
            key=lambda m: m["organization"],
        )
        if with_secrets:
            codes = session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
            record["recovery_codes"] = sorted(
                (dump_row(code, ("code_hash", "created_at", "used_at")) for code in codes),
                key=lambda c: (c["created_at"], c["code_hash"]),
            )
        yield record


def _maintenance(session: Session, part: Section, names: Names, with_secrets: bool) -> Iterator[dict[str, Any]]:
    """Each window numbered (`ref`) so an occurrence can name its series (`series`)."""
    ids = session.scalars(select(Maintenance.id).order_by(Maintenance.id)).all()
    refs = {window_id: number for number, window_id in enumerate(ids, start=1)}
    options = (selectinload(Maintenance.updates), selectinload(Maintenance.affected))
    for window in _rows(session, part, with_secrets, *options):
        updates = sorted(window.updates, key=lambda u: (u.created_at, u.id))
        yield {
            "ref": refs[window.id],
            "series": refs.get(window.series_id) if window.series_id is not None else None,
            "page": names.page(window.page_id),
            **dump_row(window, part.fields),
            "affected": sorted(names.services[a.service_id] for a in window.affected),
            "updates": [dump_row(u, MAINTENANCE_UPDATE_FIELDS) for u in updates],
        }


def _left_out(session: Session) -> list[str]:
    """What an export without secrets leaves out, for the operator to read."""
    users = session.scalar(select(func.count()).select_from(User)) or 0
    webhooks = session.scalar(select(func.count()).select_from(Subscriber).where(Subscriber.kind == "webhook")) or 0
    said = []
    if users:
        said.append(f"{users} users' password hashes and second factors (they set new passwords after an import)")
    if webhooks:
        said.append(f"{webhooks} webhook subscribers (a webhook's URL and signing secret are secrets)")
    said.append("API tokens, push monitors' tokens, private pages' viewer passwords, subscribers' link tokens")
    return said
