"""Two organizations in one install, as their owners use the admin (webtest, both
databases): each sees and changes only its own pages, services, incidents, windows,
subscribers, members and audit lines. Every admin route is tried with the other
organization's ids and answers 404; pages, invitations and the audit log work."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import (
    ApiToken,
    AuditEvent,
    Incident,
    IncidentTemplate,
    Maintenance,
    Membership,
    Organization,
    Page,
    Service,
    Subscriber,
    User,
    UserSession,
    get_session_factory,
)
from statusweb.services.organizations import make_token
from statusweb.services.sign_ins import Arrival, start
from tests.statusweb.pages import add_incident, sync_monitors_toml
from tests.statusweb.views.test_admin import add_user, login
from tests.statusweb.views.test_pages import TWO_ORGANIZATIONS, VIEWER_PASSWORD

# route -> which of the other organization's records its {id} names
ID_KINDS = {
    "incident": "incident",
    "admin_incident": "incident",
    "admin_incident_update": "incident",
    "admin_incident_delete": "incident",
    "admin_incident_postmortem": "incident",
    "admin_incident_template": "template",
    "admin_incident_template_delete": "template",
    "admin_service": "service",
    "admin_service_check_now": "service",
    "admin_maintenance": "maintenance",
    "admin_maintenance_update": "maintenance",
    "admin_maintenance_cancel": "maintenance",
    "admin_maintenance_end": "maintenance",
    "admin_subscriber_remove": "subscriber",
    "admin_user_password": "user",
    "admin_user_disable": "user",
    "admin_user_enable": "user",
    "admin_membership_remove": "membership",
    "admin_page": "page",
    "admin_token_revoke": "token",
    "admin_page_domain_check": "page",
    "admin_page_domain_approve": "page",
    "admin_session_end": "session",
    "admin_organization_2fa": "organization",
}


@pytest.fixture
def two_organizations(engine, tmp_path):
    """acme (ann owns it) and beta (bob owns it), each with a public and a private page,
    a service, an incident, a maintenance window and a subscriber on each page."""
    from statusweb.services.maintenance import WindowPlan, create_window

    pages = sync_monitors_toml(
        engine, tmp_path / "monitors.toml", TWO_ORGANIZATIONS, env={"BETA_VIEWER_PASSWORD": VIEWER_PASSWORD}
    )
    add_user(engine, "ann", "owner", organization="acme")
    add_user(engine, "bob", "owner", organization="beta")
    now = utcnow()
    ids = {}
    with get_session_factory(engine).begin() as session:
        for slug in ("acme", "acme-internal", "beta", "beta-internal"):
            service = session.scalar(select(Service).where(Service.page_id == pages[slug]))
            window = create_window(
                session,
                WindowPlan(
                    title=f"{slug} upgrade",
                    starts_at=now + timedelta(days=1),
                    ends_at=now + timedelta(days=1, hours=1),
                    service_ids=(service.id,),
                    page_id=pages[slug],
                ),
                now=now,
                author="ops",
            )
            subscriber = Subscriber(
                kind="email",
                address=f"reader@{slug}.example.org",
                components="",
                created_at=now,
                confirmed_at=now,
                confirm_token=f"c-{slug}",
                unsubscribe_token=f"u-{slug}",
                page_id=pages[slug],
            )
            session.add(subscriber)
            session.flush()
            ids[slug] = {
                "service": service.id,
                "maintenance": window.id,
                "subscriber": subscriber.id,
                "page": pages[slug],
            }
        bob = session.scalar(select(User).where(User.name == "bob"))
        start(session, bob, Arrival("192.0.2.1", "Bob's browser"))
        beta = session.scalar(select(Organization).where(Organization.slug == "beta"))
        for slug in ("beta", "beta-internal"):
            ids[slug]["organization"] = beta.id
        make_token(session, beta, "beta deploys", "write", 30, by="bob", now=now)
        session.flush()
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.organization_id == beta.id))
        for slug in ("beta", "beta-internal"):
            ids[slug]["token"] = token_id
            ids[slug]["user"] = bob.id
            ids[slug]["session"] = session.scalar(select(UserSession.id).where(UserSession.user_id == bob.id))
            ids[slug]["membership"] = session.scalar(select(Membership.id).where(Membership.user_id == bob.id))
    with get_session_factory(engine).begin() as session:
        for slug in ids:
            organization = session.scalar(select(Page.organization_id).where(Page.id == ids[slug]["page"]))
            template = IncidentTemplate(
                organization_id=organization,
                name=f"{slug} down",
                title=f"{slug} is down",
                created_at=now,
                updated_at=now,
            )
            session.add(template)
            session.flush()
            ids[slug]["template"] = template.id
    for slug in ids:
        ids[slug]["incident"] = add_incident(
            engine, f"{slug} is down", page_id=pages[slug], affected={ids[slug]["service"]: "major_outage"}
        )
    return ids


def test_every_admin_route_with_the_other_organizations_ids_is_a_404(engine, two_organizations, make_testapp):
    app = make_testapp()
    login(app, "ann")
    token = app.get("/admin").html.select_one("input[name=csrf_token]")["value"]
    routes = [entry["introspectable"]["object"] for entry in app.app.registry.introspector.get_category("routes")]
    tried = 0
    for route in routes:
        if "{id" not in route.pattern or not route.name.startswith("admin"):
            continue
        assert route.name in ID_KINDS, f"{route.name}: say which record its id names"
        for slug in ("beta", "beta-internal"):
            path = re.sub(r"\{id[^}]*\}", str(two_organizations[slug][ID_KINDS[route.name]]), route.pattern)
            read = app.get(path, status="*")
            write = app.post(
                path,
                {
                    "csrf_token": token,
                    "title": "mine now",
                    "body": "x",
                    "status": "resolved",
                    "impact": "minor",
                    "password": "a long new password",
                    "password_again": "a long new password",
                    "name": "Stolen",
                    "organization": "beta",
                    "require": "on",
                },
                status="*",
            )
            answers = {read.status_int, write.status_int}
            assert 404 in answers and answers <= {404, 405}, (route.name, path, answers)  # 405: no such method
            tried += 1
    assert tried >= 2 * (len(ID_KINDS) - 1)
    with get_session_factory(engine)() as session:  # nothing of beta's changed
        for slug in ("beta", "beta-internal"):
            incident = session.get(Incident, two_organizations[slug]["incident"])
            assert incident.title == f"{slug} is down" and incident.status == "investigating" and not incident.deleted
            assert session.get(Maintenance, two_organizations[slug]["maintenance"]).status == "scheduled"
            assert session.get(Subscriber, two_organizations[slug]["subscriber"]) is not None
            assert session.get(Page, two_organizations[slug]["page"]).name != "Stolen"
        bob = session.scalar(select(User).where(User.name == "bob"))
        assert not bob.disabled and bob.check_password("correct horse")
        assert session.scalar(select(UserSession.ended_at).where(UserSession.user_id == bob.id)) is None
        assert session.scalar(select(Page.domain_verified_by).where(Page.id == two_organizations["beta"]["page"])) == ""
        assert session.get(ApiToken, two_organizations["beta"]["token"]).revoked_at is None
        assert not session.get(Organization, two_organizations["beta"]["organization"]).require_2fa
    app.post("/admin/incidents/resolve", {"csrf_token": token, "id": str(two_organizations["beta"]["incident"])})
    with get_session_factory(engine)() as session:
        assert session.get(Incident, two_organizations["beta"]["incident"]).status == "investigating"


def test_lists_show_only_ones_own_organization(engine, two_organizations, make_testapp):
    app = make_testapp()
    login(app, "ann")
    for path in (
        "/admin",
        "/admin/incidents",
        "/admin/maintenance",
        "/admin/subscribers",
        "/admin/sla",
        "/admin/users",
        "/admin/pages",
        "/admin/checks",
        "/admin/incidents/new",
        "/admin/maintenance/new",
        "/admin/tokens",
        "/admin/audit",
    ):
        text = app.get(path).text
        assert "beta" not in text.lower() and "bob" not in text, path
    assert "acme-internal is down" in app.get("/admin/incidents").text
    assert "reader@acme.example.org" in app.get("/admin/subscribers").text


def test_members_read_but_do_not_write(engine, two_organizations, make_testapp):
    add_user(engine, "mia", "member", organization="acme")
    app = make_testapp()
    login(app, "mia")
    incident = two_organizations["acme"]["incident"]
    assert "acme is down" in app.get(f"/admin/incidents/{incident}").text
    app.get("/admin/incidents/new", status=403)
    token = app.get("/admin").html.select_one("input[name=csrf_token]")["value"]
    app.post(f"/admin/incidents/{incident}/delete", {"csrf_token": token}, status=403)  # their role may not
    app.get("/admin/users", status=403)
    assert "Acme Staging" in app.get("/pages/acme-internal/").text  # members see the private page
    app.get("/pages/beta-internal/", status=404)


def test_an_owner_adds_a_page_invites_a_member_and_reads_the_audit_log(engine, two_organizations, make_testapp):
    owner = make_testapp()
    login(owner, "ann")
    form = owner.get("/admin/pages").forms["page-form"]
    form["slug"], form["name"], form["private"] = "acme-partners", "Acme Partners", True
    form["viewer_password"] = "short"
    assert "at least 12 characters" in form.submit(status=400).text
    form = owner.get("/admin/pages").forms["page-form"]
    form["slug"], form["name"], form["domain"] = "acme-partners", "Acme Partners", "status.acme.test"
    assert "Another page has that domain." in form.submit(status=400).text
    form = owner.get("/admin/pages").forms["page-form"]
    form["slug"], form["name"], form["private"] = "acme-partners", "Acme Partners", True
    form.submit(status=303)
    owner.get("/pages/acme-partners/")  # the owner is a member: it is there
    make_testapp().get("/pages/acme-partners/", status=404)
    invite = owner.get("/admin/users").forms["invite"]
    invite["role"], invite["email"] = "admin", "new@acme.example.org"
    made = invite.submit()
    url = made.html.select_one("code.secret").text
    path = url.replace("http://localhost", "")
    newcomer = make_testapp()
    form = newcomer.get(path).forms[0]
    form["name"], form["password"], form["password_again"] = "cleo", "a long new password", "a long new password"
    form.submit(status=303)
    assert "acme is down" in newcomer.get("/admin/incidents").text and "beta" not in newcomer.get("/admin").text
    make_testapp().get(path, status=404)  # single use
    make_testapp().get("/admin/invitations/" + "x" * 43, status=404)
    lines = owner.get("/admin/audit").text
    for action in ("page.create", "member.invite", "member.join"):
        assert action in lines
    assert "cleo" in lines and "ann" in lines
    with get_session_factory(engine)() as session:
        assert all(e.organization_id is not None for e in session.scalars(select(AuditEvent)))


def test_organizations_pages_and_members_from_the_cli(engine, db_url, tmp_path, make_testapp, capsys):
    from statusweb.cli import main as admin_main

    ini = tmp_path / "statusweb.ini"
    ini.write_text(f"[app:main]\nuse = egg:statuscore\nsqlalchemy.url = {db_url}\n")
    add_user(engine, "dora", "editor")
    assert admin_main(["organization", "add", str(ini), "gamma", "--name", "Gamma Inc."]) == 0
    assert admin_main(["page", "add", str(ini), "gamma-internal", "--organization", "gamma", "--private"]) == 0
    assert (
        admin_main(
            [
                "page",
                "add",
                str(ini),
                "gamma",
                "--organization",
                "gamma",
                "--domain",
                "status.gamma.test",
                "--name",
                "Gamma Status",
            ]
        )
        == 0
    )
    assert admin_main(["member", "add", str(ini), "gamma", "dora", "--role", "admin"]) == 0
    assert admin_main(["organization", "list", str(ini)]) == 0
    listing = capsys.readouterr().out
    assert "gamma  Gamma Inc." in listing and "page gamma-internal  private" in listing and "admin  dora" in listing
    for bad in (
        ["organization", "add", str(ini), "Bad Slug"],
        ["organization", "add", str(ini), "gamma"],
        ["page", "add", str(ini), "x", "--organization", "nope"],
        ["page", "add", str(ini), "gamma", "--organization", "gamma"],
        ["page", "add", str(ini), "y", "--organization", "gamma", "--domain", "https://x/"],
        ["member", "add", str(ini), "gamma", "nobody"],
    ):
        assert admin_main(bad) == 2, bad
    capsys.readouterr()
    app = make_testapp()
    app.get("/pages/gamma-internal/", status=404)
    login(app, "dora")
    app.get("/pages/gamma-internal/")
    assert "Gamma Status" in app.get("/", headers={"Host": "status.gamma.test"}).text
    assert admin_main(["maintenance", "start", str(ini), "--page", "gamma", "--title", "Gamma deploy"]) == 0
    window = int(capsys.readouterr().out.strip())
    assert "Gamma deploy" in app.get("/pages/gamma/").text and "Gamma deploy" not in app.get("/").text
    assert admin_main(["maintenance", "start", str(ini), "--page", "nope"]) == 2
    assert window > 0


def test_an_invitation_is_mailed_by_the_runner_through_a_mail_outage(engine, two_organizations, make_testapp):
    from aiosmtpd.controller import Controller

    from statusweb.models import OutgoingMail, get_session_factory
    from statusweb.runner.subscribers import Delivery, Mail, deliver_outgoing
    from tests.statuscore.alerts.test_email import Inbox
    from tests.targets import free_port

    owner = make_testapp()
    login(owner, "ann")
    invite = owner.get("/admin/users").forms["invite"]
    invite["email"] = "not an address"
    assert "does not look like an email address" in invite.submit(status=400).text
    invite = owner.get("/admin/users").forms["invite"]
    invite["role"], invite["email"] = "member", "dev@acme.example.org"
    shown = invite.submit().html.select_one("code.secret").text
    port = free_port()
    delivery = Delivery(mail=Mail(f"smtp://127.0.0.1:{port}", "status@acme.example.org"), page_url="http://localhost")
    now = utcnow()
    assert deliver_outgoing(engine, delivery, now) == (0, 1)  # no server yet: kept for later
    with get_session_factory(engine)() as session:
        retry_at = session.scalars(select(OutgoingMail.next_try)).one()
    assert now <= retry_at <= now + timedelta(seconds=30)  # backing off (jittered, at most 30 s at first)
    assert deliver_outgoing(engine, delivery, retry_at - timedelta(milliseconds=1)) == (0, 0)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert deliver_outgoing(engine, delivery, now + timedelta(seconds=31)) == (1, 0)
        assert deliver_outgoing(engine, delivery, now + timedelta(hours=1)) == (0, 0)  # exactly once
    finally:
        controller.stop()
    ((recipients, message),) = inbox.messages
    assert recipients == ["dev@acme.example.org"] and "Join Acme" in message["Subject"]
    assert shown in message.get_payload(decode=True).decode()  # the very link, once


def test_eight_accepts_of_one_owner_invitation_at_once_make_one_owner(engine, two_organizations, make_testapp):
    """The audit's race: eight newcomers post the same owner link at the same moment;
    exactly one joins, the others get 404, on both databases."""
    import threading

    from webtest import TestApp

    from statusweb.models import Membership

    owner = make_testapp()
    login(owner, "ann")
    invite = owner.get("/admin/users").forms["invite"]
    invite["role"], invite["email"] = "owner", "race@acme.example.org"
    path = invite.submit().html.select_one("code.secret").text.replace("http://localhost", "")
    shared = make_testapp().app
    forms = []
    for number in range(8):
        form = TestApp(shared).get(path).forms[0]
        form["name"], form["password"], form["password_again"] = (
            f"racer{number}",
            "a long new password",
            "a long new password",
        )
        forms.append(form)
    start = threading.Barrier(len(forms))
    answers: list[int] = []

    def accept(form) -> None:
        start.wait()
        answers.append(form.submit(expect_errors=True).status_int)

    threads = [threading.Thread(target=accept, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [303] + [404] * 7, answers
    with get_session_factory(engine)() as session:
        acme = session.scalar(select(Page.organization_id).where(Page.id == two_organizations["acme"]["page"]))
        owners = session.scalars(
            select(Membership).where(Membership.role == "owner", Membership.organization_id == acme)
        ).all()
    assert len(owners) == 2  # ann, and the one who won


def test_accepting_a_member_invitation_never_demotes_an_owner(engine, two_organizations, make_testapp):
    from statusweb.models import Membership

    owner = make_testapp()
    login(owner, "ann")
    invite = owner.get("/admin/users").forms["invite"]
    invite["role"], invite["email"] = "member", "ann@acme.example.org"
    path = invite.submit().html.select_one("code.secret").text.replace("http://localhost", "")
    owner.get(path).forms[0].submit(status=303)  # ann herself, signed in, clicks it
    with get_session_factory(engine)() as session:
        acme = session.scalar(select(Page.organization_id).where(Page.id == two_organizations["acme"]["page"]))
        roles = session.scalars(
            select(Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == acme, User.name == "ann")
        ).all()
    assert roles == ["owner"]


def test_no_page_can_take_the_installs_own_host(engine, two_organizations, make_testapp):
    """The audit: an owner set a page's domain to STATUS_PAGE_URL's host, and the admin,
    /healthz, /api/push, /api/v1 and /metrics answered 404 there. The form refuses that
    host and its parents; and a row that holds one anyway never serves on it."""
    install = {"statusweb.page_url": "http://status.example.org"}  # (https would make the cookie Secure)
    owner = make_testapp(**install)
    owner.extra_environ = {"HTTP_HOST": "status.example.org"}  # the session cookie is the install host's
    login(owner, "ann")
    for domain in ("status.example.org", "example.org"):
        form = owner.get("/admin/pages").forms["page-form"]
        form["slug"], form["name"], form["domain"] = "takeover", "Takeover", domain
        assert "own address (or a parent of it)" in form.submit(status=400).text
    with get_session_factory(engine).begin() as session:  # e.g. written before this rule
        session.get(Page, two_organizations["acme"]["page"]).domain = "status.example.org"
    visitor = make_testapp(**install)
    visitor.extra_environ = {"HTTP_HOST": "status.example.org"}
    assert visitor.get("/admin/login").forms[0]["name"] is not None  # the admin's login, not a 404
    assert visitor.get("/api/v2/summary.json").json["page"]["name"] != "Acme Status"
    visitor.get("/api/v1/incidents", status=401)  # the API, asking for a token: not a 404
    assert "ann" in owner.get("/admin/users").text  # and the owner's admin still works there
