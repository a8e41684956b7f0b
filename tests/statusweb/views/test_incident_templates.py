"""Incident templates (issue 34, point 2) as an incident writer meets them: kept in the
admin (Templates), chosen when opening an incident there (the form fills in, to change
before posting), and through /api/v1 (a pipeline opens an incident by a template's
name). Hostile names, bodies and ids get 4xx; another organization's template is a 404."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from statusweb.models import AuditEvent, Incident, IncidentTemplate, get_session_factory
from tests.statusweb.api.test_api_tokens import bearer, make_token
from tests.statusweb.pages import add_services
from tests.statusweb.views.test_admin import add_user, login
from tests.statusweb.views.test_organizations import two_organizations  # noqa: F401 - the fixture


@pytest.fixture
def editor(engine, make_testapp):
    add_user(engine, "ops", "editor")
    app = make_testapp()
    login(app, "ops")
    return app


def add_template(app, ids, **values) -> object:
    form = app.get("/admin/incident-templates").forms["template-form"]
    form["name"] = values.get("name", "Linker workers stuck")
    form["title"] = values.get("title", "Linker tasks are not finishing")
    form["impact"] = values.get("impact", "major")
    form["body"] = values.get("body", "Celery workers stopped; we are restarting them.")
    form[f"service-{ids['linker']}"] = values.get("linker", "major_outage")
    return form.submit(status=values.get("status", 303))


def test_an_editor_keeps_a_template_and_opens_an_incident_from_it(engine, editor):
    ids = add_services(engine, ("Website", "up"), ("Linker", "up"))
    add_template(editor, ids)
    listing = editor.get("/admin/incident-templates")
    assert [cell.text for cell in listing.html.select("tbody tr td")[:3]] == [
        "Linker workers stuck",
        "Linker tasks are not finishing",
        "major",
    ]
    with get_session_factory(engine)() as session:
        template = session.scalar(select(IncidentTemplate))
    new = editor.get("/admin/incidents/new")
    choice = new.forms["template-choice"]
    assert choice["template"].options[0][2] == "Linker workers stuck"
    filled = choice.submit()  # GET ?template=ID: the form, filled in
    form = filled.forms["incident-form"]
    assert form["title"].value == "Linker tasks are not finishing"
    assert form["impact"].value == "major"
    assert form["body"].value == "Celery workers stopped; we are restarting them."
    assert form[f"service-{ids['linker']}"].value == "major_outage"
    assert form[f"service-{ids['website']}"].value == ""
    form["title"] = "Linker tasks are not finishing (again)"  # changed before posting
    form.submit(status=303)
    with get_session_factory(engine)() as session:
        incident = session.scalar(select(Incident))
        assert incident.title == "Linker tasks are not finishing (again)" and incident.impact == "major"
        assert {a.service_id: a.component_status for a in incident.affected} == {ids["linker"]: "major_outage"}

    edit = editor.get(f"/admin/incident-templates/{template.id}").forms["template-form"]
    assert edit["name"].value == "Linker workers stuck" and edit[f"service-{ids['linker']}"].value == "major_outage"
    edit["impact"], edit[f"service-{ids['website']}"] = "minor", "degraded_performance"
    edit.submit(status=303)
    page = editor.get(f"/admin/incident-templates/{template.id}")
    assert page.forms["template-form"][f"service-{ids['website']}"].value == "degraded_performance"
    [f for f in page.forms.values() if f.action.endswith("/delete")][0].submit(status=303)
    with get_session_factory(engine)() as session:
        assert session.scalar(select(IncidentTemplate)) is None
        actions = sorted(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("template.%"))))
    assert actions == ["template.create", "template.delete", "template.update"]


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("values", "field", "error"),
    [
        ({"name": ""}, "name", "This is needed."),
        ({"name": "Stuck\r\nBcc: x@example.org"}, "name", "One line"),
        ({"name": "x" * 101}, "name", "At most 100 characters."),
        ({"title": "a\x00b"}, "title", "cannot be stored"),
        ({"body": "b" * 10_001}, "body", "At most 10000 characters."),
        ({"name": "Linker workers stuck"}, "name", "Another template of this organization has that name."),
    ],
)
def test_a_bad_template_gets_the_form_back(engine, editor, values, field, error):
    ids = add_services(engine, ("Linker", "up"))
    add_template(editor, ids)
    answer = add_template(editor, ids, status=400, **values)
    assert error in answer.html.select_one(f"[name={field}]").find_parent("label").find_next_sibling("p").text
    with get_session_factory(engine)() as session:
        assert len(session.scalars(select(IncidentTemplate)).all()) == 1


@pytest.mark.parametrize("migrated_engine", ["sqlite"], indirect=True)
def test_forged_values_and_ids_are_4xx(engine, editor):
    ids = add_services(engine, ("Linker", "up"))
    token = editor.get("/admin/incident-templates").forms["template-form"]["csrf_token"].value
    forged = {"csrf_token": token, "name": "x", "title": "y", "impact": "apocalyptic"}
    assert "Choose one of" in editor.post("/admin/incident-templates", forged, status=400).text
    forged.update(impact="minor", **{f"service-{ids['linker']}": "on_fire"})
    assert "Unknown component status." in editor.post("/admin/incident-templates", forged, status=400).text
    for raw in ("abc", "0", "99999999", "1e3", "-1", "%E2%82%AC", "9" * 30):
        editor.get(f"/admin/incidents/new?template={raw}", status=404)
    editor.get("/admin/incident-templates/99999", status=404)
    editor.post("/admin/incident-templates/99999/delete", {"csrf_token": token}, status=404)


def test_another_organizations_template_is_a_404_everywhere(engine, two_organizations, make_testapp):  # noqa: F811
    ann = make_testapp()
    login(ann, "ann")
    theirs = two_organizations["beta"]["template"]
    token = ann.get("/admin/incident-templates").forms["template-form"]["csrf_token"].value
    ann.get(f"/admin/incident-templates/{theirs}", status=404)
    ann.get(f"/admin/incidents/new?template={theirs}", status=404)
    ann.post(f"/admin/incident-templates/{theirs}", {"csrf_token": token, "name": "mine", "title": "t"}, status=404)
    ann.post(f"/admin/incident-templates/{theirs}/delete", {"csrf_token": token}, status=404)
    names = [cell.text for cell in ann.get("/admin/incident-templates").html.select("tbody tr td:first-child")]
    assert sorted(names) == ["acme down", "acme-internal down"]
    api = make_testapp()
    writer = make_token(ann, "acme", "write")
    api.get(f"/api/v1/incident-templates/{theirs}", headers=bearer(writer), status=404)
    api.delete(f"/api/v1/incident-templates/{theirs}", headers=bearer(writer), status=404)
    opened = json.dumps({"page": "acme", "template": "beta down"})
    api.post("/api/v1/incidents", opened, headers=bearer(writer), content_type="application/json", status=404)
    listed = api.get("/api/v1/incident-templates", headers=bearer(writer)).json["templates"]
    assert sorted(t["name"] for t in listed) == ["acme down", "acme-internal down"]
    with get_session_factory(engine)() as session:
        assert session.get(IncidentTemplate, theirs).name == "beta down"


def test_a_pipeline_keeps_templates_and_opens_an_incident_by_name(engine, make_testapp):
    ids = add_services(engine, ("Website", "up"), ("Linker", "up"))
    add_user(engine, "owner", "admin")
    owner = make_testapp()
    login(owner, "owner")
    writer, reader = make_token(owner, "default", "write"), make_token(owner, "default", "read", "dashboards")
    api = make_testapp()

    def post(path, body, token=writer, status=201):
        raw = body if isinstance(body, bytes) else json.dumps(body)
        return api.post(path, raw, headers=bearer(token), content_type="application/json", status=status)

    made = post(
        "/api/v1/incident-templates",
        {
            "name": "Linker stuck",
            "title": "Linker tasks stuck",
            "body": "Restarting workers.",
            "impact": "major",
            "components": {"linker": "major_outage"},
        },
    ).json["template"]
    assert made["components"] == {"linker": "major_outage"}
    post("/api/v1/incident-templates", {"name": "Linker stuck", "title": "again"}, status=409)
    post("/api/v1/incident-templates", {"name": "x", "title": "y"}, token=reader, status=403)
    for bad in (
        {"name": "", "title": "y"},
        {"name": "a\r\nb", "title": "y"},
        {"name": "x" * 101, "title": "y"},
        {"name": "n", "title": "y", "impact": "huge"},
        {"name": "n", "title": "y", "components": {"linker": "on_fire"}},
        {"name": "n", "title": "y", "components": {"nope": "major_outage"}},
        {"name": "n", "title": "y", "components": ["linker"]},
        {"name": "n", "title": "\x00"},
        [1],
        b"\xff\xfe",
    ):
        post("/api/v1/incident-templates", bad, status=400)

    opened = post("/api/v1/incidents", {"template": "Linker stuck"}).json["incident"]
    assert (opened["title"], opened["impact"], opened["components"]) == (
        "Linker tasks stuck",
        "major",
        {"linker": "major_outage"},
    )
    assert opened["updates"][0]["body"] == "Restarting workers."
    chosen = post(
        "/api/v1/incidents",
        {"template": made["id"], "title": "Linker slow", "components": {"website": "degraded_performance"}},
    ).json["incident"]
    assert chosen["title"] == "Linker slow"
    assert chosen["components"] == {"linker": "major_outage", "website": "degraded_performance"}
    for wanted, status in (("Nobody's", 404), (999999, 404), (True, 400), ([1], 400), (None, 400)):
        post("/api/v1/incidents", {"template": wanted}, status=status)
    assert api.get(f"/api/v1/incident-templates/{made['id']}", headers=bearer(reader)).json["template"]["name"] == (
        "Linker stuck"
    )
    assert api.delete(f"/api/v1/incident-templates/{made['id']}", headers=bearer(writer)).json == {
        "deleted": made["id"]
    }
    assert api.get("/api/v1/incident-templates", headers=bearer(reader)).json == {"templates": []}
    assert ids  # the services the template named stay
