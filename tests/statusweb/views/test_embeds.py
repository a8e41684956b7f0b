"""Embeds (issue 34, point 4): /embed, a line made to be framed by any site (and no
other page is), readable without JavaScript, in the reader's language, cached like the
page; /embed.js, which draws the same line from the CORS-open JSON; the snippets in the
admin. Then in Debian's Chromium: a page on another origin shows both."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from statuscore import Status
from tests.statusweb.browser.test_incident_flow import browser, serving  # noqa: F401 - the fixture
from tests.statusweb.pages import add_services, record_statuses, sync_monitors_toml
from tests.statusweb.views.test_admin import add_user, login

MONITORS = """
[[page]]
slug = "texts"
name = "Texts"

[[page]]
slug = "internal"
name = "Internal"
private = true

[[monitor]]
name = "Website"
url = "http://127.0.0.1:9/"

[[monitor]]
name = "Linker"
url = "http://127.0.0.1:9/linker"

[[monitor]]
name = "Queue"
url = "http://127.0.0.1:9/queue"
public = false

[[monitor]]
name = "Library"
url = "http://127.0.0.1:9/library"
page = "texts"

[[monitor]]
name = "Staging"
url = "http://127.0.0.1:9/staging"
page = "internal"
"""


@pytest.fixture
def monitors_file(engine, tmp_path):
    path = tmp_path / "monitors.toml"
    sync_monitors_toml(engine, path, MONITORS)
    return path


def line(answer) -> tuple[str, str, str]:
    """The embed's (banner class, text, link)."""
    link = answer.html.select_one("body.embed a.banner")
    level = next(name for name in link["class"] if name.startswith("banner-"))
    return level, " ".join(link.select_one("strong").text.split()), link["href"]


async def test_the_embed_shows_the_banner_or_one_service_and_only_it_may_be_framed(engine, monitors_file, make_testapp):
    await record_statuses(engine, monitors_file, {"website": Status.UP, "linker": Status.DOWN, "queue": Status.DOWN})
    app = make_testapp()
    for _ in range(2):  # the second answers come from the page cache's shortcut
        whole = app.get("/embed")
        assert line(whole) == ("banner-major", "Major Outage", "http://localhost/")
        assert whole.html.select_one("body.embed a")["target"] == "_blank"
        assert "frame-ancestors *" in whole.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in whole.headers
        assert line(app.get("/embed?component=linker")) == ("banner-major", "Linker: Major Outage", "http://localhost/")
        assert line(app.get("/embed?component=website")) == (
            "banner-operational",
            "Website: Operational",
            "http://localhost/",
        )
        page = app.get("/")
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY"
        texts = app.get("/pages/texts/embed")
        assert line(texts)[2] == "http://localhost/pages/texts/"
        assert "frame-ancestors *" in texts.headers["Content-Security-Policy"]
    hebrew = app.get("/embed", headers={"Accept-Language": "he"})
    assert hebrew.html.select_one("html")["dir"] == "rtl" and "לדף המצב המלא" in hebrew.text


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
def test_a_hidden_private_or_made_up_component_is_a_404(engine, monitors_file, make_testapp):
    app = make_testapp()
    app.get("/embed?component=%FF", status=400)  # not UTF-8: refused at the edge
    for raw in ("queue", "staging", "nope", "../status", "%00", "%0D%0ASet-Cookie:x=1", "%C3%BF", "x" * 5000):
        app.get(f"/embed?component={raw}", status=404)
    app.get("/pages/internal/embed", status=404)  # a private page: nobody outside sees it exists
    app.get("/pages/nobody/embed", status=404)
    assert app.get("/embed?component=").html.select_one("body.embed")


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
def test_the_script_and_the_json_it_reads_are_open_to_other_sites(engine, monitors_file, make_testapp):
    app = make_testapp()
    script = app.get("/embed.js")
    assert script.content_type == "text/javascript" and script.headers["Cache-Control"] == "public, max-age=3600"
    assert "api/v2/" in script.text and 'credentials: "omit"' in script.text
    for path in ("/api/v2/status.json", "/api/v2/components.json"):
        assert (
            app.get(path, headers={"Origin": "https://www.sefaria.org"}).headers["Access-Control-Allow-Origin"] == "*"
        )


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
def test_the_admin_shows_the_snippets_with_the_pages_address(engine, monitors_file, make_testapp):
    from sqlalchemy import select

    from statusweb.models import Page, get_session_factory

    add_user(engine, "ann", "admin")
    app = make_testapp()
    login(app, "ann")
    with get_session_factory(engine)() as session:
        ids = dict(session.execute(select(Page.slug, Page.id)).all())
    snippets = app.get(f"/admin/pages/{ids['default']}").html.select("#embed pre code")
    assert [code.text for code in snippets] == [
        '<script src="http://localhost/embed.js" async></script>',
        '<iframe src="http://localhost/embed" title="Status status" width="360" height="72" style="border:0"></iframe>',
    ]
    texts = app.get(f"/admin/pages/{ids['texts']}").html.select("#embed pre code")[0].text
    assert texts == '<script src="http://localhost/pages/texts/embed.js" async></script>'
    assert not app.get(f"/admin/pages/{ids['internal']}").html.select("#embed")  # a private page embeds nowhere


class OtherSite:
    """A page on another origin (another port) that embeds the status page both ways."""

    def __init__(self, status_url: str) -> None:
        html = (
            "<!DOCTYPE html><html><body><h1>Sefaria</h1>"
            f'<p id="by-script"><script src="{status_url}/embed.js" data-component="linker" async></script></p>'
            f'<iframe id="framed" src="{status_url}/embed" title="Status" width="360" height="72"></iframe>'
            "</body></html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.browser
@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
def test_another_site_shows_the_script_line_and_the_frame(engine, db_url, browser):  # noqa: F811
    ids = add_services(engine, ("Website", "up"), ("Linker", "down"))
    assert ids
    with serving(db_url, "1") as status_url:
        other = OtherSite(status_url)
        try:
            page = browser.new_page()
            page.goto(other.url)
            page.wait_for_function("document.querySelector('.statusweb-embed').textContent.includes(':')")
            assert page.inner_text(".statusweb-embed") == "Linker: Major Outage"
            assert page.eval_on_selector(".statusweb-embed", "e => getComputedStyle(e).backgroundColor") == (
                "rgb(185, 28, 28)"
            )
            frame = page.frame_locator("#framed")
            assert frame.locator("a.banner strong").inner_text() == "Major Outage"
            assert frame.locator("a.banner").get_attribute("href") == f"{status_url}/"
        finally:
            other.server.shutdown()
