"""`statusweb-admin export` and `import`: a status page's data as one JSON file, to back
up, to move between SQLite and PostgreSQL, or to bring in from another tool.

    statusweb-admin export production.ini statusweb.json [--with-secrets]
    statusweb-admin import production.ini statusweb.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from statusweb.cli.pages import CONFIG_HELP


def add_commands(commands: Any, database_url: Any) -> None:
    export = commands.add_parser(
        "export", help="write organizations, pages, services, incidents, maintenance, subscribers, users and rollups"
    )
    export.add_argument("config", help=CONFIG_HELP)
    export.add_argument("file", help="the JSON file to write (- for standard output)")
    export.add_argument(
        "--with-secrets",
        action="store_true",
        help="also password hashes, second factors, tokens and webhook subscribers (the file is made readable "
        "by you alone)",
    )
    export.set_defaults(handler=lambda args: _export(args, database_url(args.config)))
    load = commands.add_parser("import", help="read an export into this database, empty or not; safe to repeat")
    load.add_argument("config", help=CONFIG_HELP)
    load.add_argument("file", help="the file statusweb-admin export wrote")
    load.set_defaults(handler=lambda args: _import(args, database_url(args.config)))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _export(args: argparse.Namespace, url: str) -> int:
    from statusweb.models import get_engine, get_session_factory
    from statusweb.transfer.export import export

    def progress(section: str, done: int, total: int) -> None:
        _say(f"  {section}: {done} of {total}")

    factory = get_session_factory(get_engine(url))
    target = Path(args.file)
    with factory() as session:
        if args.file == "-":
            report = export(session, sys.stdout, with_secrets=args.with_secrets)
            sys.stdout.flush()
        else:
            partial = target.with_name(f".{target.name}.partial")
            mode = 0o600 if args.with_secrets else 0o644
            try:
                descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
                with open(descriptor, "w", encoding="utf-8", newline="\n") as out:
                    _say(f"exporting to {target} ...")
                    report = export(session, out, with_secrets=args.with_secrets, progress=progress)
                os.replace(partial, target)  # never a half-written file under the real name
            except OSError as exc:
                raise ValueError(f"cannot write {target}: {exc.strerror}; nothing was written") from None
            finally:
                partial.unlink(missing_ok=True)
    counts = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in report.written.items() if count)
    where = "standard output" if args.file == "-" else f"{target} ({target.stat().st_size} bytes)"
    _say(f"wrote {where}: {counts or 'an empty database'}")
    for item in report.left_out:
        _say(f"left out (export --with-secrets to keep): {item}")
    return 0


def _import(args: argparse.Namespace, url: str) -> int:
    from statusweb.models import get_engine, get_session_factory
    from statusweb.transfer.load import import_file

    factory = get_session_factory(get_engine(url))
    path = Path(args.file)
    _say(f"importing {path} ...")
    done = import_file(factory, path, progress=lambda section, read: _say(f"  {section}: {read} records read"))
    for name in sorted(set(done.added) | set(done.kept)):
        _say(f"  {name.replace('_', ' ')}: {done.added[name]} added, {done.kept[name]} there already")
    for line in done.skipped:
        _say(f"skipped: {line}")
    for line in done.notes:
        _say(f"note: {line}")
    added = sum(done.added.values())
    _say(f"imported {added} rows from {args.file}" + (f"; {len(done.skipped)} records skipped" if done.skipped else ""))
    return 1 if done.skipped else 0
