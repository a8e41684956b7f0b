"""The page cache follows commits: a transaction that changed what pages show clears it
once committed (from the admin, /api/v1, or any session of the app), a rolled-back one
clears nothing, and a write that pages do not show (a user) leaves it alone."""

from __future__ import annotations

import json

from sqlalchemy import event

from statuscore import utcnow
from statusweb.models import Incident, Page, User
from statusweb.services.organizations import organization_named
from tests.statusweb.api.test_api_tokens import bearer, make_token
from tests.statusweb.pages import add_services
from tests.statusweb.views.test_admin import add_user, login


def cached_app(make_testapp):
    """An app that keeps pages for 5 minutes, and a counter of its database checkouts
    (none: "/" came from the cache)."""
    app = make_testapp(**{"statusweb.page_cache_seconds": "300"})
    checkouts = []
    event.listen(app.app.registry["statusweb.engine"], "checkout", lambda *args: checkouts.append(1))
    return app, checkouts


def served_from_cache(app, checkouts) -> bool:
    checkouts.clear()
    app.get("/")
    return not checkouts


def test_an_incident_from_the_admin_or_the_api_shows_at_once_on_a_cached_page(engine, make_testapp):
    ids = add_services(engine, ("Linker", "up"))
    add_user(engine, "ops", "admin")
    app, checkouts = cached_app(make_testapp)
    login(app, "ops")
    assert "Linker tasks stuck" not in app.get("/").text
    assert served_from_cache(app, checkouts)
    form = app.get("/admin/incidents/new").forms[1]
    form["title"], form["body"] = "Linker tasks stuck", "Looking into it."
    form[f"service-{ids['linker']}"] = "major_outage"
    form.submit(status=303)
    assert "Linker tasks stuck" in app.get("/").text
    token = make_token(app, "default", "write")
    assert served_from_cache(app, checkouts)
    app.post(
        "/api/v1/incidents",
        json.dumps({"title": "Exports late", "body": "Queue backed up."}),
        headers=bearer(token),
        content_type="application/json",
        status=201,
    )
    assert "Exports late" in app.get("/").text


def test_only_a_committed_change_of_what_pages_show_clears_the_cache(engine, make_testapp):
    add_services(engine, ("Linker", "up"))
    app, checkouts = cached_app(make_testapp)
    app.get("/")
    factory = app.app.registry["dbsession_factory"]
    now = utcnow()

    def incident(title):
        return Incident(title=title, impact="minor", status="investigating", created_at=now, updated_at=now)

    with factory() as session:  # flushed, then rolled back: nothing changed
        session.add(incident("Never happened"))
        session.flush()
        session.rollback()
    assert served_from_cache(app, checkouts)
    with factory.begin() as session:  # a write no page shows
        user = User(name="someone", role="editor", created_at=now)
        user.set_password("correct horse battery")
        session.add(user)
    assert served_from_cache(app, checkouts)
    with factory.begin() as session:
        session.add(incident("Search is slow"))
    assert not served_from_cache(app, checkouts)  # rendered again, and so
    assert "Search is slow" in app.get("/").text


def test_a_page_committed_is_found_by_its_address_at_once(engine, make_testapp):
    app, _ = cached_app(make_testapp)
    app.get("/pages/team/", status=404)
    now = utcnow()
    with app.app.registry["dbsession_factory"].begin() as session:
        owner = organization_named(session, "default", now)
        session.add(Page(slug="team", name="Team", organization_id=owner.id, created_at=now, updated_at=now))
    assert "Team" in app.get("/pages/team/").text
