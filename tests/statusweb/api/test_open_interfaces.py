"""Statuspage-compatible JSON, feeds, badges and /metrics, read by the tools that
consume them: a JSON Schema of Statuspage's documented shape, feedparser,
prometheus_client's parser, an XML parser, and schemathesis on our OpenAPI document."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import timedelta

import feedparser
import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import AlertOutbox, get_session_factory
from tests.statusweb.pages import add_daily_uptime, add_incident, add_services

ISO = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$"}
ISO_OR_NULL = {"anyOf": [ISO, {"type": "null"}]}
PAGE = {
    "type": "object",
    "required": ["id", "name", "url", "time_zone", "updated_at"],
    "properties": {"updated_at": ISO},
}
COMPONENT = {
    "type": "object",
    "required": [
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "showcase",
        "start_date",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
    ],
    "properties": {
        "status": {
            "enum": ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"]
        },
        "created_at": ISO,
        "updated_at": ISO,
        "position": {"type": "integer"},
        "showcase": {"type": "boolean"},
        "group": {"type": "boolean"},
    },
}
UPDATE = {
    "type": "object",
    "required": ["id", "status", "body", "incident_id", "created_at", "updated_at", "display_at"],
    "properties": {"created_at": ISO, "display_at": ISO},
}
INCIDENT = {
    "type": "object",
    "required": [
        "id",
        "name",
        "status",
        "impact",
        "created_at",
        "updated_at",
        "monitoring_at",
        "resolved_at",
        "shortlink",
        "started_at",
        "page_id",
        "incident_updates",
        "components",
    ],
    "properties": {
        "status": {"enum": ["investigating", "identified", "monitoring", "resolved", "postmortem"]},
        "impact": {"enum": ["none", "minor", "major", "critical"]},
        "created_at": ISO,
        "monitoring_at": ISO_OR_NULL,
        "resolved_at": ISO_OR_NULL,
        "incident_updates": {"type": "array", "items": UPDATE},
        "components": {"type": "array", "items": COMPONENT},
    },
}
MAINTENANCE = {
    "type": "object",
    "required": [
        "id",
        "name",
        "status",
        "impact",
        "created_at",
        "updated_at",
        "monitoring_at",
        "resolved_at",
        "shortlink",
        "started_at",
        "page_id",
        "incident_updates",
        "components",
        "scheduled_for",
        "scheduled_until",
    ],
    "properties": {
        "status": {"enum": ["scheduled", "in_progress", "verifying", "completed"]},
        "impact": {"enum": ["maintenance"]},
        "scheduled_for": ISO,
        "scheduled_until": ISO,
        "incident_updates": {"type": "array", "items": UPDATE},
        "components": {"type": "array", "items": COMPONENT},
    },
}
STATUS = {
    "type": "object",
    "required": ["indicator", "description"],
    "properties": {"indicator": {"enum": ["none", "minor", "major", "critical"]}},
}
SUMMARY = {
    "type": "object",
    "required": ["page", "components", "incidents", "scheduled_maintenances", "status"],
    "properties": {
        "page": PAGE,
        "components": {"type": "array", "items": COMPONENT},
        "incidents": {"type": "array", "items": INCIDENT},
        "status": STATUS,
    },
}


@pytest.fixture
def populated(engine):
    ids = add_services(engine, ("Site", "up"), ("Linker", "down"), ("MCP", "degraded"))
    add_daily_uptime(engine, ids["site"], days=30, up=999, down=1)
    add_incident(
        engine, "Linker tasks stuck", impact="major", status="monitoring", affected={ids["linker"]: "major_outage"}
    )
    add_incident(engine, "Old export delay", status="resolved")
    add_maintenance(engine)
    return ids


def add_maintenance(engine) -> None:
    """One window in progress on the Linker, one next week on everything, one cancelled."""
    from statusweb.models import Service
    from statusweb.services.maintenance import WindowPlan, advance_windows, cancel, create_window

    now = utcnow()
    with get_session_factory(engine).begin() as session:
        linker = session.scalar(select(Service.id).where(Service.slug == "linker"))
        create_window(
            session,
            WindowPlan(
                title="Linker reindex",
                starts_at=now - timedelta(minutes=5),
                ends_at=now + timedelta(hours=1),
                service_ids=(linker,),
            ),
            now=now,
            author="ops",
        )
        create_window(
            session,
            WindowPlan(
                title="Database upgrade", starts_at=now + timedelta(days=6), ends_at=now + timedelta(days=6, hours=2)
            ),
            now=now,
            author="ops",
        )
        gone = create_window(
            session,
            WindowPlan(title="Called off", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=1)),
            now=now,
            author="ops",
        )
        cancel(gone, now=now, author="ops")
        advance_windows(session, now)


def test_summary_matches_statuspage_shape(populated, testapp):
    answer = testapp.get("/api/v2/summary.json")
    body = answer.json
    jsonschema.validate(body, SUMMARY)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert body["status"] == {"indicator": "major", "description": "Major Outage"}
    by_id = {c["id"]: c for c in body["components"]}
    assert by_id["linker"]["status"] == "major_outage" and by_id["mcp"]["status"] == "degraded_performance"
    assert by_id["group-core"]["group"] is True and set(by_id["group-core"]["components"]) == {"site", "linker", "mcp"}
    assert by_id["site"]["group_id"] == "group-core"
    (incident,) = body["incidents"]  # unresolved only
    assert incident["name"] == "Linker tasks stuck" and incident["monitoring_at"] is not None
    assert [c["id"] for c in incident["components"]] == ["linker"]


def test_summary_says_what_the_unresolved_and_maintenance_answers_say(populated, engine, testapp):
    """summary.json takes its incidents from the page it builds anyway (issue 16, item 1):
    the same list, newest first, as incidents/unresolved.json, and the windows of
    upcoming.json then active.json."""
    from statusweb.models import Incident

    for hours in (3, 1, 2):
        add_incident(
            engine,
            f"Open {hours} h ago",
            created=utcnow() - timedelta(hours=hours),
            affected={populated["site"]: "partial_outage"},
        )
    gone = add_incident(engine, "Deleted", created=utcnow())
    with get_session_factory(engine).begin() as session:
        session.get(Incident, gone).deleted = True
    summary = testapp.get("/api/v2/summary.json").json
    unresolved = testapp.get("/api/v2/incidents/unresolved.json").json["incidents"]
    assert [i["name"] for i in summary["incidents"]] == [
        "Linker tasks stuck",
        "Open 1 h ago",
        "Open 2 h ago",
        "Open 3 h ago",
    ]
    assert summary["incidents"] == unresolved
    upcoming = testapp.get("/api/v2/scheduled-maintenances/upcoming.json").json["scheduled_maintenances"]
    active = testapp.get("/api/v2/scheduled-maintenances/active.json").json["scheduled_maintenances"]
    assert summary["scheduled_maintenances"] == upcoming + active
    assert [w["name"] for w in summary["scheduled_maintenances"]] == ["Database upgrade", "Linker reindex"]


@pytest.mark.parametrize(
    "path, schema_key",
    [
        ("/api/v2/status.json", "status"),
        ("/api/v2/components.json", "components"),
        ("/api/v2/incidents.json", "incidents"),
        ("/api/v2/incidents/unresolved.json", "incidents"),
        ("/api/v2/scheduled-maintenances.json", "scheduled_maintenances"),
        ("/api/v2/scheduled-maintenances/upcoming.json", "scheduled_maintenances"),
        ("/api/v2/scheduled-maintenances/active.json", "scheduled_maintenances"),
    ],
)
def test_every_route_has_the_documented_shape(populated, testapp, path, schema_key):
    body = testapp.get(path).json
    jsonschema.validate(body["page"], PAGE)
    schema = {
        "status": STATUS,
        "components": {"type": "array", "items": COMPONENT},
        "incidents": {"type": "array", "items": INCIDENT},
        "scheduled_maintenances": {"type": "array", "minItems": 1, "items": MAINTENANCE},
    }[schema_key]
    jsonschema.validate(body[schema_key], schema)
    if path.endswith("upcoming.json"):
        assert [m["name"] for m in body[schema_key]] == ["Database upgrade"]
    elif path.endswith("active.json"):
        assert [(m["name"], m["status"]) for m in body[schema_key]] == [("Linker reindex", "in_progress")]
    elif path.endswith("maintenances.json"):
        assert {m["name"]: m["status"] for m in body[schema_key]} == {
            "Linker reindex": "in_progress",
            "Database upgrade": "scheduled",
            "Called off": "completed",
        }


def test_incidents_list_includes_resolved_and_etag_gives_304(populated, make_testapp):
    app = make_testapp(**{"statusweb.page_cache_seconds": "5"})
    first = app.get("/api/v2/incidents.json")
    assert {i["name"] for i in first.json["incidents"]} == {"Linker tasks stuck", "Old export delay"}
    assert first.headers["Cache-Control"].startswith("public")
    app.get("/api/v2/incidents.json", headers={"If-None-Match": first.headers["ETag"]}, status=304)


def test_unknown_routes_and_bad_parameters_are_json_errors(populated, testapp):
    assert testapp.get("/api/v2/nope.json", status=404).json["error"]["status"] == 404
    assert testapp.get("/badge/nope/status.svg", status=404).json["error"]["message"] == "no such service"
    bad = testapp.get("/badge/site/uptime.svg?days=1000", status=400)
    assert bad.json["error"]["message"] == "days must be a whole number from 1 to 90"


def test_feeds_are_valid_atom_and_rss_with_updates(populated, testapp):
    for path, version in (("/history.atom", "atom10"), ("/history.rss", "rss20")):
        answer = testapp.get(path)
        feed = feedparser.parse(answer.body)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.version == version
        titles = [entry.title for entry in feed.entries]
        assert "Linker tasks stuck (monitoring)" in titles and "Old export delay (resolved)" in titles
        content = next(e for e in feed.entries if e.title.startswith("Linker"))
        text = content.content[0].value if "content" in content else content.description
        assert "Now monitoring." in text and "We are looking into it." in text


@pytest.mark.parametrize(
    "path, words",
    [
        ("/badge/site/status.svg", ["Site", "operational"]),
        ("/badge/linker/status.svg", ["major outage"]),
        ("/badge/site/uptime.svg?days=30", ["uptime 30d", "99.90%"]),
        ("/badge/site/latency.svg", ["123 ms"]),
        ("/badge/linker/latency.svg", ["n/a"]),
    ],
)
def test_badges_are_well_formed_svg(populated, testapp, path, words):
    answer = testapp.get(path)
    assert answer.content_type == "image/svg+xml"
    root = ElementTree.fromstring(answer.body)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join(t for t in root.itertext())
    for word in words:
        assert word in text
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_metrics_parse_and_say_what_is_up(populated, engine, testapp):
    with get_session_factory(engine).begin() as session:
        session.add(
            AlertOutbox(
                id="a1",
                sink="slack",
                monitor="Linker",
                kind="down",
                payload="{}",
                created_at=utcnow(),
                attempts=2,
                delivered_at=utcnow(),
            )
        )
        session.add(
            AlertOutbox(
                id="a2", sink="slack", monitor="Linker", kind="reminder", payload="{}", created_at=utcnow(), attempts=1
            )
        )
    families = {f.name: f for f in text_string_to_metric_families(testapp.get("/metrics").text)}
    up = {s.labels["service"]: s.value for s in families["statuscore_up"].samples}
    assert up == {"site": 1.0, "linker": 0.0, "mcp": 1.0}
    current = [s.labels for s in families["statuscore_status"].samples if s.value == 1.0]
    assert {"service": "linker", "status": "down"} in current
    checks = {
        (s.labels["service"], s.labels["result"]): s.value
        for s in families["statuscore_checks"].samples
        if s.name == "statuscore_checks_total"
    }
    assert checks[("site", "up")] == 30 * 999 and checks[("site", "down")] == 30
    latency = [
        s
        for s in families["statuscore_check_latency_seconds"].samples
        if s.name.endswith("_count") and s.labels["service"] == "site"
    ]
    assert latency[0].value == 30 * 999
    assert [s.value for s in families["statuscore_alerts_sent"].samples if s.name.endswith("_total")] == [1]
    assert [s.value for s in families["statuscore_alerts_failed"].samples if s.name.endswith("_total")] == [3]
    assert families["statuscore_alert_outbox_backlog"].samples[0].value == 1
    assert "statuscore_runner_heartbeat_age_seconds" in families


def test_schemathesis_against_the_openapi_document(populated, db_url):
    """Every documented operation, called with schemathesis' generated cases (bounded),
    answers as its OpenAPI document says."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from statusweb import main

    app = main(
        {"here": "."}, **{"sqlalchemy.url": db_url, "statusweb.runner": "false", "statusweb.page_cache_seconds": "0"}
    )
    schema = schemathesis.openapi.from_wsgi("/api/v2/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 21  # the Statuspage reads and /api/v1 (here without a token: 401)
    for operation in operations:

        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def conforms(case) -> None:
            case.call_and_validate()

        conforms()


def test_metrics_count_every_day_kept_and_go_on_counting_today(populated, engine, testapp):
    """The sums over past days are kept between scrapes (issue 16, item 6); a day ten
    years back still counts, and what is written today shows at the next scrape."""
    from statusweb.models import RollupDaily
    from statusweb.models.rollups import day_bucket

    def site_up() -> float:
        families = {f.name: f for f in text_string_to_metric_families(testapp.get("/metrics").text)}
        return next(
            s.value
            for s in families["statuscore_checks"].samples
            if s.name == "statuscore_checks_total" and s.labels == {"service": "site", "result": "up"}
        )

    decade_ago = day_bucket(utcnow()) - timedelta(days=3650)
    with get_session_factory(engine).begin() as session:
        session.add(
            RollupDaily(
                service_id=populated["site"],
                bucket=decade_ago,
                up_count=7,
                latency_count=7,
                latency_sum_ms=700,
                latency_max_ms=100,
            )
        )
    assert site_up() == 30 * 999 + 7
    with get_session_factory(engine).begin() as session:
        today = session.get(RollupDaily, (populated["site"], day_bucket(utcnow())))
        today.up_count += 5
    assert site_up() == 30 * 999 + 7 + 5


def test_metrics_lines_are_prometheus_clients_own_and_only_changed_services_are_formatted():
    """A scrape keeps each service's lines while its figures stay the same (issue 16, item
    6): the answer is byte for byte what `generate_latest` writes for the same families,
    after figures change, services come and go, and slugs carry what must be escaped."""
    from prometheus_client import generate_latest

    from statusweb.api.metrics import ServiceFigures, ServiceLines, service_families
    from statusweb.models.rollups import RollupTotals

    def expected(figures) -> bytes:
        class Registry:
            def collect(self):
                return service_families(figures)[0]

        return generate_latest(Registry())

    def figures_of(count: int, shift: int = 0) -> list[ServiceFigures]:
        return [
            ServiceFigures(
                f"svc-{n}",
                ("up", "down", None, "degraded")[n % 4],
                RollupTotals(
                    up_count=n * 10 + shift,
                    down_count=n,
                    latency_count=n * 10,
                    latency_sum_ms=n * 999,
                    histogram=[n] * 15,
                ),
            )
            for n in range(count)
        ]

    lines = ServiceLines()
    figures = figures_of(40)
    assert lines.exposition(figures) == expected(figures)
    assert lines.formatted == 40
    assert lines.exposition(figures) == expected(figures)
    assert lines.formatted == 40  # nothing changed: nothing formatted

    figures[3] = figures[3]._replace(last="maintenance")
    figures[7].total.up_count += 1
    figures[9].total.histogram[2] += 1
    del figures[20]
    figures.insert(
        0, ServiceFigures('odd "slug"\\with\nnewline \u05e9\u05dc\u05d5\u05dd', "up", RollupTotals(up_count=1))
    )
    assert lines.exposition(figures) == expected(figures)
    assert (lines.formatted, lines.refilled) == (41, 3)  # the new one whole; new values for the three changed

    for row in figures:  # every service changed, to values Go's float format writes its own way
        row.total.up_count += 12_345_678
        row.total.latency_sum_ms += 0.0123
        row.total.histogram[0] += 10_000_000
    assert lines.exposition(figures) == expected(figures)
    assert (lines.formatted, lines.refilled) == (41, 43)
    assert b'statuscore_checks_total{result="up",service="odd \\"slug\\"\\\\with\\nnewline ' in lines.exposition(
        figures
    )
    assert lines.exposition([]) == expected([])
    assert lines.exposition(figures) == expected(figures)  # forgotten, formatted again
    families = {f.name: f for f in text_string_to_metric_families(lines.exposition(figures).decode())}
    assert len(families["statuscore_up"].samples) == 40


def test_metrics_show_a_changed_status_at_the_next_scrape(populated, engine, testapp):
    from statusweb.models import ServiceState

    def up() -> dict[str, float]:
        families = {f.name: f for f in text_string_to_metric_families(testapp.get("/metrics").text)}
        return {s.labels["service"]: s.value for s in families["statuscore_up"].samples}

    assert up() == {"site": 1.0, "linker": 0.0, "mcp": 1.0}
    with get_session_factory(engine).begin() as session:
        session.get(ServiceState, populated["linker"]).last_status = "up"
        session.get(ServiceState, populated["site"]).last_status = "down"
    assert up() == {"site": 0.0, "linker": 1.0, "mcp": 1.0}
