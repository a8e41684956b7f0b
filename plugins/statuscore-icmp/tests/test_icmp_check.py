"""`icmp` on 127.0.0.1, against a host in a network namespace that ignores echo requests
(its own net.ipv4.icmp_echo_ignore_all), and in a process allowed neither kind of ICMP
socket (no CAP_NET_RAW, and a namespace whose ping_group_range admits nobody)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from statuscore import ConfigError, Status
from statuscore.testing import run_check

HOST_SIDE, INSIDE = "10.231.9.1", "10.231.9.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _in_namespace(namespace: str, setting: str, value: str) -> None:
    """Set /proc/sys/<setting> inside `namespace` only (no procps needed: each network
    namespace has its own /proc/sys/net)."""
    _ip("netns", "exec", namespace, "sh", "-c", f'echo "{value}" > /proc/sys/{setting}')


def need_namespaces() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        message = "network namespaces need root and iproute2's `ip`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def quiet_host():
    """A namespace at 10.231.9.2, reached over a veth pair; yields a function that makes it
    ignore (or answer) ICMP echo requests."""
    need_namespaces()
    tag = str(os.getpid() % 100000)
    namespace, outside, inside = f"sci{tag}", f"scih{tag}", f"scin{tag}"
    shown = subprocess.run(["ip", "-o", "addr", "show", "to", HOST_SIDE], capture_output=True, text=True, timeout=10)
    for line in shown.stdout.splitlines():  # a killed run's leftover
        subprocess.run(["ip", "link", "del", line.split()[1]], capture_output=True, timeout=10)
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("addr", "add", f"{HOST_SIDE}/24", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("netns", "exec", namespace, "ip", "addr", "add", f"{INSIDE}/24", "dev", inside)
        _ip("netns", "exec", namespace, "ip", "link", "set", inside, "up")

        def ignore(yes: bool) -> None:
            _in_namespace(namespace, "net/ipv4/icmp_echo_ignore_all", str(int(yes)))

        yield ignore
    finally:
        subprocess.run(["ip", "link", "del", outside], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)


async def test_localhost_answers():
    result = await run_check("icmp", host="127.0.0.1", count=2, packet_interval="50ms", conditions=["icmp.loss == 0"])
    assert result.status is Status.UP, result.error
    assert result.error is None


async def test_a_host_that_ignores_ping_is_down_and_one_that_answers_is_up(quiet_host):
    quiet_host(False)
    answering = await run_check(
        "icmp", host=INSIDE, count=2, packet_interval="50ms", conditions=["icmp.rtt_avg < 1000"]
    )
    quiet_host(True)
    silent = await run_check("icmp", host=INSIDE, count=2, packet_interval="50ms", timeout="2s", retries=0)
    assert answering.status is Status.UP, answering.error
    assert silent.status is Status.DOWN and silent.error == f"no reply from {INSIDE}: 2 of 2 echo requests lost"


def test_a_process_allowed_no_icmp_socket_is_told_why():
    """No CAP_NET_RAW (setpriv drops it) in a namespace whose ping_group_range admits no
    group: the check is DOWN naming both ways to allow ICMP."""
    need_namespaces()
    if shutil.which("setpriv") is None:
        pytest.skip("util-linux's setpriv is needed")
    namespace = f"scp{os.getpid() % 100000}"
    script = textwrap.dedent(
        """
        import asyncio
        from statuscore.testing import run_check
        result = asyncio.run(run_check("icmp", host="127.0.0.1", count=1, retries=0))
        print(result.status.value, result.error, sep="|")
        """
    )
    try:
        _ip("netns", "add", namespace)
        _ip("netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        _in_namespace(namespace, "net/ipv4/ping_group_range", "1 0")
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                namespace,
                "setpriv",
                "--inh-caps=-net_raw",
                "--bounding-set=-net_raw",
                sys.executable,
                "-c",
                script,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)
    assert done.returncode == 0, done.stderr
    status, error = done.stdout.strip().split("|", 1)
    assert status == "down" and error.startswith("ICMP is not allowed to this process")
    assert "ping_group_range" in error and "CAP_NET_RAW" in error


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"host": ""}, "host"),
        ({"host": "a b"}, "host"),
        ({"host": "x\r\ny"}, "host"),
        ({"host": "127.0.0.1", "count": 0}, "count"),
        ({"host": "127.0.0.1", "count": 1000}, "count"),
        ({"host": "127.0.0.1", "packet_interval": "1ms"}, "packet_interval"),
        ({"host": "127.0.0.1", "socket": "magic"}, "socket"),
    ],
)
async def test_mistakes_fail_at_load_naming_the_key(keys, key):
    with pytest.raises(ConfigError) as caught:
        await run_check("icmp", **keys)
    assert caught.value.key == key, str(caught.value)
