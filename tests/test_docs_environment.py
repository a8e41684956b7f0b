"""README's environment table names every variable the code reads: the ini overrides
(settings.py), the monitors file's (statuscore/config.py) and every os.environ read in
src/ and plugins/ (found in the source, so a new one cannot be forgotten)."""

from __future__ import annotations

import re
from pathlib import Path

from statuscore.config import ENVIRONMENT
from statusweb.settings import ENVIRONMENT_OVERRIDES

ROOT = Path(__file__).resolve().parents[1]
READS = re.compile(
    r"""(?:os\.environ\.get\(|os\.environ\[|os\.getenv\(|environ\.get\(|env\.get\()\s*["']([A-Z][A-Z0-9_]+)["']"""
)
WSGI = {
    "CONTENT_LENGTH",
    "PATH_INFO",
    "QUERY_STRING",
    "REMOTE_ADDR",
    "REQUEST_METHOD",
    "SCRIPT_NAME",
}  # a request's, not the process's


def read_in_source() -> set[str]:
    found = set()
    for path in [*ROOT.glob("src/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py")]:
        found |= set(READS.findall(path.read_text(encoding="utf-8")))
    return {name for name in found if name not in WSGI and not name.startswith("HTTP_")}


def documented() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("### The environment") :]
    table = table[: table.index("\n\n", table.index("| variable |"))]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))


def test_every_variable_the_code_reads_is_in_the_readmes_table():
    read = read_in_source() | set(ENVIRONMENT_OVERRIDES) | set(ENVIRONMENT)
    assert {"PORT", "STATUSWEB_ADMIN_PASSWORD", "DEMO_PORT"} <= read  # the search finds direct reads
    assert read - documented() == set()
