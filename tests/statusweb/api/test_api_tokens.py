"""The management API with organization tokens (webtest, both databases): an owner
makes a token in the admin (shown once, hashed at rest), a deploy pipeline opens and
resolves an incident and plans, ends and cancels maintenance with it; read tokens
cannot write; expired, revoked and other organizations' tokens get nothing; hostile
bodies get 4xx; every change is in the audit log under the token's name."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from statuscore import utcnow
from statusweb.models import ApiToken, get_session_factory
from statusweb.services.organizations import token_digest
from tests.statusweb.views.test_admin import login
from tests.statusweb.views.test_organizations import two_organizations  # noqa: F401 (a fixture)


def make_token(app, organization: str, scope: str, name: str = "deploy") -> str:
    form = app.get("/admin/tokens").forms["token-form"]
    form["name"], form["organization"], form["scope"], form["days"] = name, organization, scope, "30"
    return form.submit().html.select_one("code.secret").text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def owner(two_organizations, make_testapp):  # noqa: F811
    app = make_testapp()
    login(app, "ann")
    return app


def test_a_pipeline_opens_updates_and_resolves_an_incident_and_runs_a_maintenance(engine, owner, make_testapp):
    token = make_token(owner, "acme", "write")
    with get_session_factory(engine)() as session:
        stored = session.scalar(select(ApiToken).where(ApiToken.name == "deploy"))
        assert stored.token_hash == token_digest(token) and token not in (stored.prefix, stored.token_hash)
    api = make_testapp()
    made = api.post(
        "/api/v1/incidents",
        json.dumps(
            {
                "title": "Checkout errors",
                "body": "Payments fail for some",
                "impact": "major",
                "page": "acme",
                "components": {"acme-shop": "partial_outage"},
            }
        ),
        headers=bearer(token),
        content_type="application/json",
        status=201,
    ).json["incident"]
    assert made["components"] == {"acme-shop": "partial_outage"} and made["status"] == "investigating"
    assert "Checkout errors" in api.get("/pages/acme/").text and "Checkout errors" not in api.get("/").text
    api.post(
        f"/api/v1/incidents/{made['id']}/updates",
        json.dumps({"status": "resolved", "body": "Fixed."}),
        headers=bearer(token),
        content_type="application/json",
        status=201,
    )
    assert api.get(f"/api/v1/incidents/{made['id']}", headers=bearer(token)).json["incident"]["status"] == "resolved"
    api.post(
        f"/api/v1/incidents/{made['id']}/updates",
        json.dumps({"body": "again"}),
        headers=bearer(token),
        content_type="application/json",
        status=409,
    )
    start = utcnow() - timedelta(minutes=1)
    window = api.post(
        "/api/v1/maintenance",
        json.dumps(
            {
                "title": "Deploy 2026.11",
                "page": "acme",
                "services": ["acme-shop"],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(minutes=30)).isoformat(),
            }
        ),
        headers=bearer(token),
        content_type="application/json",
        status=201,
    ).json["maintenance"]
    assert window["status"] == "in_progress" and window["services"] == ["acme-shop"]
    assert "Deploy 2026.11" in api.get("/pages/acme/").text
    ended = api.post(f"/api/v1/maintenance/{window['id']}/end", headers=bearer(token)).json["maintenance"]
    assert ended["status"] == "verifying"
    later = api.post(
        "/api/v1/maintenance",
        json.dumps(
            {
                "title": "Later",
                "page": "acme",
                "starts_at": (start + timedelta(days=2)).isoformat(),
                "ends_at": (start + timedelta(days=2, hours=1)).isoformat(),
            }
        ),
        headers=bearer(token),
        content_type="application/json",
        status=201,
    ).json["maintenance"]
    assert (
        api.post(f"/api/v1/maintenance/{later['id']}/cancel", headers=bearer(token)).json["maintenance"]["status"]
        == "cancelled"
    )
    titles = [i["title"] for i in api.get("/api/v1/incidents", headers=bearer(token)).json["incidents"]]
    assert "Checkout errors" in titles and not any("beta" in t for t in titles)
    audit = owner.get("/admin/audit").text
    for action in (
        "token.create",
        "incident.create",
        "incident.update",
        "maintenance.create",
        "maintenance.end",
        "maintenance.cancel",
    ):
        assert action in audit
    assert "token deploy" in audit


def test_tokens_are_scoped_expire_and_can_be_revoked(engine, owner, two_organizations, make_testapp):  # noqa: F811
    reader, writer = make_token(owner, "acme", "read", "dashboards"), make_token(owner, "acme", "write")
    api = make_testapp()
    body = json.dumps({"title": "x", "body": "y", "page": "acme"})
    api.post("/api/v1/incidents", body, headers=bearer(reader), content_type="application/json", status=403)
    api.get("/api/v1/incidents", headers=bearer(reader), status=200)
    beta = two_organizations["beta"]
    api.get(f"/api/v1/incidents/{beta['incident']}", headers=bearer(writer), status=404)
    api.post(
        f"/api/v1/incidents/{beta['incident']}/updates",
        json.dumps({"body": "mine"}),
        headers=bearer(writer),
        content_type="application/json",
        status=404,
    )
    api.post(
        f"/api/v1/incidents/{beta['incident']}/postmortem",
        json.dumps({"body": "mine"}),
        headers=bearer(writer),
        content_type="application/json",
        status=404,
    )
    api.post(f"/api/v1/maintenance/{beta['maintenance']}/cancel", headers=bearer(writer), status=404)
    api.post(
        "/api/v1/incidents",
        json.dumps({"title": "x", "body": "y", "page": "beta"}),
        headers=bearer(writer),
        content_type="application/json",
        status=404,
    )
    api.post(
        "/api/v1/incidents",
        json.dumps({"title": "x", "body": "y", "page": "acme", "components": {"beta-api": "major_outage"}}),
        headers=bearer(writer),
        content_type="application/json",
        status=400,
    )
    # a session cookie alone opens nothing here: owner is logged in, but sends no token
    owner.get("/api/v1/incidents", status=401)
    for header in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YTpi"},
        {"Authorization": "Bearer sw_" + "x" * 43},
        {"Authorization": "Bearer " + "x" * 10000},
    ):
        answer = api.get("/api/v1/incidents", headers=header, status=401)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    with get_session_factory(engine).begin() as session:
        session.execute(update(ApiToken).where(ApiToken.name == "dashboards").values(expires_at=utcnow()))
    api.get("/api/v1/incidents", headers=bearer(reader), status=401)
    page = owner.get("/admin/tokens")
    (revoke,) = [f for f in page.forms.values() if f.html.select_one('button[aria-label="Revoke deploy"]')]
    revoke.submit(status=303)
    api.get("/api/v1/incidents", headers=bearer(writer), status=401)
    assert "revoked" in owner.get("/admin/tokens").text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"title": 5, "body": "x"}',
        b'{"title": "", "body": "x"}',
        b'{"title": "x", "body": "x", "impact": "apocalyptic"}',
        b'{"title": "x", "body": "x", "page": {"a": 1}}',
        b'{"title": "x", "body": "x", "components": ["acme-shop"]}',
        b'{"title": "x", "body": "x", "components": {"acme-shop": "gone"}}',
        '{"title": "\u05d0\u05d1", "body": "'.encode() + b"x" * 20000 + b'"}',
        b'{"title": "x\\u0000", "body": "y"}',
        b'{"title": "x", "body": "\\ud800"}',
        b'{"title": "x", "body": "y", "status": "exploded"}',
        b'{"title": "Down\\r\\nBcc: all@example.org", "body": "y"}',
        b'{"title": "Down\\u2028again", "body": "y"}',
        b'{"title": "x", "body": "y", "root_cause": 5}',
        b'{"title": "x", "body": "y", "root_cause": ["a"]}',
        b'{"title": "x", "body": "y", "root_cause": "\\u0000"}',
        b'{"title": "x", "body": "y", "root_cause": "\\udc80"}',
        b'{"title": "x", "body": "y", "root_cause": "' + "\u05e9".encode() * 5001 + b'"}',
    ],
)
def test_hostile_incident_bodies_get_400(owner, make_testapp, body):
    token = make_token(owner, "acme", "write")
    if body.startswith(b'{"title"'):  # on a page the token's organization owns: the fields themselves are judged
        body = b'{"page": "acme", ' + body[1:]
    answer = make_testapp().post(
        "/api/v1/incidents", body, headers=bearer(token), content_type="application/json", expect_errors=True
    )
    assert answer.status_int == 400 and answer.json["error"]["message"]


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
@pytest.mark.parametrize("value", ["yesterday", "2026-11-24T10:00:00", "99999-01-01T00:00:00Z", 5, None])
def test_hostile_maintenance_times_get_400(owner, make_testapp, field, value):
    token = make_token(owner, "acme", "write")
    body = {
        "title": "x",
        "page": "acme",
        "starts_at": "2026-12-01T10:00:00Z",
        "ends_at": "2026-12-01T11:00:00Z",
        field: value,
    }
    make_testapp().post(
        "/api/v1/maintenance", json.dumps(body), headers=bearer(token), content_type="application/json", status=400
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "Upgrade\r\nBcc: all@example.org"),
        ("title", "tab\there"),
        ("rrule", "FREQ=DAILY;BYMINUTE=0,1,2,3"),
        ("rrule", "FREQ=DAILY;BYHOUR=1,13"),
    ],
)
def test_maintenance_with_a_header_breaking_title_or_a_rule_more_often_than_daily_gets_400(
    owner, make_testapp, field, value
):
    token = make_token(owner, "acme", "write")
    body = {
        "title": "x",
        "page": "acme",
        "starts_at": "2026-12-01T10:00:00Z",
        "ends_at": "2026-12-01T11:00:00Z",
        field: value,
    }
    answer = make_testapp().post(
        "/api/v1/maintenance", json.dumps(body), headers=bearer(token), content_type="application/json", status=400
    )
    assert field in answer.json["error"]["message"] or "recurrence" in answer.json["error"]["message"]


def test_the_openapi_file_documents_the_management_api(make_testapp):
    document = make_testapp().get("/api/v2/openapi.json").json
    assert {
        "/api/v1/incidents",
        "/api/v1/incidents/{id}/updates",
        "/api/v1/maintenance",
        "/api/v1/maintenance/{id}/end",
    } <= set(document["paths"])
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert document["paths"]["/api/v1/incidents"]["post"]["security"] == [{"token": ["write"]}]
