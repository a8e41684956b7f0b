"""What a long-running process that holds its monitors may do about the collector."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def settle_loaded_config() -> None:
    """The loaded monitors live until the process ends: keep the collector from walking
    them again and again (`gc.freeze`), and let it run less often while thousands of
    checks allocate short-lived objects: 10-15% of `check` on 20,000 monitors
    (bench/engine.py). The process that owns the loop calls it once its config is loaded
    (`statuscore check`, statusweb's `run-checks`); the library never sets it itself."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off while a process builds what it will keep (loading 20,000
    monitors: it walked the growing heap 200 times, 0.07 s of 0.7), then as it was. For
    the process that owns the loop, like `settle_loaded_config`."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
