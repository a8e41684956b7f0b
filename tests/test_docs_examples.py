"""The code in README.md and docs/plugins.md, run as a reader would paste it: a check
type written from the docs registers, validates and checks a local target."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from statuscore import Status, check, load_registry, make_monitor
from statuscore.testing import HOST, serve_tcp

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path, after: str) -> list[str]:
    """The ```python blocks of `path` that come after the heading `after`."""
    text = path.read_text()
    text = text[text.index(after) :]
    return re.findall(r"```python\n(.*?)```", text, re.S)


def as_module(name: str, *blocks: str) -> types.ModuleType:
    """The blocks run as one module (registered, as dataclasses need to find it)."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile("\n".join(blocks), f"<{name}>", "exec"), module.__dict__)  # the docs' own code
    return module


async def test_the_readme_check_type_registers_and_checks(target):
    base, _ = target
    ping = as_module("readme_ping", python_blocks(ROOT / "README.md", "## Writing a check type")[0])
    registry = load_registry(autoload=False, extra_plugins=(ping,))
    monitor = make_monitor(name="Pinged", type="ping", url=f"{base}/ok", registry=registry)
    assert (await check(monitor, registry=registry)).status is Status.UP
    missing = make_monitor(name="Missing", type="ping", url=f"{base}/status/404", registry=registry)
    assert (await check(missing, registry=registry)).status is Status.DOWN


async def test_the_plugin_guide_check_type_registers_and_checks():
    hook, config, run, _ = python_blocks(ROOT / "docs" / "plugins.md", "## 3. The hook")
    tcp = as_module("guide_tcp", config, run, hook)
    registry = load_registry(autoload=False, extra_plugins=(tcp,))

    async def pong(reader, writer):
        await reader.readline()
        writer.write(b"+PONG\r\n")

    async with serve_tcp(pong) as port:
        monitor = make_monitor(
            name="Redis", type="tcp", host=HOST, port=port, send="PING", expect="+PONG", registry=registry
        )
        result = await check(monitor, registry=registry)
    assert result.status is Status.UP and result.values == {"reply": "+PONG"}


def test_the_plugin_guides_monitors_load_with_the_plugins_installed(tmp_path):
    """docs/plugins.md's monitors.toml for dns, postgres, redis, domain_expiry, icmp and grpc, as a reader pastes it."""
    from statuscore import load_config

    text = (ROOT / "docs" / "plugins.md").read_text()
    text = text[text.index("## 8. The check types in this repository") :]
    (block,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    path = tmp_path / "monitors.toml"
    path.write_text(block)
    env = {"STATUS_DB_URL": "postgresql://monitor:secret@db:5432/sefaria", "STATUS_REDIS_URL": "redis://cache:6379/0"}
    loaded = load_config(str(path), env=env)
    assert [m.type for m in loaded.monitors] == ["dns", "postgres", "redis", "domain_expiry", "icmp", "grpc"]
    assert "secret" not in repr(loaded.monitors)
