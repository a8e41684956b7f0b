"""Signing in with OpenID Connect against a real provider (npm oidc-provider on 127.0.0.1):
who gets in (a user with that verified email, an auto-created one, no one from another
domain), what is checked (state, nonce, the ID token's signature and audience), and how
it meets the second factor and turned-off passwords."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select

from statusweb.models import Membership, User, get_session_factory
from statusweb.services.oidc import OidcError, OidcSettings, Pending, Provider
from statusweb.settings import Settings, SettingsError
from tests.oidc_server import CLIENT_ID, CLIENT_SECRET, oidc_provider, sign_in_at_provider
from tests.statusweb.views.test_admin import add_user, login
from tests.statusweb.views.test_two_factor import enrol

REDIRECT = "http://localhost/admin/login/oidc/callback"


@pytest.fixture(scope="module")
def issuer():
    with oidc_provider(REDIRECT, accounts={"unverified@example.org": {"email_verified": False}}) as url:
        yield url


def oidc_app(make_testapp, issuer: str, **more: str):
    return make_testapp(
        **{
            "statusweb.oidc_issuer": issuer,
            "statusweb.oidc_client_id": CLIENT_ID,
            "statusweb.oidc_client_secret": CLIENT_SECRET,
            "statusweb.oidc_label": "Sign in with Example SSO",
            **more,
        }
    )


def through_provider(app, login_name: str, *, next_path: str = "/admin/incidents", consent: bool = True):
    """The browser's trip: our redirect, the provider's pages, back to our callback."""
    start = app.get(f"/admin/login/oidc?next={next_path}", status=303)
    assert start.location.startswith("http://127.0.0.1:")  # the provider, not us
    back = sign_in_at_provider(start.location, login_name, REDIRECT, consent=consent)
    return app.get(back.removeprefix("http://localhost"), status="*")


def test_a_user_with_that_verified_email_signs_in_and_is_bound_to_the_subject(engine, make_testapp, issuer):
    add_user(engine, "ed@example.org", "editor")  # a user named by their address
    app = oidc_app(make_testapp, issuer)
    assert "Sign in with Example SSO" in app.get("/admin/login").text
    done = through_provider(app, "ed@example.org")
    assert done.status_int == 303 and done.location == "http://localhost/admin/incidents"
    assert "Log out ed@example.org" in app.get("/admin/incidents").text
    with get_session_factory(engine)() as session:
        user = session.scalar(select(User).where(User.name == "ed@example.org"))
        assert user.oidc_subject == f"{issuer} ed@example.org" and user.email == "ed@example.org"


def test_nobody_else_gets_in_unless_auto_create_names_a_role(engine, make_testapp, issuer):
    app = oidc_app(make_testapp, issuer)
    refused = through_provider(app, "stranger@example.org")
    assert refused.status_int == 403 and "ask an owner to add you" in refused.text
    assert app.get("/admin", status=303).location.startswith("http://localhost/admin/login")
    creating = oidc_app(make_testapp, issuer, **{"statusweb.oidc_auto_create": "member"})
    assert through_provider(creating, "new@example.org", next_path="/admin").status_int == 303
    with get_session_factory(engine)() as session:
        user = session.scalar(select(User).where(User.email == "new@example.org"))
        assert session.scalar(select(Membership.role).where(Membership.user_id == user.id)) == "member"
    assert creating.get("/admin").status_int == 200
    creating.get("/admin/incidents/new", status=403)  # a member reads; writing is for admins


def test_the_email_domain_allow_list_and_unverified_addresses(engine, make_testapp, issuer):
    add_user(engine, "ann@other.example", "owner")
    add_user(engine, "unverified@example.org", "owner")
    app = oidc_app(make_testapp, issuer, **{"statusweb.oidc_email_domains": "example.org, @example.net"})
    refused = through_provider(app, "ann@other.example")
    assert refused.status_int == 403 and "email domain" in refused.text
    unverified = through_provider(app, "unverified@example.org")
    assert unverified.status_int == 403 and "email domain" in unverified.text  # not verified: no domain counts
    open_app = oidc_app(make_testapp, issuer)
    unverified = through_provider(open_app, "unverified@example.org")
    assert unverified.status_int == 400 and "no verified email" in unverified.text


def test_saying_no_at_the_provider_and_a_forged_or_replayed_return(engine, make_testapp, issuer):
    add_user(engine, "ed@example.org", "editor")
    app = oidc_app(make_testapp, issuer)
    declined = through_provider(app, "ed@example.org", consent=False)
    assert declined.status_int == 400 and "did not sign you in" in declined.text
    start = app.get("/admin/login/oidc", status=303)
    back = sign_in_at_provider(start.location, "ed@example.org", REDIRECT).removeprefix("http://localhost")
    other_browser = oidc_app(make_testapp, issuer)
    forged = other_browser.get(back, status=400)  # a code and state made for another browser's sign-in
    assert "did not start" in forged.text
    assert app.get(back.replace("state=", "state=x"), status=400)  # a wrong state: refused, and the try is used up
    assert "did not start here" in app.get(back, status=400).text
    assert app.get("/admin", status=303).location.startswith("http://localhost/admin/login")


@pytest.mark.parametrize(
    "query",
    ["", "?state=", "?code=%FF&state=%00", "?error=access_denied", "?state=" + "x" * 5000, "?code=a\r\nb&state=c"],
)
def test_a_hostile_callback_is_a_4xx_never_a_500(make_testapp, issuer, query):
    app = oidc_app(make_testapp, issuer)
    answer = app.get("/admin/login/oidc/callback" + query, status="*")
    assert 400 <= answer.status_int < 500


def test_a_second_factor_still_asks_for_its_code(engine, make_testapp, issuer):
    add_user(engine, "olga@example.org", "owner")
    password_app = make_testapp()
    login(password_app, "olga@example.org")
    secret, _ = enrol(password_app, engine, "olga@example.org")
    app = oidc_app(make_testapp, issuer)
    step = through_provider(app, "olga@example.org")
    assert step.location.endswith("/admin/login/code")
    form = app.get("/admin/login/code").forms[0]
    form["code"] = pyotp.TOTP(secret).at(time.time() + 30)
    assert form.submit(status=303).location == "http://localhost/admin/incidents"


def test_passwords_can_be_turned_off(engine, make_testapp, issuer):
    add_user(engine, "ed@example.org", "editor")
    app = oidc_app(make_testapp, issuer, **{"statusweb.password_login": "false"})
    page = app.get("/admin/login")
    assert "Sign in with Example SSO" in page.text and 'name="password"' not in page.text
    token = page.html.find("input", {"name": "csrf_token"})
    csrf = token["value"] if token else app.get("/subscribe").forms[0]["csrf_token"].value
    refused = app.post(
        "/admin/login", {"csrf_token": csrf, "name": "ed@example.org", "password": "correct horse"}, status=400
    )
    assert "Passwords do not sign in here" in refused.text
    assert through_provider(app, "ed@example.org").status_int == 303
    with pytest.raises(SettingsError, match="nobody could sign in"):
        Settings.from_settings({"sqlalchemy.url": "sqlite://", "statusweb.password_login": "false"})


def test_settings_name_what_is_wrong():
    base = {"sqlalchemy.url": "sqlite://", "statusweb.oidc_client_id": "c", "statusweb.oidc_client_secret": "hush-hush"}
    for extra, said in (
        ({"statusweb.oidc_issuer": "http://idp.example.org"}, "must be an https:// URL"),
        (
            {"statusweb.oidc_issuer": "https://idp.example.org", "statusweb.oidc_client_secret": ""},
            "STATUSWEB_OIDC_CLIENT_SECRET",
        ),
        ({"statusweb.oidc_issuer": "https://idp.example.org", "statusweb.oidc_auto_create": "god"}, "names a role"),
    ):
        with pytest.raises(SettingsError, match=said):
            Settings.from_settings({**base, **extra})
    settings = Settings.from_settings({**base, "statusweb.oidc_issuer": "https://idp.example.org/"})
    assert settings.oidc is not None and settings.oidc.issuer == "https://idp.example.org"
    assert "hush-hush" not in repr(settings) and "client_secret" not in repr(settings.oidc)


def test_an_id_token_signed_by_another_key_or_for_another_client_is_refused(issuer):
    """The provider's keys and claims decide, not what a token says of itself."""
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    provider = Provider(OidcSettings(issuer, CLIENT_ID, CLIENT_SECRET))
    provider.metadata()
    now = int(time.time())
    claims = {"iss": issuer, "aud": CLIENT_ID, "sub": "ed", "exp": now + 300, "iat": now, "nonce": "n"}
    stranger_key = RSAKey.generate_key(2048, parameters={"kid": "stranger"})
    forged = jwt.encode({"alg": "RS256", "kid": "stranger"}, claims, stranger_key)
    with pytest.raises(OidcError, match="did not verify"):
        provider._verified(forged, "n")
    unsigned = jwt.encode({"alg": "none"}, claims, None, algorithms=["none"])
    with pytest.raises(OidcError, match="did not verify"):
        provider._verified(unsigned, "n")
    with pytest.raises(OidcError, match="did not verify"):
        provider._verified("not.a.token", "n")
    with pytest.raises(OidcError):
        Provider(OidcSettings("http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET)).begin(REDIRECT, "/admin")
    pending = Pending(state="s", nonce="n", verifier="v" * 43, next="/admin", at=time.time())
    with pytest.raises(OidcError, match="refused"):
        provider.finish(REDIRECT, f"{REDIRECT}?code=made-up&state=s", pending)
