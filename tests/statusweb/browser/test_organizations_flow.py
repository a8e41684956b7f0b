"""Two organizations in Debian's Chromium: each owner sets up a private page in the
admin, members see their own organization's private page, and neither owner nor a
stranger finds anything of the other's (404 everywhere, the same page as for nothing)."""

from __future__ import annotations

import pytest

from tests.statusweb.browser.test_incident_flow import ARTIFACTS, browser, log_in, site  # noqa: F401 (fixtures)
from tests.statusweb.pages import sync_monitors_toml
from tests.statusweb.views.test_admin import add_user
from tests.statusweb.views.test_pages import TWO_ORGANIZATIONS, VIEWER_PASSWORD

pytestmark = pytest.mark.browser


def add_private_page(page, site: str, slug: str, name: str) -> None:
    """Through Admin, Pages, as an owner does."""
    page.goto(f"{site}/admin")
    page.click("header nav >> text=Pages")
    page.fill("#page-form input[name=slug]", slug)
    page.fill("#page-form input[name=name]", name)
    page.check("#page-form input[name=private]")
    page.click("#page-form button[type=submit]")
    assert page.input_value("#page-form input[name=name]") == name  # now on its edit form


def test_two_organizations_each_see_only_their_own(engine, tmp_path, site, browser):  # noqa: F811
    sync_monitors_toml(
        engine, tmp_path / "monitors.toml", TWO_ORGANIZATIONS, env={"BETA_VIEWER_PASSWORD": VIEWER_PASSWORD}
    )
    add_user(engine, "ann", "owner", organization="acme")
    add_user(engine, "bob", "owner", organization="beta")
    ann, bob, stranger = (browser.new_context().new_page() for _ in range(3))
    log_in(ann, site, "ann")
    log_in(bob, site, "bob")
    add_private_page(ann, site, "acme-ops", "Acme Ops")
    add_private_page(bob, site, "beta-ops", "Beta Ops")

    for reader, mine, theirs in ((ann, "acme", "beta"), (bob, "beta", "acme")):
        for slug in (f"{mine}-internal", f"{mine}-ops", mine):
            assert reader.goto(f"{site}/pages/{slug}/").status == 200, slug
        for slug in (f"{theirs}-internal", f"{theirs}-ops"):
            assert reader.goto(f"{site}/pages/{slug}/").status == 404, slug
        reader.goto(f"{site}/admin/pages")
        pages = reader.inner_text("main table")
        assert mine.title() in pages and theirs.title() not in pages
        reader.goto(f"{site}/admin/incidents")
        assert theirs not in reader.inner_text("main").lower()

    nothing = stranger.goto(f"{site}/pages/no-such-page/")
    assert nothing.status == 404
    nothing_text = stranger.inner_text("body")
    for slug in ("acme-internal", "acme-ops", "beta-internal", "beta-ops"):
        answer = stranger.goto(f"{site}/pages/{slug}/")
        assert answer.status == 404 and stranger.inner_text("body") == nothing_text, slug  # as if there were nothing
    assert "Acme Shop" in stranger.goto(f"{site}/pages/acme/").text()  # the public pages are public
    stranger.goto(f"{site}/pages/beta-internal/access")
    stranger.fill("input[name=password]", VIEWER_PASSWORD)
    stranger.click("main button[type=submit]")
    assert "Beta Build Farm" in stranger.inner_text("main")  # the partner's way in, to that page only
    assert stranger.goto(f"{site}/pages/acme-internal/").status == 404
    ARTIFACTS.mkdir(exist_ok=True)
    ann.goto(f"{site}/pages/acme-internal/")
    ann.screenshot(path=str(ARTIFACTS / f"private-page-{engine.dialect.name}.png"), full_page=True)
