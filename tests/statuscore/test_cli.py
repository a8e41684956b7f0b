"""The `statuscore` command as a person (or a deploy script) runs it."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from statuscore.cli import main
from tests.targets import garbage, raw_tcp, refused_url, reset_connection

# Runs the CLI and, at exit, prints the process's own peak RSS to stderr: VmHWM belongs to
# the address space made at exec, unlike ru_maxrss, which Linux carries over from the
# forking parent (here, the whole pytest process).
_MEASURED_CLI = (
    "import atexit, sys; atexit.register(lambda: print('peak_rss_kb', "
    "[l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0], "
    "file=sys.stderr)); from statuscore.cli import main; sys.exit(main())"
)


async def statuscore(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    import os

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _MEASURED_CLI,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


def write_monitors(tmp_path, monitors: list[tuple[str, str, str]], extra: str = "") -> str:
    lines = ["[defaults]", 'timeout = "1s"', "retries = 0", extra]
    for name, kind, url in monitors:
        lines += ["[[monitor]]", f'name = "{name}"', f'type = "{kind}"', f'url = "{url}"']
    path = tmp_path / "monitors.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


async def test_check_all_up_exits_0_with_a_table(target, tmp_path):
    base, _ = target
    path = write_monitors(tmp_path, [("Site", "http", f"{base}/ok"), ("MCP", "sse", f"{base}/sse/ok")])
    code, out, err = await statuscore("check", path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["STATUS", "MONITOR", "TYPE", "LATENCY", "CODE", "TRIES", "REASON"]
    assert lines[1].startswith("UP") and "Site" in lines[1] and "200" in lines[1]


async def test_a_push_monitor_before_its_first_push_is_waiting_not_down(target, tmp_path):
    """Issue 30: `statuscore check` said DOWN ("no push received yet") and exited 1 while
    the page said Operational; a one-off check cannot have seen a push: waiting."""
    base, _ = target
    path = write_monitors(tmp_path, [("Site", "http", f"{base}/ok")])
    with open(path, "a") as file:
        file.write(
            '[[monitor]]\nname = "Export"\ntype = "push"\ntoken = "nightly-export-0123456789abcdefgh"\n'
            'expect_every = "24h"\n'
        )
    code, out, err = await statuscore("check", path)
    assert code == 0, err
    export = next(line for line in out.splitlines() if "Export" in line)
    assert export.split()[:4] == ["WAITING", "Export", "push", "-"]
    assert export.endswith("waiting for its first push (expected every 24 h)")
    code, out, _ = await statuscore("check", "--json", path)
    waiting = json.loads(out.splitlines()[1])
    assert code == 0 and waiting["status"] == "unknown" and waiting["latency_ms"] is None


async def test_check_json_and_exit_1_when_anything_is_down(target, tmp_path):
    base, _ = target
    path = write_monitors(tmp_path, [("Site", "http", f"{base}/ok"), ("Broken", "http", f"{base}/status/500")])
    code, out, _ = await statuscore("check", "--json", path)
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in rows] == ["up", "down"]
    assert set(rows[0]) == {
        "name",
        "slug",
        "type",
        "status",
        "latency_ms",
        "status_code",
        "error",
        "attempts",
        "checked_at",
        "truncated",
    }
    assert rows[1]["error"] == "HTTP 500 Internal Server Error (expected 2xx)"


async def test_check_a_bare_url(target):
    base, _ = target
    code, out, _ = await statuscore("check", f"{base}/ok")
    assert code == 0 and "UP" in out


async def test_config_error_exits_2_naming_file_monitor_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[monitor]]\nname = "Linker"\nurl = "https://x.test/"\ntimeout = "soon"\n')
    code, out, err = await statuscore("check", str(path))
    assert code == 2
    assert err.splitlines()[0] == (
        f"error: {path}: monitor 'Linker': key 'timeout': expected a duration like "
        f'"10s", "500ms", "2m" or "1h", got \'soon\''
    )
    code, _, err = await statuscore("validate", str(path))
    assert code == 2 and "key 'timeout'" in err


def test_validate_and_plugins(capsys):
    assert main(["validate", "examples/local.toml"]) == 0
    assert "4 monitor(s)" in capsys.readouterr().out
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    for name in ("http", "two_phase", "sse", "slack", "webhook"):
        assert any(line.split()[2:3] == [name] or line.split()[1:2] == [name] for line in out.splitlines())
    assert "statuscore 0.1.0" in out


async def test_every_hostile_target_is_down_within_timeout_and_memory_stays_small(target, tmp_path):
    """The issue's promise: a broken target of every kind gives DOWN with a clear reason
    within timeout + 1 s, and the process stays under 100 MB."""
    base, _ = target
    async with raw_tcp(reset_connection) as reset_base, raw_tcp(garbage) as garbage_base:
        hostile = [
            ("500", "http", f"{base}/status/500"),
            ("404", "http", f"{base}/status/404"),
            ("slow", "http", f"{base}/slow?delay=5"),
            ("hang", "http", f"{base}/hang"),
            ("hang mid-body", "http", f"{base}/hang-body"),
            ("refused", "http", refused_url()),
            ("reset", "http", f"{reset_base}/"),
            ("garbage", "http", f"{garbage_base}/"),
            ("redirect loop", "http", f"{base}/loop/a"),
            ("sse wrong type", "sse", f"{base}/sse/wrong-type"),
            ("sse silent", "sse", f"{base}/sse/silent"),
        ]
        path = write_monitors(tmp_path, hostile, "conditions = []")
        path_text = open(path).read().replace("conditions = []\n", "")
        open(path, "w").write(path_text)
        started = time.monotonic()
        code, out, err = await statuscore("check", "--json", path)
        elapsed = time.monotonic() - started
    rows = {row["name"]: row for row in map(json.loads, out.splitlines())}
    assert code == 1, err
    assert all(row["status"] == "down" for row in rows.values())
    assert all(row["latency_ms"] <= 2000 for row in rows.values())
    assert elapsed < 1 + 1 + 5  # timeout + 1 s, plus the interpreter's start-up
    reasons = {name: row["error"] for name, row in rows.items()}
    assert reasons["hang"] == "timed out after 1.0 s waiting for headers"
    assert reasons["hang mid-body"] == "timed out after 1.0 s reading the body"
    assert reasons["redirect loop"] == "redirect loop"
    assert reasons["garbage"] == "invalid HTTP response: bad status line: Expected HTTP/, RTSP/ or ICE/"
    assert reasons["sse silent"] == "timed out after 1.0 s waiting for the first event"
    print("\n".join(f"{name:>15}: {reason}" for name, reason in reasons.items()))
    peak_rss_kb = int(err.split("peak_rss_kb")[1].split()[0])
    print(f"peak RSS of the checking process: {peak_rss_kb / 1024:.1f} MB")
    assert peak_rss_kb / 1024 < 100


async def test_decompression_bombs_are_cut_at_the_cap_in_every_check_type(target, tmp_path):
    """~1 MB that decodes to 1 GiB, as gzip, deflate and br: the 1 MiB cap counts decoded
    bytes, so each check ends by its conditions within timeout + 1 s and the checking
    process stays under 100 MB."""
    from tests.targets import decompression_bombs

    base, _ = target
    decompression_bombs()  # made before the clock starts
    monitors = [
        f'''
[[monitor]]
name = "{encoding}"
url = "{base}/bomb/{encoding}"
conditions = ["status == 200"]'''
        for encoding in ("gzip", "deflate", "br")
    ]
    monitors.append(f'''
[[monitor]]
name = "linker"
type = "two_phase"
url = "{base}/bomb/gzip?status=202"
poll_url = "{base}/task/{{task_id}}"''')
    monitors.append(f'''
[[monitor]]
name = "mcp"
type = "sse"
url = "{base}/bomb/br?type=text/event-stream"''')
    path = tmp_path / "bombs.toml"
    path.write_text('[defaults]\ntimeout = "5s"\nretries = 0\n' + "\n".join(monitors) + "\n")
    started = time.monotonic()
    code, out, err = await statuscore("check", "--json", str(path))
    elapsed = time.monotonic() - started
    rows = {row["name"]: row for row in map(json.loads, out.splitlines())}
    print(
        "\n".join(
            f"{name:>8}: {row['status']} in {row['latency_ms']} ms, truncated={row['truncated']}, {row['error']}"
            for name, row in rows.items()
        )
    )
    for encoding in ("gzip", "deflate", "br"):
        assert rows[encoding]["status"] == "up", rows[encoding]
        assert rows[encoding]["truncated"] is True
    assert rows["linker"]["status"] == "down"
    assert rows["linker"]["error"] == (
        "no task id at 'task_id' in the submit answer (the answer was cut at max_body_bytes, 1048576 bytes)"
    )
    assert rows["mcp"]["status"] == "down"
    assert rows["mcp"]["error"] == "no complete event in the first 65536 bytes"
    assert all(row["latency_ms"] < 6000 for row in rows.values())
    peak_rss_kb = int(err.split("peak_rss_kb")[1].split()[0])
    print(f"peak RSS of the checking process: {peak_rss_kb / 1024:.1f} MB; whole command {elapsed:.1f} s")
    assert peak_rss_kb / 1024 < 100


async def test_run_checks_on_schedule_alerts_and_stops_cleanly_on_ctrl_c(target, tmp_path):
    import os
    import signal

    from tests.targets import SlackShapedServer

    base, app = target
    from tests.targets import SEQUENCES

    app[SEQUENCES]["site"] = [500]
    slack = SlackShapedServer()
    async with slack.running() as hook:
        path = write_monitors(tmp_path, [("Site", "http", f"{base}/sequence/site")], 'interval = "1s"')
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "statuscore",
            "run",
            path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "SLACK_WEBHOOK_URL": hook},
        )
        lines = []
        while len([line for line in lines if "DOWN" in line]) < 2:
            lines.append((await asyncio.wait_for(process.stdout.readline(), 10)).decode())
        process.send_signal(signal.SIGINT)
        rest, err = await asyncio.wait_for(process.communicate(), 10)
    output = "".join(lines) + rest.decode()
    assert process.returncode == 0, err.decode()
    assert "running 1 monitor(s); alerts: slack" in output
    assert "-> Site: unknown -> down (down)" in output
    assert output.rstrip().endswith("stopped")
    assert hook not in output + err.decode()  # the webhook URL is a secret
    assert len(slack.messages) == 1


async def run_until(path: str, hook: str, done, seconds: float = 30.0) -> str:
    """`statuscore run path` with Slack at `hook` until `done()`; its output (SIGINT at the end)."""
    import os
    import signal
    import time

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "statuscore",
        "run",
        path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SLACK_WEBHOOK_URL": hook},
    )
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline and process.returncode is None:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # room for a repeat or a stray group to show itself
    process.send_signal(signal.SIGINT)
    output, _ = await asyncio.wait_for(process.communicate(), 10)
    return output.decode()


async def test_run_a_service_flipping_while_slack_fails_alerts_each_change_in_order_never_grouped(target, tmp_path):
    """Down, up, down, up a second apart while Slack answers 500 three times: Slack gets
    four messages in that order, none "services down within a minute: Mcp, Mcp"."""
    from tests.targets import SEQUENCES, SlackShapedServer

    base, app = target
    app[SEQUENCES]["mcp"] = [200, 503, 200, 503, 200]
    slack = SlackShapedServer()
    for _ in range(3):
        slack.fail_next(500)
    async with slack.running() as hook:
        path = write_monitors(tmp_path, [("Mcp", "http", f"{base}/sequence/mcp")], 'interval = "1s"')
        output = await run_until(path, hook, lambda: len(slack.messages) >= 4)
    titles = [m["text"].split(" (")[0] for m in slack.messages]
    assert titles == ["🔴  Service Down: Mcp", "🟢  Service Recovered: Mcp"] * 2, output


async def test_run_five_services_behind_one_server_first_at_once_then_one_message(target, tmp_path):
    from tests.targets import SEQUENCES, SlackShapedServer

    base, app = target
    names = ["Website", "Linker", "MCP", "Export", "Search"]
    for name in names:
        app[SEQUENCES][name.lower()] = [200, 503]
    slack = SlackShapedServer()
    async with slack.running() as hook:
        path = write_monitors(
            tmp_path,
            [(n, "http", f"{base}/sequence/{n.lower()}") for n in names],
            'interval = "1s"\n[[alert]]\ntype = "slack"\ngroup_wait = "3s"\n',
        )
        output = await run_until(path, hook, lambda: len(slack.messages) >= 2)
    assert len(slack.messages) == 2, output
    first, rest = (m["text"].split("\n")[0] for m in slack.messages)
    assert first.startswith("🔴  Service Down: ")
    told = first.split(": ")[1].split(" (")[0]
    assert rest.startswith("🔴  5 services down within a minute: ")
    assert sorted(rest.split(": ", 1)[1].split(", ")) == sorted(names) and rest.endswith(told)


async def test_run_a_service_that_flaps_then_stays_down_gets_flapping_and_settled_promptly(target, tmp_path):
    """flap_threshold = 3: down, up, down, up, then down for good. Slack hears DOWN,
    RECOVERED, DOWN, FLAPPING (the third change), then, flap_settle (3) checks into the
    outage, that it settled DOWN; nothing waits behind a held DOWN."""
    import time

    from tests.targets import SEQUENCES, SlackShapedServer

    base, app = target
    app[SEQUENCES]["mcp"] = [200, 503, 200, 503, 200, 503]
    slack = SlackShapedServer()
    async with slack.running() as hook:
        path = write_monitors(
            tmp_path, [("Mcp", "http", f"{base}/sequence/mcp")], 'interval = "1s"\nflap_threshold = 3\nflap_settle = 3'
        )
        started = time.monotonic()
        output = await run_until(path, hook, lambda: any("No Longer Flapping" in m["text"] for m in slack.messages))
        took = time.monotonic() - started
    titles = [m["text"].split(" (")[0] for m in slack.messages]
    assert titles == [
        "🔴  Service Down: Mcp",
        "🟢  Service Recovered: Mcp",
        "🔴  Service Down: Mcp",
        "🟠  Service Flapping: Mcp",
        "🔴  Service Down, No Longer Flapping: Mcp",
    ], output
    assert took < 20, f"settled after {took:.1f} s"
