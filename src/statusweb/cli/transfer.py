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

IMPORTERS = ("uptime-kuma", "gatus", "statuspage")


def add_commands(commands: Any, database_url: Any) -> None:
    export = commands.add_parser(
        "export", help="write organizations, pages, services, incidents, maintenance, subscribers, users and rollups"
    )
    export.add_argument("config", help=CONFIG_HELP)
    export.add_argument("file", help="the JSON file to write (- for standard output)")
    export.add_argument(
        "--with-secrets",
        action="store_true",
        help="also password hashes, second factors, tokens and webhook subscribers",
    )
    export.set_defaults(handler=lambda args: _export(args, database_url(args.config)))
    load = commands.add_parser("import", help="read an export into this database, empty or not; safe to repeat")
    load.add_argument("config", help=CONFIG_HELP)
    load.add_argument(
        "file",
        help="the file statusweb-admin export wrote, or with --from the other tool's (statuspage: or its address)",
    )
    load.add_argument("--from", dest="source", choices=IMPORTERS, help="the tool the file comes from")
    load.add_argument(
        "--monitors",
        default="",
        help="with --from: the monitors.toml to write (default: <tool>.monitors.toml here; never overwritten)",
    )
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
            mode = 0o600  # subscribers' and users' addresses are personal data, secrets or not
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
    if args.monitors and not args.source:
        raise ValueError("--monitors goes with --from: an export of ours has no monitors.toml to write")
    if args.source:
        path = _convert(args)
    _say(f"importing {args.file} ...")
    try:
        done = import_file(
            factory,
            path,
            progress=lambda section, read: _say(f"  {read} records read ({section})"),
            shown_as=args.file if args.source else "",
        )
    finally:
        if args.source:
            path.unlink(missing_ok=True)
    for name in sorted(set(done.added) | set(done.kept)):
        _say(f"  {name.replace('_', ' ')}: {done.added[name]} added, {done.kept[name]} there already")
    for line in done.skipped:
        _say(f"skipped: {line}")
    for line in done.notes:
        _say(f"note: {line}")
    added = sum(done.added.values())
    _say(f"imported {added} rows from {args.file}" + (f"; {len(done.skipped)} records skipped" if done.skipped else ""))
    return 1 if done.skipped else 0


def _convert(args: argparse.Namespace) -> Path:
    """Another tool's file as a monitors.toml (and its secrets' env file) written here,
    and our records in a temporary file for the import; what could not be mapped said."""
    from statusweb.transfer import from_gatus, from_kuma, from_statuspage
    from statusweb.transfer.foreign import write

    if args.source == "statuspage" and args.file.startswith(("http://", "https://")):
        document = from_statuspage.fetch(args.file, _say)
    else:
        document = _read_document(Path(args.file), yaml=args.source == "gatus")
    converter = {"uptime-kuma": from_kuma, "gatus": from_gatus, "statuspage": from_statuspage}[args.source]
    conversion = converter.convert(document, args.file)
    written = write(conversion, Path(args.monitors or f"{args.source}.monitors.toml"), _say)
    for line in conversion.unmapped:
        _say(f"not brought over: {line}")
    for line in conversion.notes:
        _say(f"note: {line}")
    return written.records


def _read_document(path: Path, *, yaml: bool) -> Any:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8") from None
    if yaml:
        import yaml as pyyaml

        try:
            return pyyaml.safe_load(text)
        except pyyaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ValueError(f"{path} is not YAML{where}: {getattr(exc, 'problem', exc)}") from None
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
