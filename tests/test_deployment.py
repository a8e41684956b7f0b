"""What the Docker image does, checked without a Docker engine: the Dockerfile passes
hadolint, and the image's own commands (pip install as in the Dockerfile, then
`statusweb-admin initdb production.ini` and `pserve production.ini`) work in a clean
virtualenv, configured only through the environment."""

from __future__ import annotations

import asyncio
import json
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
    assert "statusweb-admin bootstrap production.ini && exec pserve production.ini" in text


@pytest.mark.slow
@pytest.mark.timeout(900)  # waits for the image's virtualenv (tests/image_venv.py)
async def test_the_image_commands_work_in_a_clean_virtualenv(image_venv, tmp_path):
    workdir = tmp_path / "app"
    workdir.mkdir()
    port = free_port()
    ini = (ROOT / "production.ini").read_text().replace("listen = 0.0.0.0:6543", f"listen = 127.0.0.1:{port}")
    (workdir / "production.ini").write_text(ini)
    (workdir / "monitors.toml").write_text(
        f'[[monitor]]\nname = "Itself"\nurl = "http://127.0.0.1:{port}/healthz"\ninterval = "2s"\nretries = 0\n'
    )
    env = clean_env(
        DATABASE_URL=f"sqlite:///{workdir / 'var' / 'statusweb.sqlite'}",
        STATUSCORE_MONITORS=str(workdir / "monitors.toml"),
        STATUSWEB_SECRET="s" * 32,
        STATUS_PAGE_URL=f"http://127.0.0.1:{port}",
        STATUSWEB_PAGE_NAME="Sefaria Status",
    )
    bin_dir = image_venv / "bin"
    # The image's first start on an empty database: tables, then the admin, password printed once.
    first = subprocess.run(
        [str(bin_dir / "statusweb-admin"), "bootstrap", "production.ini"],
        cwd=workdir,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    print(first.stdout)
    box = [line for line in first.stdout.splitlines() if line.startswith("|")]
    assert box[0].startswith("| statusweb: created the admin user 'admin'")
    password = box[1].split(": ", 1)[1].rstrip(" |")
    again = subprocess.run(
        [str(bin_dir / "statusweb-admin"), "bootstrap", "production.ini"],
        cwd=workdir,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert "password" not in again.stdout  # a restart creates nobody and prints no password
    server = subprocess.Popen(
        [str(bin_dir / "pserve"), "production.ini"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        health = await _until_healthy(f"http://127.0.0.1:{port}/healthz", 30)
        assert health.startswith("ok")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status == 200
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        summary = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/summary.json", timeout=5))
        assert summary["page"]["name"] == "Sefaria Status"
        assert login_status(port, "admin", password) == 303
    finally:
        server.terminate()
        server.wait(30)
    assert server.returncode in (0, -15)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the virtualenv's and any deployment variable."""
    drop = (
        "PYTHONPATH",
        "VIRTUAL_ENV",
        "SLACK_WEBHOOK_URL",
        "STATUSWEB_SECRET",
        "DATABASE_URL",
        "STATUSWEB_TRUSTED_PROXY",
        "STATUS_PAGE_URL",
        "STATUSWEB_METRICS_TOKEN",
    )
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def statusweb_admin(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`statusweb-admin ARGS...` as an operator runs it: its own process (python -m
    statusweb.cli), this environment plus `env`, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "statusweb.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def login_status(port: int, name: str, password: str, forwarded_for: str | None = None) -> int:
    """POST the login form as a browser behind a TLS proxy does (its session cookie is
    Secure, so it is carried by hand over this plain-HTTP hop); the answer's status."""
    import http.client
    import urllib.parse

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/admin/login")
    answer = connection.getresponse()
    form = answer.read().decode()
    cookie = answer.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "name": name, "password": password})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    connection.request("POST", "/admin/login", body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


async def _until_healthy(url: str, seconds: float) -> str:
    for _ in range(int(seconds * 4)):
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            await asyncio.sleep(0.25)
    raise AssertionError(f"{url} never answered 200 within {seconds} s")
