"""The image's virtualenv (what the Dockerfile installs) for the tests that walk an
outsider's path, built once per run and shared by the test processes.

A clean `pip install` of the project, its web extra and the plugins takes a minute or
more. Built by each worker as it reached such a test, it cost each of them that long;
now the run's first process starts it in the background as the whole suite begins, the
tests that need it are put last, and each worker only waits for what is left of it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER_VARIABLE = "STATUSWEB_TEST_IMAGE_VENV"  # where it is built (the workers inherit it)
PLUGINS = ("tls", "tcp", "dns", "db", "grpc", "icmp", "domain")


def start(folder: Path) -> subprocess.Popen[bytes]:
    """Build it in `folder` in the background: `folder/venv`, then `folder/done` (or
    `folder/failed`, with pip's output in `folder/log`)."""
    venv = folder / "venv"
    install = [
        str(venv / "bin/python"),
        *("-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt"), f"{ROOT}[web]"),
        *(str(ROOT / f"plugins/statuscore-{plugin}") for plugin in PLUGINS),
    ]
    script = (
        f"{shlex.quote(sys.executable)} -m venv {shlex.quote(str(venv))} && {shlex.join(install)}"
        f" && touch {shlex.quote(str(folder / 'done'))} || touch {shlex.quote(str(folder / 'failed'))}"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    with open(folder / "log", "wb") as log:
        return subprocess.Popen(["bash", "-c", script], stdout=log, stderr=subprocess.STDOUT, env=env)


def wait(folder: Path, timeout: float = 900) -> Path:
    """The virtualenv, once built; an error with pip's last words when it failed."""
    deadline = time.monotonic() + timeout
    while not (folder / "done").exists():
        if (folder / "failed").exists():
            raise RuntimeError(f"building the image's virtualenv failed:\n{(folder / 'log').read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the image's virtualenv in {folder} was not built within {timeout:.0f} s")
        time.sleep(0.5)
    return folder / "venv"


def runs_whole_suite(args: list[str]) -> bool:
    """No test file or folder named on the command line (`make test`)."""
    return not any(not arg.startswith("-") and os.path.exists(arg.split("::")[0]) for arg in args)
