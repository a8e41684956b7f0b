"""The words of the mails statusweb sends, from text templates beside the page templates
(templates/mail/*.txt, `string.Template`: $name placeholders), so they are read and
translated as text, not found inside f-strings. A missing value is a KeyError at once."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from string import Template


@cache
def _template(name: str) -> Template:
    return Template(files("statusweb").joinpath(f"templates/mail/{name}.txt").read_text(encoding="utf-8"))


def mail_text(name: str, **values: object) -> str:
    """templates/mail/<name>.txt with every placeholder filled in."""
    return _template(name).substitute(values)
