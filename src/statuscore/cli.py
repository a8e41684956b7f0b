"""`statuscore check | run | validate | plugins`: the engine from a terminal.

Exit codes for `check`: 0 all up, 1 any down or degraded, 2 a config error, so a CI
smoke test or a deploy script can gate on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence

from .api import check_many
from .config import LoadedConfig, load_config, monitor_for_url
from .durations import format_duration
from .errors import ConfigError, PluginError
from .model import CheckResult, Status, Transition
from .plugins import load_registry
from .process import collector_paused, settle_loaded_config
from .scheduler import Scheduler

EXIT_OK, EXIT_PROBLEM, EXIT_CONFIG = 0, 1, 2
_MARKS = {
    Status.UP: "UP",
    Status.DEGRADED: "DEGRADED",
    Status.DOWN: "DOWN",
    Status.MAINTENANCE: "MAINT",
    Status.UNKNOWN: "WAITING",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_CONFIG
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args))
    except (ConfigError, PluginError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="statuscore", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser("check", help="check every monitor once and print the verdicts")
    check.add_argument("target", help="a monitors.toml, or a URL to check with GET")
    check.add_argument("--json", action="store_true", help="one JSON object per monitor per line")
    check.add_argument("-v", "--verbose", action="store_true", help="log each try and retry")
    check.set_defaults(handler=_check)
    run = commands.add_parser("run", help="check on schedule and send alerts until Ctrl-C")
    run.add_argument("file", help="a monitors.toml")
    run.add_argument("-v", "--verbose", action="store_true", help="log every check, not only changes")
    run.set_defaults(handler=_run)
    validate = commands.add_parser("validate", help="load a monitors.toml and report problems")
    validate.add_argument("file", help="a monitors.toml")
    validate.set_defaults(handler=_validate)
    plugins = commands.add_parser("plugins", help="list installed check types and alert sinks")
    plugins.set_defaults(handler=_plugins)
    return parser


def _check(args: argparse.Namespace) -> int:
    registry = load_registry()
    if "://" in args.target:
        monitors = [monitor_for_url(args.target, registry=registry, retries=0)]
    else:
        with collector_paused():
            monitors = list(load_config(args.target, registry=registry).monitors)
    if not args.json and sys.stderr.isatty():
        print(f"checking {len(monitors)} monitor(s)...", file=sys.stderr)
    settle_loaded_config()
    results = asyncio.run(check_many(monitors, registry=registry))
    types = {m.slug: m.type for m in monitors}
    if args.json:
        for result in results:
            print(json.dumps(result.as_dict(types[result.slug])))
    else:
        print(format_table(results, types))
    # waiting (a push monitor before its first push) has no verdict: it fails nothing
    return EXIT_OK if all(r.status in (Status.UP, Status.UNKNOWN) for r in results) else EXIT_PROBLEM


def format_table(results: Sequence[CheckResult], types: dict[str, str]) -> str:
    """The people-readable verdict: one row per monitor, the reason when it failed."""
    rows = [("STATUS", "MONITOR", "TYPE", "LATENCY", "CODE", "TRIES", "REASON")]
    for r in results:
        rows.append(
            (
                _MARKS[r.status],
                r.monitor,
                types.get(r.slug, ""),
                _latency(r),
                str(r.status_code or "-"),
                f"{r.attempts}/{r.max_attempts}",
                r.error or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _latency(result: CheckResult) -> str:
    return "-" if result.status is Status.UNKNOWN else f"{result.latency_ms} ms"


def _run(args: argparse.Namespace) -> int:
    logging.getLogger("statuscore").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    config = load_config(args.file)
    asyncio.run(_run_forever(config))
    return EXIT_OK


async def _run_forever(config: LoadedConfig) -> None:
    def show_result(result: CheckResult) -> None:
        print(
            f"{result.checked_at:%H:%M:%S} {_MARKS[result.status]:<8} {result.monitor} "
            f"{_latency(result)} {result.error or ''}".rstrip(),
            flush=True,
        )

    def show_transition(transition: Transition) -> None:
        extra = f" after {format_duration(transition.duration)}" if transition.duration else ""
        print(
            f"  -> {transition.monitor}: {transition.previous.value} -> "
            f"{transition.current.value} ({transition.kind.value}{extra})",
            flush=True,
        )

    scheduler = Scheduler(config.monitors, sinks=config.sinks, on_result=show_result, on_transition=show_transition)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, scheduler.stop)
    sinks = ", ".join(s.instance_name for s in config.sinks) or "none (set SLACK_WEBHOOK_URL)"
    print(f"running {len(config.monitors)} monitor(s); alerts: {sinks}; Ctrl-C stops", flush=True)
    await scheduler.run()
    print("stopped", flush=True)


def _validate(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(f"{args.file}: {len(config.monitors)} monitor(s), {len(config.sinks)} alert sink(s): OK")
    for warning in config.warnings:
        print(f"  warning: {warning}")
    for monitor in config.monitors:
        print(
            f"  {monitor.slug:<24} {monitor.type:<10} every {format_duration(monitor.interval)}, "
            f"timeout {format_duration(monitor.timeout)}, {monitor.retries} retries"
        )
    return EXIT_OK


def _plugins(args: argparse.Namespace) -> int:
    registry = load_registry()
    print(f"{'KIND':<11}{'NAME':<16}{'DISTRIBUTION':<28}MODULE")
    for kind, table in (("check type", registry.check_types), ("alert sink", registry.sinks)):
        for name, provided in sorted(table.items()):
            dist = f"{provided.distribution} {provided.version}".strip()
            print(f"{kind:<11}{name:<16}{dist:<28}{provided.cls.__module__}")
    for broken in registry.broken:
        print(f"{'BROKEN':<11}{broken.entry_point:<16}{broken.distribution:<28}{broken.error}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
