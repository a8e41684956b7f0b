"""The mails' words live in templates/mail/*.txt: each is used, each fills in whole."""

from __future__ import annotations

import ast
import re
from importlib.resources import files
from pathlib import Path

import pytest

from statusweb.services.mail_text import mail_text

TEMPLATES = sorted(p.name.removesuffix(".txt") for p in files("statusweb").joinpath("templates/mail").iterdir())


def calls() -> dict[str, set[str]]:
    """Each mail_text("name", key=...) call in statusweb's source: name -> the keys it gives."""
    found: dict[str, set[str]] = {}
    for path in Path(str(files("statusweb"))).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "mail_text" and node.args:
                found.setdefault(node.args[0].value, set()).update(k.arg for k in node.keywords)
    return found


def test_every_template_is_used_and_every_placeholder_filled():
    assert TEMPLATES == ["confirm", "invitation", "update"]
    given_by_call = calls()
    assert sorted(given_by_call) == TEMPLATES  # every template used, no call without its file
    for name in TEMPLATES:
        given = given_by_call[name]
        text = files("statusweb").joinpath(f"templates/mail/{name}.txt").read_text(encoding="utf-8")
        assert set(re.findall(r"\$(\w+)", text)) == given, name


def test_an_update_reads_as_before_and_a_dollar_in_a_value_stays_as_written():
    text = mail_text(
        "update",
        title="Linker down",
        status="Resolved",
        when="Dec 06, 16:00 UTC",
        window="",
        body="Costs $5 of $$ to fix ${not a placeholder}.",
        root_cause="\n\nRoot cause: a full disk",
        link="https://status.example.org/incidents/1",
        page_name="Sefaria Status",
        unsubscribe="https://status.example.org/subscribe/unsubscribe/t",
    )
    assert text == (
        "Linker down\nResolved (Dec 06, 16:00 UTC)\n\nCosts $5 of $$ to fix ${not a placeholder}.\n\n"
        "Root cause: a full disk\n\nMore: https://status.example.org/incidents/1\n\n--\n"
        "You get this because you subscribed to Sefaria Status updates.\n"
        "Unsubscribe (one click): https://status.example.org/subscribe/unsubscribe/t\n"
    )


def test_a_missing_value_fails_loudly():
    with pytest.raises(KeyError):
        mail_text("confirm", page_name="Status")
