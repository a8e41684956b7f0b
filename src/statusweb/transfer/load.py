"""`statusweb-admin import`: our file (`shape.py`) into an empty or a running database.
Rows are matched by what names them (a slug, a user's name; an incident by its page, start
and title), so importing twice adds nothing the second time; ids are the database's own.
A record that cannot be imported is named (file, line, key) and skipped; the others go
on. Imported incident and maintenance updates are history: subscribers are not told."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from statusweb.migrations import current, history
from statusweb.transfer.rows import HANDLERS, Context, finish
from statusweb.transfer.shape import FileError, Header, RecordError, read_file

Progress = Callable[[str, int], None]  # section, records read so far
BATCH = 1000  # records per transaction, and how often progress is told


@dataclass
class ImportReport:
    """What an import did: per section, rows added and rows the database had already;
    records skipped, each with why; things the operator should know (new passwords)."""

    added: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_schema(header: Header, path: Path, database: str | None) -> None:
    """A file from a newer statusweb, or a database not yet upgraded, stops the import."""
    known = [revision.id for revision in history()]
    if header.schema and header.schema not in known:
        raise FileError(
            f"{path} was made by a newer statusweb (schema {header.schema}; this one knows up to {known[-1]}): "
            "upgrade statusweb, then import"
        )
    if database != known[-1]:
        raise FileError(
            f"the database is at schema {database or 'none'}, not {known[-1]}: "
            "run statusweb-admin db upgrade CONFIG first"
        )


def import_file(
    factory: sessionmaker[Session], path: Path, *, progress: Progress | None = None, shown_as: str = ""
) -> ImportReport:
    """Import `path` into the database `factory` opens, a batch per transaction. A record
    that cannot go in is named by `path` and line, or by `shown_as` (the file another
    tool's was converted from, whose lines these are not)."""
    header, records = read_file(path)
    engine = factory.kw["bind"]
    check_schema(header, path, current(engine))
    report = ImportReport()
    context = Context(with_secrets=header.with_secrets)
    with factory() as session:
        context.attach(session)
        context.see_if_empty()
    for batch in _batches(records):
        with factory.begin() as session:
            context.attach(session)
            for name, number, record in batch:
                where = f"{shown_as} ({name})" if shown_as else f"{path}, line {number} ({name})"
                _one(context, report, name, record, where)
            context.flush()
        if progress:
            progress(batch[-1][0], context.read)
    with factory.begin() as session:
        context.attach(session)
        report.notes += finish(context)
    report.added, report.kept = context.added, context.kept
    return report


def _batches(records: Iterator[tuple[str, int, dict[str, Any]]]) -> Iterator[list[tuple[str, int, dict[str, Any]]]]:
    """BATCH records at a time, never two sections in one (progress names one)."""
    batch: list[tuple[str, int, dict[str, Any]]] = []
    for item in records:
        if batch and (len(batch) >= BATCH or batch[-1][0] != item[0]):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def _one(context: Context, report: ImportReport, name: str, record: dict[str, Any], where: str) -> None:
    context.read += 1
    try:
        HANDLERS[name](context, record)
    except RecordError as exc:
        report.skipped.append(f"{where}{_label(record)}: {exc}; skipped")
    except (TypeError, KeyError, AttributeError) as exc:  # a hand-made record of the wrong shape
        report.skipped.append(f"{where}{_label(record)}: wrong shape ({exc}); skipped")


def _label(record: dict[str, Any]) -> str:
    for key in ("slug", "name", "title", "address", "service"):
        value = record.get(key)
        if isinstance(value, str):
            return f" {value[:60]!r}"
    return ""
