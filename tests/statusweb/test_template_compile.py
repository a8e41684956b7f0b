"""statusweb.template_compile: first renders in many threads at once never fail."""

from __future__ import annotations

import threading

from chameleon import PageTemplate
from chameleon.template import BaseTemplate

from statusweb.template_compile import includeme


def test_templates_compiled_in_many_threads_at_once_all_render():
    includeme(None)
    assert getattr(BaseTemplate._cook, "statusweb_serialized", False)
    includeme(None)  # a second app in the same process wraps it only once
    assert getattr(BaseTemplate._cook.__wrapped__, "statusweb_serialized", False) is False
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def render(number: int) -> None:
        body = "".join(f'<p tal:condition="n > {i}">${{n * {i}}} ${{"x" * {number}}}</p>' for i in range(40))
        start.wait()
        try:
            assert "<p>" in PageTemplate(f"<div>{body}</div>")(n=100)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(number,)) for number in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
