"""Two-factor sign-in in Debian's Chromium, as a person does it: the owner sets it up from
the admin's menu (the QR code on the page, the key beside it, a code from the app), keeps
the recovery codes, logs out, and signs in again with the password and the next code."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.statusweb.browser.test_incident_flow import ARTIFACTS, browser, log_in, site  # noqa: F401 (fixtures)
from tests.statusweb.views.test_admin import add_user

pytestmark = pytest.mark.browser


def test_set_up_two_factor_then_sign_in_with_a_code(engine, site, browser):  # noqa: F811
    add_user(engine, "olga", "owner")
    page = browser.new_context().new_page()
    log_in(page, site, "olga")
    page.click("header nav >> text=Two-factor")
    page.click("main button:has-text('Set up two-factor sign-in')")
    page.locator("figure.qr svg").wait_for(timeout=10000)  # the click posts a form: wait for its answer
    secret = page.inner_text("#totp-key").replace(" ", "")
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("main button:has-text('Turn on')")
    assert "Two-factor sign-in is on." in page.inner_text("main")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "two-factor-on.png"), full_page=True)

    page.click("header nav button:has-text('Log out')")
    log_in(page, site, "olga")
    page.wait_for_url("**/admin/login/code")
    assert "6-digit code" in page.inner_text("main")
    page.fill("input[name=code]", "000000")
    page.click("main button[type=submit]")
    assert "not right" in page.inner_text("main [role=alert]")
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))  # the enrolling one is spent
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site}/admin")
    assert "Log out olga" in page.inner_text("header nav")
