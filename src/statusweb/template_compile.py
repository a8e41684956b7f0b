"""Chameleon compiles one template at a time, whatever the number of server threads.

CPython 3.11's `compile()` run in two threads at once can fail with "SystemError: AST
constructor recursion depth mismatch" (a CPython bug in the AST validator's depth
bookkeeping). waitress renders in several threads, and Chameleon compiles a template on
its first render, so two first renders at once answered 500 now and then (seen in the
browser tests on /admin/login). A lock around Chameleon's compile step costs nothing
after each template's first render.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from chameleon.template import BaseTemplate

_COMPILING = threading.Lock()


def _one_at_a_time(cook: Any) -> Any:
    @functools.wraps(cook)
    def cook_alone(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _COMPILING:
            return cook(self, *args, **kwargs)

    cook_alone.statusweb_serialized = True  # type: ignore[attr-defined]
    return cook_alone


def includeme(config: Any) -> None:
    if not getattr(BaseTemplate._cook, "statusweb_serialized", False):
        BaseTemplate._cook = _one_at_a_time(BaseTemplate._cook)  # type: ignore[method-assign]
