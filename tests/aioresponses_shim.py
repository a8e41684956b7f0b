"""Shim: aioresponses 0.7.9 builds `ClientResponse` without the `stream_writer` argument
that aiohttp 3.14 (a security release we keep) requires, failing with
"ClientResponse.__init__() missing ... 'stream_writer'" (aioresponses issue #289).

Its fix is the open PR #288. Until a release ships it, this supplies a writer that has
written nothing. Delete this file (and its import in conftest.py) once aioresponses
releases the fix.
"""

from __future__ import annotations

import inspect

import aiohttp
import aioresponses.core


class _NothingWritten:
    """Stands in for the request's stream writer: a mocked request sends no bytes."""

    output_size = 0


class _ResponseWithWriter(aiohttp.ClientResponse):
    def __init__(self, *args, stream_writer=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, stream_writer=stream_writer or _NothingWritten(), **kwargs)


def install() -> None:
    needs_writer = "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters
    if needs_writer and aioresponses.core.ClientResponse is aiohttp.ClientResponse:
        aioresponses.core.ClientResponse = _ResponseWithWriter
