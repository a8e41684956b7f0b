"""The third-party path, walked as an outsider walks it: a plugin distribution found
through a real `statuscore` entry point, in a separate process."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from statuscore.testing import HOST, serve_tcp

THROWAWAY = '''
from dataclasses import dataclass
import statuscore


class Knock(statuscore.CheckType):
    """Opens a TCP connection: the smallest useful check type."""
    name = "knock"
    condition_subjects = frozenset({"knocked"})

    @dataclass(frozen=True, kw_only=True)
    class Config:
        host: str
        port: int

    async def run(self, ctx):
        import asyncio
        reader, writer = await asyncio.open_connection(self.config.host, self.config.port)
        writer.close()
        return statuscore.Attempt(ok=True, values={"knocked": 1})


@statuscore.hookimpl
def statuscore_check_types():
    return [Knock]
'''


def make_distribution(site: Path, dist: str, module: str, source: str, entry_name: str) -> None:
    """What `pip install` leaves behind: the module and a dist-info with entry points."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[statuscore]\n{entry_name} = {module}\n")


def statuscore_cli(*args: str, site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "statuscore", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site"
    path.mkdir()
    return path


async def test_an_installed_plugin_is_listed_and_runs_from_monitors_toml(site, tmp_path):
    make_distribution(site, "knock-check", "knock_check", THROWAWAY, "knock")
    listing = await asyncio.to_thread(statuscore_cli, "plugins", site=site, cwd=tmp_path)
    row = next(line for line in listing.stdout.splitlines() if " knock " in line)
    assert row.split()[:4] == ["check", "type", "knock", "knock-check"]

    async def idle(reader, writer):
        await reader.read(1)

    async with serve_tcp(idle) as port:
        (tmp_path / "monitors.toml").write_text(
            f'[[monitor]]\nname = "Knock"\ntype = "knock"\nhost = "{HOST}"\nport = {port}\n'
            f'conditions = ["knocked == 1"]\n'
        )
        checked = await asyncio.to_thread(statuscore_cli, "check", "--json", "monitors.toml", site=site, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["status"] == "up"


def test_plugin_config_errors_name_file_monitor_and_key(site, tmp_path):
    make_distribution(site, "knock-check", "knock_check", THROWAWAY, "knock")
    (tmp_path / "monitors.toml").write_text('[[monitor]]\nname = "Knock"\ntype = "knock"\nhost = "h"\nport = "80"\n')
    result = statuscore_cli("validate", "monitors.toml", site=site, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: monitors.toml: monitor 'Knock': key 'port': expected a whole number, got a string ('80')"
    )


def test_broken_plugins_are_listed_with_their_error_and_skipped(site, tmp_path):
    make_distribution(site, "broken-check", "broken_check", "import no_such_module\n", "broken")
    make_distribution(
        site,
        "liar-check",
        "liar_check",
        """
        import statuscore

        @statuscore.hookimpl
        def statuscore_check_types():
            return ["not a class"]
        """,
        "liar",
    )
    result = statuscore_cli("plugins", site=site, cwd=tmp_path)
    assert result.returncode == 0
    broken = [line for line in result.stdout.splitlines() if line.startswith("BROKEN")]
    assert any("broken-check" in line and "No module named 'no_such_module'" in line for line in broken)
    assert any("liar-check" in line and "not a subclass of CheckType" in line for line in broken)
    assert " http " in result.stdout  # the others still load


def test_two_plugins_claiming_one_type_is_a_startup_error_naming_both(site, tmp_path):
    make_distribution(site, "impostor-check", "impostor_check", THROWAWAY.replace('"knock"', '"http"'), "impostor")
    result = statuscore_cli("plugins", site=site, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: two plugins claim the name 'http': statuscore (statuscore.checks.http) and "
        "impostor-check (impostor_check); uninstall one of them"
    )


def test_autoload_can_be_switched_off(site, tmp_path):
    make_distribution(site, "impostor-check", "impostor_check", THROWAWAY.replace('"knock"', '"http"'), "impostor")
    env = {**os.environ, "PYTHONPATH": str(site), "STATUSCORE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "statuscore", "plugins"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0 and "impostor" not in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)  # waits for the image's virtualenv (tests/image_venv.py)
async def test_pip_install_of_the_tls_plugin_into_a_clean_virtualenv(image_venv, tmp_path):
    """The issue's 'done when': `pip install ./plugins/statuscore-tls` next to statuscore
    makes `tls_cert` usable from monitors.toml with no other change."""
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)

    async def hold(reader, writer):
        await reader.read(1)

    async with serve_tcp(hold, ssl=context) as port:
        (tmp_path / "monitors.toml").write_text(
            f'[[monitor]]\nname = "cert"\ntype = "tls_cert"\nhost = "{HOST}"\nport = {port}\n'
            f'ca_file = "{tmp_path / "ca.pem"}"\n'
        )
        out = await _run(str(image_venv / "bin/statuscore"), "check", "--json", str(tmp_path / "monitors.toml"))
    assert json.loads(out)["status"] == "up"
    listing = await _run(str(image_venv / "bin/statuscore"), "plugins")
    assert "tls_cert" in listing and "statuscore-tls 0.1.0" in listing


async def _run(*command: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(process.communicate(), 600)
    assert process.returncode == 0, err.decode()[-2000:]
    return out.decode()
