"""The runner's local spool: what it checked, decided and alerted while the status
database was unreachable, appended to a file as it happens, so that a runner killed
during the outage loses none of it. The runner clears its file once the database has
everything; a file left by a process that died is written to the database by the next
runner started on this host (`adopt_orphans`, then `SqlStore.replay_spool`).

One JSON object per line: {"result": ...}, {"state": ...}, {"alert": ...} (an outbox row)
or {"delivered": id, "at": ...}. Bounded: past `max_bytes` results are dropped (and
counted); states and alerts, small and precious, are always kept. Files are named by
the database they belong to, so runners of two installs on one host never mix them."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("statusweb.spool")

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def database_tag(database_url: str) -> str:
    """A short name for a database (its URL hashed: the URL may hold a password)."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:12]


class Spool:
    def __init__(self, directory: str | Path, database_url: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = Path(directory)
        self.tag = database_tag(database_url)
        self.path = self.directory / f"{self.tag}.{socket.gethostname()}.{os.getpid()}.jsonl"
        self.max_bytes = max_bytes
        self.size = 0
        self.records = 0
        self.dropped = 0
        self._file: IO[str] | None = None
        self._failing = False  # the last write failed: said once, not for every record

    def append(self, record: dict[str, Any], *, droppable: bool = False) -> None:
        """Add one record; a droppable one (a result) is dropped past the bound. Never
        raises: a full disk must not stop the checks (it is logged once)."""
        line = json.dumps(record, default=_encode, separators=(",", ":")) + "\n"
        if droppable and self.size + len(line) > self.max_bytes:
            self.dropped += 1
            return
        try:
            if self._file is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()  # in the kernel's hands: a kill -9 loses nothing written
        except OSError as exc:
            if not self._failing:
                log.error(
                    "spool %s not written (%s): what happens during this outage lives in memory only", self.path, exc
                )
            self._failing = True
            self.dropped += 1
            return
        self._failing = False
        self.size += len(line)
        self.records += 1

    def clear(self) -> None:
        """The database has everything: start afresh."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)
        self.size = self.records = self.dropped = 0

    def adopt_orphans(self) -> list[Path]:
        """Spool files of this database left by processes of this host that are gone,
        each renamed to one of ours first (a rename is atomic: of two runners starting
        at once, one gets each file; and should we die replaying it, the next adopts it)."""
        if not self.directory.is_dir():
            return []
        host = socket.gethostname()
        adopted = []
        for number, path in enumerate(sorted(self.directory.glob(f"{self.tag}.*.jsonl"))):
            owner_host, _, owner = path.name[len(self.tag) + 1 : -len(".jsonl")].rpartition(".")
            pid = owner.split("-")[0]
            if owner_host != host or not pid.isdigit() or int(pid) == os.getpid() or process_alive(int(pid)):
                continue
            mine = self.directory / f"{self.tag}.{host}.{os.getpid()}-{number}.jsonl"
            try:
                os.rename(path, mine)
            except FileNotFoundError:  # another runner adopted it first
                continue
            adopted.append(mine)
        return adopted


@dataclass
class SpoolBatch:
    """A spool file's records, by kind: results (slug, row) in order, each monitor's
    last state, each alert once (an outbox row) and when each was delivered."""

    results: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    delivered: dict[str, datetime] = field(default_factory=dict)
    records: int = 0


def read_spool(path: Path) -> SpoolBatch:
    """A spool file's records. A line cut short by a crash is skipped."""
    batch = SpoolBatch()
    for record in _records(path):
        batch.records += 1
        if "result" in record:
            batch.results.append((record["result"].pop("slug"), record["result"]))
        elif "state" in record:
            batch.states[record["state"]["slug"]] = {k: v for k, v in record["state"].items() if k != "slug"}
        elif "alert" in record:
            batch.alerts.setdefault(record["alert"]["id"], record["alert"])
        elif "delivered" in record:
            batch.delivered[record["delivered"]] = record["at"]
    return batch


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            try:
                yield json.loads(line, object_hook=_decode)
            except ValueError:
                log.warning("spool %s line %d is incomplete (cut by a crash): skipped", path, number)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    raise TypeError(f"cannot spool a {type(value).__name__}")


def _decode(value: dict[str, Any]) -> Any:
    if set(value) == {"$t"}:
        return datetime.fromisoformat(value["$t"])
    return value


def process_alive(pid: int) -> bool:
    """Is a process of this host still running (spool files and members name their pid)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
