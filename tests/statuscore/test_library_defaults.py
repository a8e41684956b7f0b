"""The library as another program meets it (issue 30, point 1): a one-call check of a
bare URL is tried once, so a refused port or a name that does not resolve answers at
once, not after three retries of ten seconds; retries only when asked; and loading a
config whose Slack sink is off writes nothing to the terminal (it logs, for programs
that configure logging)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import statuscore
from statuscore import Status
from statuscore.testing import FakeClock
from tests.targets import refused_url


def test_a_bare_url_is_tried_once():
    result = statuscore.check_sync(refused_url())
    assert result.status is Status.DOWN and result.attempts == 1 and result.max_attempts == 1
    assert "refused" in (result.error or "").lower()


def test_retries_only_when_the_caller_asks():
    clock = FakeClock()
    result = statuscore.check_sync(refused_url(), retries=2, retry_delay=5, clock=clock)
    assert result.attempts == 3 and result.max_attempts == 3
    monitor = statuscore.make_monitor(name="Site", url=refused_url(), retries=1, retry_delay="1s")
    assert statuscore.check_sync(monitor, clock=FakeClock()).attempts == 2  # a Monitor keeps its own policy


def test_loading_a_config_with_a_sink_off_prints_nothing(tmp_path):
    config = tmp_path / "monitors.toml"
    config.write_text('[[monitor]]\nname = "Site"\nurl = "http://127.0.0.1:9/"\n\n[[alert]]\ntype = "slack"\n')
    program = textwrap.dedent(f"""
        import logging, statuscore
        monitors = statuscore.load_monitors({str(config)!r}, env={{}})
        print(len(monitors))
        logging.basicConfig(level=logging.WARNING)  # a program that asks for warnings gets them
        statuscore.load_monitors({str(config)!r}, env={{}})
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "1\n"
    (line,) = done.stderr.splitlines()  # only the second load's, through the program's own logging
    assert line.startswith("WARNING:statuscore.config:") and "no webhook URL (set SLACK_WEBHOOK_URL)" in line
