"""What a person sees, in Debian's Chromium driven by Playwright: an operator logs in,
opens an incident, the public page shows it, they resolve it, history has it. Also
screenshots of the public page at desktop and phone widths (tests/artifacts/)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.statusweb.pages import add_daily_uptime, add_services
from tests.statusweb.views.test_admin import add_user
from tests.targets import free_port

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@contextmanager
def serving(db_url: str, cache_seconds: str, port: int | None = None, **settings: str) -> Iterator[str]:
    """The real app on a real local HTTP server (waitress), on the test database; its URL.
    `settings`: more ini keys (statusweb.oidc_issuer, ...)."""
    from webtest.http import StopableWSGIServer

    from statusweb import main

    port = port or free_port()
    app = main(
        {"here": "."},
        **{
            "sqlalchemy.url": db_url,
            "statusweb.runner": "false",
            "statusweb.page_cache_seconds": cache_seconds,
            "statusweb.page_url": f"http://127.0.0.1:{port}",
            **settings,
        },
    )
    server = StopableWSGIServer.create(app, host="127.0.0.1", port=port)
    try:
        yield server.application_url.rstrip("/")
    finally:
        server.shutdown()


@pytest.fixture
def site(engine, db_url):
    with serving(db_url, "1") as url:
        yield url


def log_in(page, site: str, name: str) -> None:
    """Sign `page` in to the admin as `name` (password "correct horse", as add_user sets)."""
    answer = page.goto(f"{site}/admin/login")
    assert answer is not None and answer.ok, (
        f"/admin/login answered {answer and answer.status}: {page.content()[-3000:]}"
    )
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")


def open_incident(page, site: str, title: str, body: str, impact: str = "minor") -> None:
    """Open an incident through the admin form, as an operator does."""
    page.goto(f"{site}/admin/incidents/new")
    page.fill("input[name=title]", title)
    page.select_option("select[name=impact]", impact)
    page.fill("textarea[name=body]", body)


def test_operator_posts_an_incident_the_public_sees_it_then_it_is_resolved(engine, site, browser):
    ids = add_services(engine, ("sefaria.org", "up"), ("Linker", "up"), ("MCP Server", "up"))
    add_daily_uptime(engine, ids["linker"], days=40, up=1430, down=10)
    add_user(engine, "ops", "editor")
    page = browser.new_page()
    page.goto(f"{site}/")
    assert page.inner_text(".banner h1") == "All Systems Operational"

    log_in(page, site, "ops")
    open_incident(
        page, site, "Linker tasks are not finishing", "Celery workers stopped; we are restarting them.", "major"
    )
    page.select_option(f"select[name=service-{ids['linker']}]", "major_outage")
    page.click("main button[type=submit]")
    assert "Linker tasks are not finishing" in page.inner_text("h1")

    public = browser.new_page()
    public.goto(f"{site}/")
    assert public.inner_text(".banner h1") == "Major Outage"
    assert "Celery workers stopped" in public.inner_text("section.incidents")
    assert public.inner_text(".status-major_outage .name") == "Linker"
    ARTIFACTS.mkdir(exist_ok=True)
    backend = engine.dialect.name
    public.set_viewport_size({"width": 1280, "height": 900})
    public.screenshot(path=str(ARTIFACTS / f"status-desktop-{backend}.png"), full_page=True)
    public.set_viewport_size({"width": 390, "height": 844})
    public.screenshot(path=str(ARTIFACTS / f"status-phone-{backend}.png"), full_page=True)
    assert public.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll

    page.select_option("section select[name=status]", "resolved")
    page.fill("section textarea[name=body]", "Workers are back; tasks finish again.")
    page.fill("section textarea[name=root_cause]", "A worker deploy with a bad setting.")
    page.click("section button[type=submit]")
    assert "cannot be reopened" in page.inner_text("main")

    public.goto(f"{site}/history")
    public.wait_for_timeout(1100)  # the browser may keep the page for its max-age (1 s here)
    public.goto(f"{site}/")
    assert public.inner_text(".banner h1") == "All Systems Operational"
    public.goto(f"{site}/history")
    history = public.inner_text("main")
    assert "Linker tasks are not finishing" in history and "Resolved" in history
    assert "A worker deploy with a bad setting." in history

    # the postmortem, written in Markdown in the admin, read rendered by the public
    page.fill("#postmortem-form textarea", "## What happened\n\n| when | what |\n|---|---|\n| 14:02 | a deploy |\n")
    page.click("#postmortem-form button[type=submit]")
    assert page.inner_text("#postmortem button") == "Save correction"
    public.goto(page.url.split("#")[0].replace("/admin/incidents/", "/incidents/"))
    assert public.inner_text("#postmortem h2") == "Postmortem"
    assert public.inner_text("#postmortem .markdown h2") == "What happened"
    assert public.inner_text("#postmortem td >> nth=1") == "a deploy"
    assert "The postmortem is published" in public.inner_text("ol.timeline")
