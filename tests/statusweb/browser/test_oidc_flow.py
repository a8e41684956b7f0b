"""Signing in with OpenID Connect in Debian's Chromium: the login page's button, the
provider's own pages (npm oidc-provider on 127.0.0.1: its login and consent), and back in
the admin where the person was going."""

from __future__ import annotations

import pytest

from tests.oidc_server import CLIENT_ID, CLIENT_SECRET, oidc_provider
from tests.statusweb.browser.test_incident_flow import ARTIFACTS, browser, serving  # noqa: F401 (fixtures)
from tests.statusweb.views.test_admin import add_user
from tests.targets import free_port

pytestmark = pytest.mark.browser


def test_sign_in_through_the_provider_lands_where_you_were_going(engine, db_url, browser):  # noqa: F811
    add_user(engine, "ed@example.org", "editor")
    port = free_port()
    with oidc_provider(f"http://127.0.0.1:{port}/admin/login/oidc/callback") as issuer:
        settings = {
            "statusweb.oidc_issuer": issuer,
            "statusweb.oidc_client_id": CLIENT_ID,
            "statusweb.oidc_client_secret": CLIENT_SECRET,
            "statusweb.oidc_label": "Sign in with Example SSO",
        }
        with serving(db_url, "1", port=port, **settings) as site:
            page = browser.new_context().new_page()
            page.goto(f"{site}/admin/incidents")  # not signed in: the login page, remembering where to
            page.click("text=Sign in with Example SSO")
            page.wait_for_url(f"{issuer}/interaction/**")
            page.fill("input[name=login]", "ed@example.org")
            page.fill("input[name=password]", "whatever the provider wants")
            page.click("button[type=submit]")
            page.wait_for_selector("button[type=submit]:has-text('Continue')")  # the provider's consent page
            page.click("button[type=submit]:has-text('Continue')")
            page.wait_for_url(f"{site}/admin/incidents")
            assert "Log out ed@example.org" in page.inner_text("header nav")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "signed-in-with-oidc.png"), full_page=True)
