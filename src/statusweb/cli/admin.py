"""`statusweb-admin`: set up and look after a statusweb database.

statusweb-admin initdb development.ini
statusweb-admin bootstrap production.ini      # initdb + the first admin (the image runs it)
statusweb-admin run-checks development.ini [--once]
statusweb-admin cleanup development.ini [--days N] [--dry-run]
statusweb-admin create-user | set-password | disable-user | enable-user CONFIG NAME
statusweb-admin maintenance start CONFIG [--services a,b] [--minutes 30] [--title T]
statusweb-admin maintenance end CONFIG ID | maintenance list CONFIG
statusweb-admin check-now CONFIG SLUG
statusweb-admin db current | history | upgrade CONFIG
statusweb-admin restore-check CONFIG DUMP [--keep]
statusweb-admin cloudflare-ips refresh [--from URL] [--file PATH]
statusweb-admin export CONFIG FILE.json [--with-secrets] | import CONFIG FILE [--from TOOL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from statuscore import ConfigError, PluginError, settle_loaded_config, utcnow
from statusweb.cli.pages import CONFIG_HELP
from statusweb.edge.cloudflare import SOURCE as CLOUDFLARE
from statusweb.models import get_engine
from statusweb.settings import RunnerSettings, load_ini_settings

log = logging.getLogger("statusweb.admin")


def build_parser() -> argparse.ArgumentParser:
    """Every command, each argument with its help."""
    parser = argparse.ArgumentParser(prog="statusweb-admin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    initdb = commands.add_parser("initdb", help="create or upgrade the tables (alembic upgrade head)")
    initdb.add_argument("config", help=CONFIG_HELP)
    initdb.set_defaults(handler=_initdb)
    database = commands.add_parser("db", help="the database's schema: which revision, every revision, upgrade")
    db_actions = database.add_subparsers(dest="action", required=True)
    for action, handler, text in (
        ("current", _db_current, "print the database's schema revision"),
        ("history", _db_history, "list every migration, marking the database's"),
        ("upgrade", _initdb, "upgrade to the newest schema, saying what ran"),
    ):
        sub = db_actions.add_parser(action, help=text)
        sub.add_argument("config", help=CONFIG_HELP)
        sub.set_defaults(handler=handler)
    run = commands.add_parser("run-checks", help="run the checks as their own process")
    run.add_argument("config", help=CONFIG_HELP)
    run.add_argument("--once", action="store_true", help="check every monitor once, then exit")
    run.set_defaults(handler=_run_checks)
    clean = commands.add_parser("cleanup", help="delete raw check results past the retention period")
    clean.add_argument("config", help=CONFIG_HELP)
    clean.add_argument("--days", type=int, help="keep this many days (default: the ini's or 60)")
    clean.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    clean.set_defaults(handler=_cleanup)
    user = commands.add_parser("create-user", help="add a person who may post incidents")
    user.add_argument("config", help=CONFIG_HELP)
    user.add_argument("name", help="the name they log in with")
    user.add_argument(
        "--role",
        choices=["admin", "editor"],
        default="editor",
        help="admin: owner of the organization; editor: posts incidents and maintenance",
    )
    user.add_argument("--organization", default="default", help="its slug (created when missing; default: default)")
    user.add_argument(
        "--if-none",
        action="store_true",
        help="only when there is no user yet; without a password set, one is generated and printed",
    )
    user.set_defaults(handler=_create_user)
    boot = commands.add_parser(
        "bootstrap",
        help="create or upgrade the tables, and on an empty database "
        "the admin user (STATUSWEB_ADMIN_PASSWORD, else printed once)",
    )
    boot.add_argument("config", help=CONFIG_HELP)
    boot.add_argument("--admin", default="admin", help="the first admin's name (default: admin)")
    boot.set_defaults(handler=_bootstrap)
    for command, handler, text in (
        (
            "set-password",
            _set_password,
            "give a user a new password (STATUSWEB_ADMIN_PASSWORD or asked twice); ends the user's sessions",
        ),
        ("disable-user", _disable_user, "stop a user from logging in; ends the user's sessions"),
        ("enable-user", _enable_user, "let a disabled user log in again"),
        (
            "reset-2fa",
            _reset_2fa,
            "take a locked-out user's second factor away (lost phone, no recovery code); ends the user's sessions",
        ),
    ):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("config", help=CONFIG_HELP)
        sub.add_argument("name", help="the user's name")
        sub.set_defaults(handler=handler)
    restore = commands.add_parser(
        "restore-check",
        help="prove a backup restores: into a scratch database, migrated, its rows counted against the live ones",
    )
    restore.add_argument("config", help=CONFIG_HELP)
    restore.add_argument("dump", help="a pg_dump custom-format file (deploy/backup.sh writes them)")
    restore.add_argument("--keep", action="store_true", help="keep the scratch database (it is named in the output)")
    restore.set_defaults(handler=_restore_check)
    cloudflare = commands.add_parser(
        "cloudflare-ips", help="Cloudflare's published ranges, which STATUSWEB_TRUSTED_PROXY=cloudflare trusts"
    )
    cloudflare_actions = cloudflare.add_subparsers(dest="action", required=True)
    refresh = cloudflare_actions.add_parser(
        "refresh", help="fetch Cloudflare's lists again and write them (checked first; says what changed)"
    )
    refresh.add_argument(
        "--from", dest="source", default=CLOUDFLARE, help=f"where ips-v4 and ips-v6 are (default: {CLOUDFLARE})"
    )
    refresh.add_argument("--file", default="", help="the ranges file to write (default: the one statusweb reads)")
    refresh.set_defaults(handler=_refresh_cloudflare)
    from statusweb.cli import operations as cli_operations
    from statusweb.cli import pages as cli_pages
    from statusweb.cli import transfer as cli_transfer

    cli_operations.add_commands(commands, _user_session)
    cli_pages.add_commands(commands, _user_session)
    cli_transfer.add_commands(commands, _database_url)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except (ConfigError, PluginError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(
            f"error: the database did not answer: {str(exc).splitlines()[0]}\n"
            f"Check sqlalchemy.url in {args.config} (or DATABASE_URL) and that the server is up.",
            file=sys.stderr,
        )
        return 3


def _runner_settings(config_uri: str) -> RunnerSettings:
    settings, here = load_ini_settings(config_uri)
    return RunnerSettings.from_settings(settings, here)


def _initdb(args: argparse.Namespace) -> int:
    from statusweb.migrations import upgrade

    print(upgrade(get_engine(_database_url(args.config))).describe())
    return 0


def _refresh_cloudflare(args: argparse.Namespace) -> int:
    from statusweb.edge.cloudflare import RANGES_FILE, fetch_ranges, read_ranges, write_ranges

    path = Path(args.file) if args.file else RANGES_FILE
    try:
        fresh = fetch_ranges(args.source)
    except OSError as exc:
        raise ValueError(
            f"could not fetch Cloudflare's lists from {args.source}: {exc}; the ranges are unchanged, try again later"
        ) from None
    known = read_ranges(path) if path.exists() else []
    added = [str(n) for n in fresh if n not in known]
    removed = [str(n) for n in known if n not in fresh]
    write_ranges(fresh, path)
    print(
        f"wrote {len(fresh)} ranges to {path}: {len(added)} new, {len(removed)} gone"
        + (f" (new: {', '.join(added)})" if added else "")
        + (f" (gone: {', '.join(removed)})" if removed else "")
    )
    return 0


def _restore_check(args: argparse.Namespace) -> int:
    from statusweb.cli.restore_check import restore_check

    report = restore_check(_database_url(args.config), Path(args.dump), keep=args.keep)
    for line in [report.upgrade.describe(), *report.lines()]:
        print(line)
    if not report.ok:
        for problem in report.problems:
            print(f"problem: {problem}", file=sys.stderr)
        return 1
    rows = sum(restored for restored, _ in report.counts.values())
    print(f"the dump restores: {len(report.counts)} tables, {rows} rows, schema {report.upgrade.after}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from statusweb.migrations import current, history

    revision = current(get_engine(_database_url(args.config)))
    newest = history()[-1].id
    if revision is None:
        print(f"no tables yet (the newest schema is {newest}): statusweb-admin db upgrade {args.config}")
    else:
        behind = "" if revision == newest else f"; the newest is {newest}: statusweb-admin db upgrade {args.config}"
        print(f"{revision}{' (the newest)' if revision == newest else ''}{behind}")
    return 0


def _db_history(args: argparse.Namespace) -> int:
    from statusweb.migrations import current, history

    revision = current(get_engine(_database_url(args.config)))
    for migration in history():
        mark = "  <- this database" if migration.id == revision else ""
        print(f"{migration.id}  {migration.title}{mark}")
    return 0


def _run_checks(args: argparse.Namespace) -> int:
    from statusweb.runner.runner import Runner

    runner = Runner(_runner_settings(args.config))
    settle_loaded_config()  # the monitors live as long as the process: out of the collector's way

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runner.stop)
        logging.getLogger("statusweb.runner").info(
            "checking %d monitors of %s (SIGTERM or Ctrl-C stops cleanly)", len(runner.config.monitors), args.config
        )
        results = await runner.run(once=args.once)
        if args.once:
            for result in results:
                print(
                    f"{result.status.value:<9} {result.monitor}: {result.latency_ms} ms {result.error or ''}".rstrip()
                )
        return 0

    return asyncio.run(main())


def _cleanup(args: argparse.Namespace) -> int:
    from statusweb.runner.retention import cleanup

    settings = _runner_settings(args.config)
    days = args.days if args.days is not None else settings.retention_days
    count = cleanup(
        get_engine(settings.database_url),
        days=days,
        now=utcnow(),
        dry_run=args.dry_run,
        progress=lambda line: print(line, flush=True),
    )
    print(f"{'would delete' if args.dry_run else 'deleted'} {count} check results")
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from statusweb.models import DEFAULT_SLUG, User
    from statusweb.services.organizations import FROM_USER_ROLE, adopt_ownerless, join, organization_named

    with _user_session(args.config) as session:
        if args.if_none and session.scalar(select(func.count()).select_from(User)):
            return 0
        if session.scalar(select(User).where(User.name == args.name)) is not None:
            raise ValueError(f"user {args.name!r} exists already")
        password, generated = _new_password(args.name, generate=args.if_none)
        user = User(name=args.name, role=args.role, created_at=utcnow())
        user.set_password(password)
        session.add(user)
        organization = organization_named(session, getattr(args, "organization", DEFAULT_SLUG), utcnow())
        join(session, user, organization, FROM_USER_ROLE[args.role], utcnow())
        # the install's owner also owns the organizations nobody owns yet (made from monitors.toml)
        adopted = (
            adopt_ownerless(session, user, utcnow())
            if organization.slug == DEFAULT_SLUG and args.role == "admin"
            else []
        )
    print(f"created {args.role} {args.name!r} ({FROM_USER_ROLE[args.role]} of {organization.slug})")
    if adopted:
        print(f"{args.name!r} is also owner of {', '.join(adopted)} (they had no owner)")
    if generated:
        _print_boxed(
            [
                f"statusweb: created the {args.role} user {args.name!r}",
                f"password (shown once, stored only as a hash): {password}",
                "log in at /admin, then set your own password under Users",
            ]
        )
    return 0


def _bootstrap(args: argparse.Namespace) -> int:
    """What a container does at every start: migrate, and make the first admin once."""
    _initdb(args)
    return _create_user(argparse.Namespace(config=args.config, name=args.admin, role="admin", if_none=True))


def _set_password(args: argparse.Namespace) -> int:
    with _user_session(args.config) as session:
        user = _existing_user(session, args.name)
        password, _ = _new_password(args.name, generate=False)
        user.set_password(password)  # also ends every session of this user
    print(f"new password set for {args.name!r}; its sessions have ended")
    return 0


def _disable_user(args: argparse.Namespace) -> int:
    with _user_session(args.config) as session:
        user = _existing_user(session, args.name)
        user.disabled = True
        user.end_sessions()
    print(f"{args.name!r} is disabled and logged out everywhere")
    return 0


def _enable_user(args: argparse.Namespace) -> int:
    with _user_session(args.config) as session:
        _existing_user(session, args.name).disabled = False
    print(f"{args.name!r} may log in again")
    return 0


def _reset_2fa(args: argparse.Namespace) -> int:
    from statusweb.models import AuditEvent
    from statusweb.services import second_factor

    with _user_session(args.config) as session:
        user = _existing_user(session, args.name)
        had = second_factor.reset(session, user)
        required = second_factor.required_for(session, user)
        if had:
            session.add(
                AuditEvent(
                    organization_id=None,
                    at=utcnow(),
                    actor="statusweb-admin",
                    action="user.2fa_reset",
                    subject=args.name[:300],
                )
            )
    if not had:
        print(f"{args.name!r} had no second factor; nothing changed")
        return 0
    then = "must set up a new one at their next login" if required else "logs in with the password alone"
    print(f"{args.name!r}: second factor and recovery codes removed, sessions ended; {args.name} {then}")
    return 0


@contextmanager
def _user_session(config_uri: str) -> Iterator[Any]:
    from statusweb.models import get_session_factory

    with get_session_factory(get_engine(_database_url(config_uri))).begin() as session:
        yield session


def _database_url(config_uri: str) -> str:
    settings, _ = load_ini_settings(config_uri)
    if not settings.get("sqlalchemy.url"):
        raise ValueError(f"no database: set sqlalchemy.url in {config_uri} or DATABASE_URL")
    return str(settings["sqlalchemy.url"])


def _existing_user(session: Any, name: str) -> Any:
    from sqlalchemy import select

    from statusweb.models import User

    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise ValueError(f"no user {name!r} (statusweb-admin create-user adds one)")
    return user


def _new_password(name: str, *, generate: bool) -> tuple[str, bool]:
    """STATUSWEB_ADMIN_PASSWORD, else generated (when allowed) or typed twice on a terminal;
    held to the same rules as the admin's form."""
    import getpass
    import os
    import secrets

    from statusweb.services.passwords import password_problem

    password = os.environ.get("STATUSWEB_ADMIN_PASSWORD", "")
    generated = False
    if not password and generate:
        password, generated = secrets.token_urlsafe(18), True
    elif not password:
        if not sys.stdin.isatty():
            raise ValueError("set STATUSWEB_ADMIN_PASSWORD, or run this on a terminal to type it")
        password = getpass.getpass(f"password for {name}: ")
        if password != getpass.getpass("again: "):
            raise ValueError("the two passwords differ; nothing was saved")
    problem = password_problem(password, name)
    if problem:
        source = "STATUSWEB_ADMIN_PASSWORD" if os.environ.get("STATUSWEB_ADMIN_PASSWORD") else "the password"
        raise ValueError(f"{source} will not do: {problem} Nothing was saved.")
    return password, generated


def _print_boxed(lines: list[str]) -> None:
    """A message nobody scrolling a container's log can miss."""
    width = max(len(line) for line in lines)
    print("+" + "-" * (width + 2) + "+")
    for line in lines:
        print(f"| {line:<{width}} |")
    print("+" + "-" * (width + 2) + "+", flush=True)


if __name__ == "__main__":
    sys.exit(main())
