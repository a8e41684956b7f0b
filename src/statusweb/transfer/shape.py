"""The export file: one JSON document, written one record per line so that it streams
both ways (a history of a million rollups never sits in memory), and still plain JSON for
any other tool. Which columns each section carries, how values look in it (times as UTC
with microseconds, so both databases give the same bytes), and reading it back with
every problem named by file, line and key."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.sql.schema import Column

from statusweb.models import (
    ApiToken,
    AuditEvent,
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    Maintenance,
    MaintenanceUpdate,
    Organization,
    Page,
    RollupDaily,
    RollupHourly,
    Service,
    ServiceGroup,
    Subscriber,
    User,
    UTCDateTime,
)

FORMAT = "statusweb-export"
VERSION = 1
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
ROLLUP_COUNTS = tuple(c.name for c in RollupHourly.__table__.columns if c.name not in ("service_id", "bucket"))


@dataclass(frozen=True)
class Section:
    """One array of the file: its rows' plain columns, in the file's order, and those only
    `--with-secrets` carries (a hash, a token, a signing secret)."""

    name: str
    model: Any
    fields: tuple[str, ...]
    secrets: tuple[str, ...] = ()


SECTIONS = (
    Section("organizations", Organization, ("slug", "name", "created_at", "require_2fa")),
    Section(
        "users",
        User,
        ("name", "role", "created_at", "disabled", "email", "oidc_subject"),
        ("password_hash", "totp_secret", "totp_enabled_at", "totp_last_step"),
    ),
    Section(
        "pages",
        Page,
        ("slug", "name", "private", "domain", "domain_verified_at", "domain_verified_by", "language", "stylesheet")
        + ("created_at", "updated_at"),
        ("domain_token", "viewer_password_hash"),
    ),
    Section("service_groups", ServiceGroup, ("name", "description", "collapsed", "updated_at")),
    Section(
        "services",
        Service,
        ("slug", "name", "type", "position", "group_name", "description", "hidden", "public", "public_degraded")
        + ("interval_s", "sla_target", "depends_on_slugs", "third_party", "created_at", "updated_at"),
        ("push_token_hash",),
    ),
    Section(
        "incident_templates",
        IncidentTemplate,
        ("name", "title", "body", "impact", "components", "created_at", "updated_at"),
    ),
    Section(
        "incidents",
        Incident,
        ("title", "impact", "status", "root_cause", "created_at", "updated_at", "resolved_at", "deleted")
        + ("postmortem", "postmortem_published_at"),
    ),
    Section(
        "maintenance",
        Maintenance,
        ("title", "description", "starts_at", "ends_at", "status", "all_services", "rrule", "created_at")
        + ("updated_at", "author"),
    ),
    Section(
        "subscribers",
        Subscriber,
        ("kind", "address", "created_at", "confirmed_at"),
        ("confirm_token", "unsubscribe_token", "secret"),
    ),
    Section(
        "api_tokens",
        ApiToken,
        (),
        ("name", "token_hash", "prefix", "scopes", "created_by", "created_at", "expires_at", "last_used_at")
        + ("revoked_at",),
    ),
    Section("audit_events", AuditEvent, ("at", "actor", "action", "subject")),
    Section("rollups_hourly", RollupHourly, ("bucket", *ROLLUP_COUNTS)),
    Section("rollups_daily", RollupDaily, ("bucket", *ROLLUP_COUNTS)),
)
SECTION_NAMES = tuple(section.name for section in SECTIONS)
INCIDENT_UPDATE_FIELDS = ("status", "body", "eta", "created_at", "author")
MAINTENANCE_UPDATE_FIELDS = ("status", "body", "created_at", "author")
UPDATE_MODELS = {"incidents": IncidentUpdate, "maintenance": MaintenanceUpdate}


def section(name: str) -> Section:
    return SECTIONS[SECTION_NAMES.index(name)]


# -- values ----------------------------------------------------------------------------


def dump_value(value: Any) -> Any:
    """A column's value as the file has it: times as UTC text, the rest as JSON has them."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(TIME_FORMAT)
    return value


def dump_row(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: dump_value(getattr(row, name)) for name in fields}


class RecordError(ValueError):
    """One record that cannot be imported, with the key at fault."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(f"key {key!r}: {message}" if key else message)
        self.key = key


def load_value(column: Any, record: dict[str, Any], key: str | None = None) -> Any:
    """`record[key]` checked against the column it goes into (type, length, whether it may
    be empty); a missing key takes the column's default, if it has one."""
    key = key or column.name
    if key not in record:
        if column.nullable:
            return None
        default = getattr(column.default, "arg", None)
        default = None if callable(default) else default
        if default is None and column.server_default is None:
            raise RecordError("missing", key)
        return default if default is not None else _server_default(column)
    value = record[key]
    if value is None:
        if not column.nullable:
            raise RecordError("may not be null", key)
        return None
    return _checked(column, value, key)


def _server_default(column: Column[Any]) -> Any:
    text = str(getattr(column.server_default, "arg", ""))
    if isinstance(column.type, Boolean):
        return text.lower() in ("1", "true")
    if isinstance(column.type, Integer):
        return int(text or 0)
    return text


def _checked(column: Column[Any], value: Any, key: str) -> Any:
    check = _CHECKERS.get(id(column))
    if check is None:  # one per column, chosen once: an import checks millions of values
        check = _CHECKERS[id(column)] = _checker_for(column.type)
    return check(value, key)


Checker = Callable[[Any, str], Any]
_CHECKERS: dict[int, Checker] = {}


def _checker_for(kind: Any) -> Checker:
    if isinstance(kind, UTCDateTime):
        return parse_time
    if isinstance(kind, Boolean):
        return _boolean
    if isinstance(kind, Integer):
        return _integer
    if isinstance(kind, Float):
        return _number
    if isinstance(kind, String | Text):
        return partial(_text, length=getattr(kind, "length", None))
    raise TypeError(f"no checker for {kind!r}")  # pragma: no cover - every model's column type is above


def _boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise RecordError(f"{value!r} is not true or false", key)
    return value


def _integer(value: Any, key: str) -> int:
    if type(value) is not int or abs(value) >= 2**63:
        raise RecordError(f"{value!r} is not a whole number", key)
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{value!r} is not a number", key)
    return float(value)


def _text(value: Any, key: str, *, length: int | None) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{value!r} is not text", key)
    if "\x00" in value:
        raise RecordError("holds a NUL character", key)
    if length is not None and len(value) > length:
        raise RecordError(f"is {len(value)} characters long; at most {length}", key)
    return value


def parse_time(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise RecordError(f"{value!r} is not a time", key)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"{value[:40]!r} is not a time (write it as 2026-01-31T12:00:00Z)", key) from None
    if parsed.tzinfo is None:
        raise RecordError(f"{value[:40]!r} has no time zone (end it with Z for UTC)", key)
    return parsed.astimezone(UTC)


def load_row(section: Section, record: dict[str, Any], *, with_secrets: bool) -> dict[str, Any]:
    """The section's plain (and, in a file with secrets, secret) columns of `record`."""
    table = section.model.__table__
    names = section.fields + (section.secrets if with_secrets else ())
    return {name: load_value(table.columns[name], record) for name in names}


# -- the file --------------------------------------------------------------------------


class ExportWriter:
    """Writes the document section by section, one record per line, in the given order."""

    def __init__(self, out: IO[str], header: dict[str, Any]) -> None:
        self.out = out
        self.first_section = True
        self.first_record = True
        self.out.write(json.dumps({"format": FORMAT, "version": VERSION, **header}, ensure_ascii=False)[:-1] + ",\n")

    def begin(self, name: str) -> None:
        if not self.first_section:
            self.out.write("\n],\n")
        self.first_section = False
        self.first_record = True
        self.out.write(f"{json.dumps(name)}: [")

    def record(self, record: dict[str, Any]) -> None:
        self.out.write("\n" if self.first_record else ",\n")
        self.first_record = False
        self.out.write(json.dumps(record, ensure_ascii=False))

    def end(self) -> None:
        self.out.write("\n]}\n")


@dataclass(frozen=True)
class Header:
    version: int
    schema: str
    with_secrets: bool


class FileError(ValueError):
    """The file as a whole cannot be read (not ours, not JSON, from a newer statusweb)."""


def read_file(path: Path) -> tuple[Header, Iterator[tuple[str, int, dict[str, Any]]]]:
    """The file's header and its records as (section, line, record). Our own export is read
    a line at a time; a file of the same shape laid out otherwise is read whole."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}") from None
    prefix = b'{"format": "' + FORMAT.encode() + b'"'
    if first.startswith(prefix) and first.rstrip().endswith(b","):
        header = _header(json.loads(first.rstrip()[:-1] + b"}"), path)
        return header, _stream(path)
    return _whole(path)


def _header(document: Any, path: Path) -> Header:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise FileError(f'{path} is not a statusweb export (its first key is not "format": "{FORMAT}")')
    version = document.get("version")
    if version != VERSION:
        raise FileError(f"{path} is an export of version {version!r}; this statusweb reads version {VERSION}")
    schema = document.get("schema")
    with_secrets = document.get("with_secrets", False)
    if not isinstance(schema, str) or not isinstance(with_secrets, bool):
        raise FileError(f'{path}: the header\'s "schema" must be text and "with_secrets" true or false')
    return Header(version=version, schema=schema, with_secrets=with_secrets)


def _stream(path: Path) -> Iterator[tuple[str, int, dict[str, Any]]]:
    current = ""
    with path.open("rb") as handle:
        handle.readline()
        for number, raw in enumerate(handle, start=2):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise FileError(f"{path}, line {number}: not UTF-8") from None
            if line in ("]", "],", "]}") or not line:
                current = "" if line else current
                continue
            if line.endswith(": ["):
                current = _section_name(line[: -len(": [")], path, number)
                continue
            if not current:
                raise FileError(f"{path}, line {number}: a record outside any section (was the file cut or edited?)")
            yield current, number, _record(line.removesuffix(","), path, number)


def _section_name(text: str, path: Path, number: int) -> str:
    try:
        name = json.loads(text)
    except ValueError:
        name = None
    if name not in SECTION_NAMES:
        raise FileError(f"{path}, line {number}: unknown section {text[:60]} (known: {', '.join(SECTION_NAMES)})")
    return str(name)


def _record(text: str, path: Path, number: int) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileError(f"{path}, line {number}: not JSON ({exc.msg}); was the file cut short?") from None
    if not isinstance(record, dict):
        raise FileError(f"{path}, line {number}: a record must be a JSON object")
    return record


def _whole(path: Path) -> tuple[Header, Iterator[tuple[str, int, dict[str, Any]]]]:
    content = path.read_bytes()
    if not content.strip():
        raise FileError(f"{path} is empty (was the export cut off? export again)")
    try:
        document = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise FileError(f"{path} is not UTF-8") from None
    except ValueError as exc:
        raise FileError(f"{path} is not JSON: {exc}") from None
    header = _header(document, path)
    unknown = sorted(set(document) - {"format", "version", "schema", "with_secrets", *SECTION_NAMES})
    if unknown:
        raise FileError(f"{path}: unknown sections {', '.join(unknown)} (known: {', '.join(SECTION_NAMES)})")

    def records() -> Iterator[tuple[str, int, dict[str, Any]]]:
        for name in SECTION_NAMES:
            items = document.get(name, [])
            if not isinstance(items, list):
                raise FileError(f"{path}: section {name!r} must be a list")
            for number, item in enumerate(items, start=1):
                if not isinstance(item, dict):
                    raise FileError(f"{path}: {name} record {number} must be a JSON object")
                yield name, number, item

    return header, records()
