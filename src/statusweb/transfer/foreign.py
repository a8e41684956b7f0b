"""What every importer from another tool shares: a `Conversion` collects monitors.toml
tables (monitors, alert sinks, pages, groups), the secrets they name (written to an env
file beside it, never into monitors.toml), records of our export's shape (services,
incidents, maintenance) and a line for everything that could not be mapped. `write`
puts the files down, proves the monitors.toml loads, and hands the records to the
ordinary import."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from statuscore import ConfigError, load_config, slugify
from statusweb.transfer.shape import SECTION_NAMES, TIME_FORMAT, ExportWriter

_NOT_IN_NAME = re.compile(r"[^A-Z0-9]+")


@dataclass
class Conversion:
    """Another tool's configuration as ours, with what did not fit."""

    source: str
    prefix: str  # of every secret's name (KUMA_...), so none shadows one the runner reads (DATABASE_URL)
    monitors: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    slugs: set[str] = field(default_factory=set)

    def secret(self, hint: str, value: str) -> str:
        """`value` kept for the env file; what monitors.toml says instead: ${NAME}."""
        base = _NOT_IN_NAME.sub("_", hint.upper()).strip("_") or "SECRET"
        base = base if base.startswith(f"{self.prefix}_") else f"{self.prefix}_{base}"
        name, number = base, 1
        while name in self.secrets and self.secrets[name] != value:
            number += 1
            name = f"{base}_{number}"
        self.secrets[name] = value
        return f"${{{name}}}"

    def slug(self, name: str) -> str:
        """A slug for `name` that no other monitor of this conversion has."""
        base = slugify(name)[:90]
        slug, number = base, 1
        while slug in self.slugs:
            number += 1
            slug = f"{base}-{number}"
        self.slugs.add(slug)
        return slug

    def skip(self, what: str, why: str) -> None:
        self.unmapped.append(f"{what}: {why}")

    def note(self, what: str, how: str) -> None:
        self.notes.append(f"{what}: {how}")

    def record(self, section: str, record: dict[str, Any]) -> None:
        self.records.setdefault(section, []).append(record)

    def service(self, table: dict[str, Any], *, page: str | None, moment: str) -> None:
        """The service row a new monitor will have, so incidents can name it now; hidden
        until a runner reads a monitors.toml with the monitor in it."""
        self.record(
            "services",
            {
                "slug": table["slug"],
                "name": table["name"],
                "type": table.get("type", "http"),
                "position": len(self.records.get("services", [])),
                "group_name": table.get("group", ""),
                "description": table.get("description", ""),
                "hidden": True,
                "page": page,
                "created_at": moment,
                "updated_at": moment,
            },
        )


SECRET_HEADERS = ("authorization", "cookie", "x-api-key", "api-key")


def is_secret_header(name: str) -> bool:
    """A request header whose value is a credential: it goes to the env file."""
    lowered = name.lower()
    return lowered in SECRET_HEADERS or "token" in lowered


def clean_name(value: Any, fallback: str) -> str:
    """A name another tool allowed, as one line of at most 200 characters."""
    return " ".join(str(value or "").split())[:200] or fallback


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


@dataclass(frozen=True)
class Written:
    monitors: Path
    env: Path | None
    records: Path  # our export's shape, for import_file (a temporary file)


def write(conversion: Conversion, monitors: Path, say: Callable[[str], None]) -> Written:
    """monitors.toml tables to `monitors` (never over an existing file), the secrets to
    `<monitors>.env` (yours alone), the records to a file for `import_file`."""
    env_path = monitors.with_name(monitors.name + ".env")
    for path in (monitors, env_path):
        if path.exists():
            raise ValueError(f"{path} exists already; name another file with --monitors (nothing was written)")
    _settle(conversion)
    moment = utc_text(datetime.now(UTC))
    for page in conversion.pages:
        conversion.record(
            "pages",
            {
                "organization": "default",
                "slug": page["slug"],
                "name": page["name"],
                "created_at": moment,
                "updated_at": moment,
            },
        )
    for table in conversion.monitors:
        conversion.service(table, page=table.get("page"), moment=moment)
    header = (
        f"# {conversion.source}, converted by statusweb-admin import on {datetime.now(UTC):%Y-%m-%d}.\n"
        "# Read it through, then copy what you want into your monitors.toml.\n"
    )
    if conversion.secrets:
        header += f"# Its secrets are in {env_path.name}: load them into the runner's environment.\n"
    try:
        monitors.write_text(header + "\n" + _toml(conversion), encoding="utf-8")
        if conversion.secrets:
            descriptor = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(descriptor, "w", encoding="utf-8") as out:
                out.writelines(f"{name}={value}\n" for name, value in conversion.secrets.items())
    except OSError as exc:
        raise ValueError(f"cannot write {monitors}: {exc.strerror}") from None
    say(f"wrote {monitors}: {len(conversion.monitors)} monitors, {len(conversion.alerts)} alert sinks")
    if conversion.secrets:
        say(f"wrote {env_path} (readable by you alone): {', '.join(conversion.secrets)}")
    return Written(monitors, env_path if conversion.secrets else None, _records_file(conversion))


def _toml(conversion: Conversion) -> str:
    document: dict[str, Any] = {}
    for key, tables in (("page", conversion.pages), ("group", conversion.groups), ("alert", conversion.alerts)):
        if tables:
            document[key] = tables
    document["monitor"] = conversion.monitors
    return tomli_w.dumps(document)


def _settle(conversion: Conversion) -> None:
    """Load what was made as a runner would; each monitor or sink it refuses is dropped
    and named with the reason, until the rest loads."""
    quiet = logging.getLogger("statuscore")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # a sink switched off for an unset ${NAME} is said as a note instead
    try:
        _try_loading(conversion)
    finally:
        quiet.setLevel(level)


def _try_loading(conversion: Conversion) -> None:
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder) / "monitors.toml"
        for _ in range(len(conversion.monitors) + len(conversion.alerts) + 1):
            trial.write_text(_toml(conversion), encoding="utf-8")
            try:
                load_config(trial, env=conversion.secrets)
                return
            except ConfigError as exc:
                _drop(conversion, exc)
    raise ValueError("the monitors.toml made from it does not load; nothing was written")  # pragma: no cover


def _drop(conversion: Conversion, exc: ConfigError) -> None:
    why = f"{exc.message}" + (f" (key {exc.key!r})" if exc.key else "")
    index = re.match(r"alert\[(\d+)\]", exc.key or "")
    if exc.monitor:
        table = next((t for t in conversion.monitors if t["name"] == exc.monitor), None)
        if table is not None:
            conversion.monitors.remove(table)
            conversion.skip(f"monitor {exc.monitor!r}", f"this install refuses it: {why}")
            return
    if index and int(index.group(1)) < len(conversion.alerts):
        sink = conversion.alerts.pop(int(index.group(1)))
        conversion.skip(f"alert sink {sink.get('name')!r}", f"this install refuses it: {why}")
        for table in conversion.monitors:
            if sink.get("name") in table.get("alerts", []):
                table["alerts"].remove(sink["name"])
                if not table["alerts"]:
                    del table["alerts"]
                    table["notify"] = False
        return
    raise ValueError(f"the monitors.toml made from it does not load: {exc}; nothing was written")


def _records_file(conversion: Conversion) -> Path:
    handle, name = tempfile.mkstemp(prefix="statusweb-import-", suffix=".json")
    with open(handle, "w", encoding="utf-8") as out:
        writer = ExportWriter(out, {"schema": "", "with_secrets": False})
        for section in SECTION_NAMES:
            writer.begin(section)
            for record in conversion.records.get(section, []):
                writer.record(record)
        writer.end()
    return Path(name)
