"""A page's own look (issue 34, point 5): its default language and its own stylesheet,
from a [[page]] of monitors.toml and from the admin, on both databases. The reader's
own choice (the switcher's cookie) beats the page's language, which beats the browser's;
the stylesheet is served as /page.css after the page's own, sanitised: nothing loads
from another host, nothing runs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from statuscore import ConfigError
from statusweb.models import Page, get_session_factory
from tests.statusweb.pages import sync_monitors_toml
from tests.statusweb.views.test_admin import add_user, login

STYLESHEET = """\
@import url("https://fonts.example.com/sefaria.css");
:root { --accent: #18345d; }
.banner { background: url(//tracker.example.net/pixel.png); border-radius: 0; }
.brand { background-image: url("img/logo.svg"); font-family: "Taamey Frank", serif; }
@font-face { font-family: Taamey; src: url(https://fonts.example.com/taamey.woff2); }
@media (max-width: 600px) { .service { padding: 4px; } }
"""

MONITORS = """
[[page]]
slug = "texts"
name = "Texts"
language = "he"
css = "texts.css"

[[page]]
slug = "plain"
name = "Plain"

[[monitor]]
name = "Library"
url = "http://127.0.0.1:9/"
page = "texts"

[[monitor]]
name = "Other"
url = "http://127.0.0.1:9/other"
page = "plain"
"""


@pytest.fixture
def synced(engine, tmp_path):
    (tmp_path / "texts.css").write_text(STYLESHEET)
    sync_monitors_toml(engine, tmp_path / "monitors.toml", MONITORS)
    return tmp_path


def language(page) -> tuple[str, str]:
    html = page.html.select_one("html")
    return html["lang"], html["dir"]


def test_the_pages_language_is_what_a_reader_who_chose_none_gets(synced, make_testapp):
    app = make_testapp()
    for _ in range(2):  # the second answer comes from the page cache's shortcut
        assert language(app.get("/pages/texts/")) == ("he", "rtl")
        assert language(app.get("/pages/texts/", headers={"Accept-Language": "es, en;q=0.5"})) == ("he", "rtl")
        assert language(app.get("/pages/plain/", headers={"Accept-Language": "es, en;q=0.5"})) == ("es", "ltr")
        assert language(app.get("/pages/plain/")) == ("en", "ltr")
    app.get("/pages/texts/lang/en", params={"next": "/pages/texts/"}, status=303)  # the reader chooses
    assert language(app.get("/pages/texts/")) == ("en", "ltr")
    assert app.get("/pages/texts/api/v2/summary.json").json["page"]["name"] == "Texts"


def test_the_stylesheet_is_served_sanitised_after_the_pages_own(synced, make_testapp):
    app = make_testapp()
    page = app.get("/pages/texts/")
    links = [link["href"] for link in page.html.select("link[rel=stylesheet]")]
    assert links[1] == "/pages/texts/theme.css" and links[2].startswith("/pages/texts/page.css?v=")
    served = app.get(links[2])
    assert served.content_type == "text/css"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    css = served.text
    assert "--accent: #18345d;" in css and 'url("img/logo.svg")' in css and "@media (max-width: 600px)" in css
    assert "border-radius: 0;" in css  # the rest of a rule stays when one declaration goes
    for gone in ("@import", "example.com", "tracker", "@font-face"):
        assert gone not in css
    assert app.get("/pages/texts/page.css").headers["Cache-Control"] == "public, max-age=300"
    plain = app.get("/pages/plain/")
    assert not [link for link in plain.html.select("link[rel=stylesheet]") if "page.css" in link["href"]]
    app.get("/pages/plain/page.css", status=404)
    app.get("/page.css", status=404)


def test_the_runner_says_what_sanitising_took_out_naming_file_page_and_key(engine, synced, caplog):
    from statusweb.runner.runner import Runner
    from statusweb.settings import RunnerSettings

    with caplog.at_level(logging.WARNING, logger="statusweb.runner"):
        Runner(RunnerSettings(database_url="unused", monitors_path=str(synced / "monitors.toml")), engine=engine)
    notes = [record.getMessage() for record in caplog.records]
    where = f"{synced / 'monitors.toml'}: key 'page[0].css' (texts.css): "
    assert notes == [
        where + "line 1: @import left out (a page's stylesheet loads nothing else)",
        where + "line 3: background left out (it names another host)",
        where + "line 5: @font-face left out (its font is on another host)",
    ]


def runner_error(engine, tmp_path, page: str, files: dict[str, bytes] | None = None) -> ConfigError:
    from statusweb.runner.runner import Runner
    from statusweb.settings import RunnerSettings

    for name, data in (files or {}).items():
        (tmp_path / name).write_bytes(data)
    path = tmp_path / "monitors.toml"
    path.write_text(f'[[page]]\nslug = "texts"\n{page}\n[[monitor]]\nname = "A"\nurl = "http://127.0.0.1:9/"\n')
    with pytest.raises(ConfigError) as raised:
        Runner(RunnerSettings(database_url="unused", monitors_path=str(path)), engine=engine)
    assert raised.value.file == str(path)
    return raised.value


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("page", "files", "key", "message"),
    [
        ('language = "fr"', {}, "page[0].language", "the pages speak en, es, he, not 'fr'"),
        ('language = "EN\\r\\n"', {}, "page[0].language", "a two-letter language code"),
        ('css = "missing.css"', {}, "page[0].css", "cannot read"),
        ('css = "big.css"', {"big.css": b"a{}" * 30_000}, "page[0].css", "is over 64 KiB"),
        ('css = "latin1.css"', {"latin1.css": b".a{content:'\xe9'}"}, "page[0].css", "is not UTF-8 (byte 12)"),
        ('css = "evil\\r\\n.css"', {}, "page[0].css", "the path of a .css file"),
        ('css = "look.txt"', {}, "page[0].css", "the path of a .css file"),
    ],
)
def test_a_bad_language_or_stylesheet_is_an_error_naming_file_and_key(engine, tmp_path, page, files, key, message):
    error = runner_error(engine, tmp_path, page, files)
    assert error.key == key
    assert message in error.message


# -- the admin ----------------------------------------------------------------------------


@pytest.fixture
def owner(engine, synced, make_testapp):
    add_user(engine, "ann", "admin")
    app = make_testapp()
    login(app, "ann")
    return app


def page_id(engine, slug: str) -> int:
    with get_session_factory(engine)() as session:
        return session.scalar(select(Page.id).where(Page.slug == slug))


def test_an_owner_sets_a_pages_language_and_stylesheet_in_the_admin(engine, owner, make_testapp):
    number = page_id(engine, "plain")
    form = owner.get(f"/admin/pages/{number}").forms["page-form"]
    assert form["language"].value == ""
    form["language"] = "es"
    form["stylesheet"] = ".banner { border: 2px solid #18345d; } /* שלום */"
    form.submit(status=303)
    visitor = make_testapp()
    page = visitor.get("/pages/plain/", headers={"Accept-Language": "he"})
    assert language(page) == ("es", "ltr")
    link = next(link["href"] for link in page.html.select("link[rel=stylesheet]") if "page.css" in link["href"])
    assert visitor.get(link).text == ".banner {\n  border: 2px solid #18345d;\n}\n"
    again = owner.get(f"/admin/pages/{number}").forms["page-form"]
    assert again["language"].value == "es" and "border: 2px solid" in again["stylesheet"].value


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("stylesheet", '@import "https://evil.example/x.css";', "@import left out"),
        ("stylesheet", ".a { background: url(javascript:alert(1)) }", "its value does not parse"),
        ("stylesheet", '.a { background: url("javascript:alert(1)") }', "it names another host"),
        ("stylesheet", ".a { width: expression(alert(1)) }", "expression() runs code"),
        ("stylesheet", "a{}" * 22_000, "At most 65536 characters."),
        ("stylesheet", "é" * 40_000, "At most 64 KiB."),
        ("stylesheet", ".a { color: red }\x00", "cannot be stored"),
        ("language", "fr", "Choose one of"),
        ("language", "he\r\nSet-Cookie: x=1", "Choose one of"),
    ],
)
def test_a_stylesheet_that_reaches_out_or_a_bad_language_gets_the_form_back(engine, owner, field, value, error):
    number = page_id(engine, "plain")
    form = owner.get(f"/admin/pages/{number}").forms["page-form"]
    form[field].force_value(value) if field == "language" else form.set(field, value)
    answer = form.submit(status=400)
    assert (
        error
        in answer.html.select_one(f"[name={field}]")
        .find_parent("label")
        .find_next_sibling("p", class_="field-error")
        .text
    )
    with get_session_factory(engine)() as session:
        saved = session.get(Page, number)
        assert (saved.language, saved.stylesheet) == ("", "")


def test_a_page_in_the_other_organization_cannot_be_given_a_stylesheet(engine, owner):
    from statuscore import utcnow
    from statusweb.models import Organization

    now = utcnow()
    with get_session_factory(engine).begin() as session:
        other = Organization(slug="beta", name="Beta", created_at=now)
        session.add(other)
        session.flush()
        session.add(Page(slug="beta-page", name="Beta", organization_id=other.id, created_at=now, updated_at=now))
    number = page_id(engine, "beta-page")
    token = owner.get("/admin/pages").forms["page-form"]["csrf_token"].value
    owner.post(f"/admin/pages/{number}", {"csrf_token": token, "name": "x", "stylesheet": "a{}"}, status=404)
    with get_session_factory(engine)() as session:
        assert session.get(Page, number).stylesheet == ""
