"""The operator's first hour from a terminal (issue 30, points 5 and 11), through
`statusweb-admin` as a subprocess on both databases: the first admin owns the
organizations monitors.toml made (and opens their private pages), members are listed
and removed (never the last owner), a pipeline gets its API token from the CLI, and
every command's --help says what each argument is."""

from __future__ import annotations

import argparse

import pytest

from tests.statusweb.pages import sync_monitors_toml
from tests.statusweb.views.test_admin import add_user, login
from tests.test_deployment import statusweb_admin

PRIVATE_PAGE = """
[[page]]
slug = "internal"
name = "Internal"
organization = "sefaria-ops"
private = true

[[monitor]]
name = "Build Farm"
url = "http://127.0.0.1:9/"
page = "internal"
"""


def in_process(capsys, ini, command: str, *args: str) -> tuple[int, str]:
    """The same command through main() in this process (for the many refusals): exit, stderr."""
    from statusweb.cli import main

    code = main([*command.split(), str(ini), *args])
    return code, capsys.readouterr().err


def admin(ini, command: str, *args: str, password: str = "a long first password"):
    """`statusweb-admin COMMAND CONFIG ARGS...` (COMMAND: "member list", "create-user")."""
    return statusweb_admin(*command.split(), str(ini), *args, env={"STATUSWEB_ADMIN_PASSWORD": password})


@pytest.fixture
def ini(tmp_path, db_url):
    path = tmp_path / "statusweb.ini"
    path.write_text(f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {db_url}\n")
    return path


def test_the_first_admin_owns_the_organization_a_private_page_made(engine, ini, tmp_path, make_testapp):
    sync_monitors_toml(engine, tmp_path / "monitors.toml", PRIVATE_PAGE)  # the runner did this before bootstrap
    boot = admin(ini, "bootstrap", password="correct horse")
    assert boot.returncode == 0, boot.stderr
    assert "'admin' is also owner of sefaria-ops (they had no owner)" in boot.stdout
    app = make_testapp()
    login(app, "admin")
    assert "Build Farm" in app.get("/pages/internal/").text  # not a 404 on their own page
    listed = admin(ini, "member list", "sefaria-ops")
    assert listed.returncode == 0 and listed.stdout.splitlines() == ["owner  admin"]


def test_an_organization_made_from_the_config_later_gets_the_installs_owners(engine, ini, tmp_path, make_testapp):
    assert admin(ini, "bootstrap", password="correct horse").returncode == 0
    sync_monitors_toml(engine, tmp_path / "monitors.toml", PRIVATE_PAGE)
    app = make_testapp()
    login(app, "admin")
    assert "Build Farm" in app.get("/pages/internal/").text


def test_members_are_listed_and_removed_but_never_the_last_owner(engine, ini, capsys):
    for name in ("ann", "bob"):
        add_user(engine, name, "editor")
    for setup in (
        ("organization add", "acme"),
        ("member add", "acme", "ann", "--role", "owner"),
        ("member add", "acme", "bob"),
    ):
        assert in_process(capsys, ini, *setup)[0] == 0, setup
    assert admin(ini, "member list", "acme").stdout.splitlines() == ["owner  ann", "member bob"]
    last = admin(ini, "member remove", "acme", "ann")
    assert last.returncode == 2 and "the only owner of 'acme'" in last.stderr and "Traceback" not in last.stderr
    code, said = in_process(capsys, ini, "member add", "acme", "ann", "--role", "member")
    assert code == 2 and "the only owner" in said
    removed = admin(ini, "member remove", "acme", "bob")
    assert removed.returncode == 0 and "removed 'bob' from 'acme'" in removed.stdout
    assert admin(ini, "member list", "acme").stdout.splitlines() == ["owner  ann"]
    for bad, says in (
        (("member", "remove", "acme", "bob"), "is not in 'acme'"),
        (("member", "remove", "nope", "ann"), "no organization 'nope'"),
        (("member", "list", "acme\r\nx"), "no organization"),
        (("member", "remove", "acme", "nobody"), "no user 'nobody'"),
    ):
        code, said = in_process(capsys, ini, f"{bad[0]} {bad[1]}", *bad[2:])
        assert code == 2 and says in said, (bad, said)


def test_a_pipeline_makes_its_token_from_the_cli_and_uses_it(engine, ini, make_testapp, capsys):
    assert admin(ini, "organization add", "acme").returncode == 0
    made = admin(ini, "token create", "acme", "deploy pipeline", "--scope", "write", "--days", "30")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("sw_") and "\n" not in token and "shown once" in made.stderr
    app = make_testapp()
    answer = app.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_int == 200
    for bad in (("--days", "0"), ("--days", "367"), ("--days", "-5")):
        code, said = in_process(capsys, ini, "token create", "acme", "x", *bad)
        assert code == 2 and "a token lasts 1 to 366 days" in said, bad
    with pytest.raises(SystemExit) as usage:  # argparse's own refusal: exit 2 with the choices
        in_process(capsys, ini, "token create", "acme", "x", "--scope", "admin")
    assert usage.value.code == 2 and "invalid choice: 'admin'" in capsys.readouterr().err
    assert in_process(capsys, ini, "token create", "acme", "bad\nname")[0] == 2
    assert in_process(capsys, ini, "token create", "nope", "x")[0] == 2


def _actions(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_argument_of_every_command_says_what_it_is():
    from statuscore.cli import _parser
    from statusweb.cli import build_parser

    silent = [
        f"{path}: {action.dest}"
        for parser, prog in ((build_parser(), "statusweb-admin"), (_parser(), "statuscore"))
        for path, action in _actions(parser, prog)
        if not action.help
    ]
    assert silent == []
    shown = statusweb_admin("maintenance", "start", "--help", timeout=60).stdout
    assert "the app's ini file" in shown and "what the page and subscribers read" in shown
