"""What a long-running process that holds its monitors may do about the collector."""

from __future__ import annotations

import gc


def settle_loaded_config() -> None:
    """The loaded monitors live until the process ends: keep the collector from walking
    them again and again (`gc.freeze`), and let it run less often while thousands of
    checks allocate short-lived objects: 10-15% of `check` on 20,000 monitors
    (bench/engine.py). The process that owns the loop calls it once its config is loaded
    (`statuscore check`, statusweb's `run-checks`); the library never sets it itself."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
