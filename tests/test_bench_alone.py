"""A benchmark run alone says what it needs first (issue 30, point 11): bench/page.py
and bench/admin_history.py without bench/history.py's database exit 2 with a sentence
naming what to run, never a traceback."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("script, args", [("page.py", []), ("admin_history.py", ["--only", "postgresql"])])
def test_a_benchmark_without_its_history_database_says_to_run_history_first(script, args):
    missing = f"statusweb_bench_missing_{secrets.token_hex(4)}"
    done = subprocess.run(
        [sys.executable, script, *args],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STATUS_BENCH_HISTORY_DATABASE": missing},
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"the history database {missing!r} is not ready" in done.stderr
    assert "run `.venv/bin/python bench/history.py` first" in done.stderr
