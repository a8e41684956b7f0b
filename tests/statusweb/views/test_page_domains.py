"""A page's custom domain serves only once it is proven (issue 29, point 1), as owners
meet it in the admin (webtest, both databases) against a real DNS server on 127.0.0.1:
the owner publishes the token in a TXT record at `_statusweb.<domain>` and checks, or an
owner of the install's own organization approves it; until then the domain is the
main site's, whatever the page row says."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from statuscore.testing_dns import SERVFAIL, SILENT, Zone, dns_server
from statusweb.models import AuditEvent, Page, get_session_factory
from tests.statusweb.views.test_admin import add_user, login
from tests.statusweb.views.test_organizations import two_organizations  # noqa: F401 - the fixture

DOMAIN = "status.acme-partners.example.org"


@pytest.fixture
def zone():
    zone = Zone()
    with dns_server(zone) as address:
        zone.address = address
        yield zone


@pytest.fixture
def apps(engine, two_organizations, zone, make_testapp):  # noqa: F811
    """ann (owns acme), bob (owns beta), root (owns the install's own organization)."""
    add_user(engine, "root", "admin")
    made = {}
    for name in ("ann", "bob", "root"):
        made[name] = make_testapp(**{"statusweb.dns_resolver": zone.address})
        login(made[name], name)
    made["visitor"] = make_testapp(**{"statusweb.dns_resolver": zone.address})
    return made


def add_page_with_domain(app, slug: str, domain: str) -> int:
    form = app.get("/admin/pages").forms["page-form"]
    form["slug"], form["name"], form["domain"] = slug, slug.title(), domain
    return int(form.submit(status=303).location.rstrip("/").rsplit("/", 1)[1])


def served_by(app, domain: str) -> str:
    return app.get("/api/v2/summary.json", headers={"Host": domain}).json["page"]["name"]


def token_of(engine, page_id: int) -> str:
    with get_session_factory(engine)() as session:
        return session.get(Page, page_id).domain_token


def check(app, page_id: int) -> str:
    page = app.get(f"/admin/pages/{page_id}")
    return page.forms["domain-check"].submit(status=200).html.select_one("#domain .notice").text


def test_a_domain_serves_only_after_its_txt_record_holds_the_token(engine, apps, zone):
    ann, visitor = apps["ann"], apps["visitor"]
    page_id = add_page_with_domain(ann, "acme-partners", DOMAIN)
    assert served_by(visitor, DOMAIN) != "Acme-Partners"  # the main site's page, not ann's
    shown = ann.get(f"/admin/pages/{page_id}")
    token = token_of(engine, page_id)
    assert f"_statusweb.{DOMAIN}" in shown.text and f"statusweb-verification={token}" in shown.text
    assert "not serving until proven" in shown.text

    assert "does not exist (yet)" in check(ann, page_id)
    zone.add(f"_statusweb.{DOMAIN}", "TXT", '"google-site-verification=abc"')
    assert "holds 1 other value" in check(ann, page_id)
    zone.failing[f"_statusweb.{DOMAIN}"] = SERVFAIL
    assert "did not answer" in check(ann, page_id)
    del zone.failing[f"_statusweb.{DOMAIN}"]
    assert served_by(visitor, DOMAIN) != "Acme-Partners"

    zone.add(f"_statusweb.{DOMAIN}", "TXT", f'"statusweb-verification={token}"')
    assert "is verified: it serves this page from now on" in check(ann, page_id)
    assert served_by(ann, DOMAIN) == "Acme-Partners"  # (the process that changed it reads the pages again)
    assert "(DNS TXT record)" in ann.get(f"/admin/pages/{page_id}").text
    with get_session_factory(engine)() as session:
        assert session.scalar(select(AuditEvent.subject).where(AuditEvent.action == "page.domain_verified")) == (
            f"acme-partners: {DOMAIN} by DNS"
        )

    form = ann.get(f"/admin/pages/{page_id}").forms["page-form"]  # a new domain needs its own proof
    form["domain"] = "status2.acme-partners.example.org"
    form.submit(status=303)
    assert token_of(engine, page_id) != token
    assert served_by(ann, DOMAIN) != "Acme-Partners"
    assert served_by(ann, "status2.acme-partners.example.org") != "Acme-Partners"


def test_a_silent_dns_server_gets_an_answer_within_the_timeout(engine, apps, zone):
    ann = apps["ann"]
    page_id = add_page_with_domain(ann, "acme-partners", DOMAIN)
    zone.failing[f"_statusweb.{DOMAIN}"] = SILENT
    started = time.monotonic()
    assert "did not answer" in check(ann, page_id)
    assert time.monotonic() - started < 10


def test_an_install_owner_approves_another_organizations_domain_and_nobody_else_can(engine, apps, zone):
    ann, bob, root, visitor = apps["ann"], apps["bob"], apps["root"], apps["visitor"]
    page_id = add_page_with_domain(bob, "beta-partners", "status.beta-partners.example.org")
    assert "Domains waiting for approval" not in ann.get("/admin/pages").text
    csrf = ann.get("/admin/pages").forms["page-form"]["csrf_token"].value
    ann.post(f"/admin/pages/{page_id}/domain/approve", {"csrf_token": csrf}, status=404)
    ann.post(f"/admin/pages/{page_id}/domain/check", {"csrf_token": csrf}, status=404)  # not ann's page
    ann.get(f"/admin/pages/{page_id}", status=404)
    listing = root.get("/admin/pages")
    assert "status.beta-partners.example.org" in listing.text
    approve = next(form for form in listing.forms.values() if form.action.endswith("/domain/approve"))
    assert served_by(visitor, "status.beta-partners.example.org") != "Beta-Partners"
    approve.submit(status=303)
    assert served_by(root, "status.beta-partners.example.org") == "Beta-Partners"
    assert "approved by root" in bob.get(f"/admin/pages/{page_id}").text
    root_csrf = root.get("/admin/pages").forms["page-form"]["csrf_token"].value
    for raw in ("0", "-1", "99999999999999999999", "%C3%A9", "1%0d%0a"):
        root.post(f"/admin/pages/{raw}/domain/approve", {"csrf_token": root_csrf}, status=404)
    root.post(f"/admin/pages/{page_id}/domain/approve", status=400)  # no CSRF token
    assert "/admin/login" in visitor.post(f"/admin/pages/{page_id}/domain/approve", status=303).location


def test_an_install_owner_setting_a_domain_needs_no_proof_and_the_cli_approves(
    engine, db_url, apps, tmp_path, capsys, make_testapp
):
    from statusweb.cli import main as admin_main

    root, ann = apps["root"], apps["ann"]
    add_page_with_domain(root, "main-partners", "status.main.example.org")
    assert served_by(root, "status.main.example.org") == "Main-Partners"
    add_page_with_domain(ann, "acme-partners", DOMAIN)
    ini = tmp_path / "statusweb.ini"
    ini.write_text(f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {db_url}\n")
    assert admin_main(["organization", "list", str(ini)]) == 0
    assert f"at {DOMAIN} (not serving until proven" in capsys.readouterr().out
    assert admin_main(["page", "approve-domain", str(ini), "acme-partners"]) == 0
    assert "approved" in capsys.readouterr().out
    assert admin_main(["page", "approve-domain", str(ini), "nope"]) == 2
    assert served_by(make_testapp(), DOMAIN) == "Acme-Partners"  # (a new process reads the pages now)
    with get_session_factory(engine)() as session:
        page = session.scalar(select(Page).where(Page.slug == "acme-partners"))
        assert page.domain_verified_by == "statusweb-admin page approve-domain"


@pytest.mark.parametrize("value", ["", "1.2.3.4:99999", "dns.example.org", "[::1", "127.0.0.1:x"])
def test_a_bad_resolver_setting_names_the_variable(value):
    from statusweb.settings import Settings, SettingsError

    if not value:
        assert (
            Settings.from_settings({"sqlalchemy.url": "sqlite://", "statusweb.dns_resolver": value}).dns_resolver
            is None
        )
        return
    with pytest.raises(SettingsError, match="STATUSWEB_DNS_RESOLVER"):
        Settings.from_settings({"sqlalchemy.url": "sqlite://", "statusweb.dns_resolver": value})
