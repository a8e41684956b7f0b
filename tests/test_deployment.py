"""What the Docker image does, checked without a Docker engine: the Dockerfile passes
hadolint, and the image's own commands (pip install as in the Dockerfile, then
`statusweb-admin initdb production.ini` and `pserve production.ini`) work in a clean
virtualenv, configured only through the environment."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.targets import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_a_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", text, re.M)
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'statusweb-admin bootstrap production.ini && exec pserve production.ini' in text


@pytest.mark.slow
async def test_the_image_commands_work_in_a_clean_virtualenv(image_venv, tmp_path):
    workdir = tmp_path / "app"
    workdir.mkdir()
    port = free_port()
    ini = (ROOT / "production.ini").read_text().replace("listen = 0.0.0.0:6543", f"listen = 127.0.0.1:{port}")
    (workdir / "production.ini").write_text(ini)
    (workdir / "monitors.toml").write_text(
        f'[[monitor]]\nname = "Itself"\nurl = "http://127.0.0.1:{port}/healthz"\ninterval = "2s"\nretries = 0\n')
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(DATABASE_URL=f"sqlite:///{workdir / 'var' / 'statusweb.sqlite'}",
               STATUSCORE_MONITORS=str(workdir / "monitors.toml"), STATUSWEB_SECRET="s" * 32)
    bin_dir = image_venv / "bin"
    subprocess.run([str(bin_dir / "statusweb-admin"), "initdb", "production.ini"], cwd=workdir, env=env,
                   check=True, timeout=120)
    server = subprocess.Popen([str(bin_dir / "pserve"), "production.ini"], cwd=workdir, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        health = await _until_healthy(f"http://127.0.0.1:{port}/healthz", 30)
        assert health.startswith("ok")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status == 200
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        server.terminate()
        server.wait(30)
    assert server.returncode in (0, -15)


async def _until_healthy(url: str, seconds: float) -> str:
    for _ in range(int(seconds * 4)):
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            await asyncio.sleep(0.25)
    raise AssertionError(f"{url} never answered 200 within {seconds} s")
