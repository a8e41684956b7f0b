"""The OpenAPI 3 document of the Statuspage-compatible routes (/api/v2/openapi.json)."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from statusweb.routes import READ_METHODS

TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
COMPONENT_STATUS = {
    "type": "string",
    "enum": ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"],
}
SCHEMAS: dict[str, Any] = {
    "Page": {
        "type": "object",
        "required": ["id", "name", "url", "time_zone", "updated_at"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "url": {"type": "string"},
            "time_zone": {"type": "string"},
            "updated_at": TIME,
        },
    },
    "Status": {
        "type": "object",
        "required": ["indicator", "description"],
        "properties": {
            "indicator": {"type": "string", "enum": ["none", "minor", "major", "critical"]},
            "description": {"type": "string"},
        },
    },
    "Component": {
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
            "id": {"type": "string"},
            "name": {"type": "string"},
            "status": COMPONENT_STATUS,
            "created_at": TIME,
            "updated_at": TIME,
            "position": {"type": "integer"},
            "description": {"type": ["string", "null"]},
            "showcase": {"type": "boolean"},
            "start_date": {"type": ["string", "null"], "format": "date"},
            "group_id": {"type": ["string", "null"]},
            "page_id": {"type": "string"},
            "group": {"type": "boolean"},
            "only_show_if_degraded": {"type": "boolean"},
            "components": {"type": "array", "items": {"type": "string"}},
        },
    },
    "IncidentUpdate": {
        "type": "object",
        "required": ["id", "status", "body", "incident_id", "created_at", "updated_at", "display_at"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string"},
            "body": {"type": "string"},
            "incident_id": {"type": "string"},
            "created_at": TIME,
            "updated_at": TIME,
            "display_at": TIME,
            "affected_components": {"type": ["array", "null"]},
        },
    },
    "Incident": {
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
            "id": {"type": "string"},
            "name": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["investigating", "identified", "monitoring", "resolved", "postmortem"],
            },
            "impact": {"type": "string", "enum": ["none", "minor", "major", "critical"]},
            "created_at": TIME,
            "updated_at": TIME,
            "monitoring_at": NULLABLE_TIME,
            "resolved_at": NULLABLE_TIME,
            "shortlink": {"type": "string"},
            "started_at": TIME,
            "page_id": {"type": "string"},
            "incident_updates": {"type": "array", "items": {"$ref": "#/components/schemas/IncidentUpdate"}},
            "components": {"type": "array", "items": {"$ref": "#/components/schemas/Component"}},
            "root_cause": {"type": "string", "description": "statusweb's own: what caused it, once known"},
            "postmortem": {"type": "string", "description": "statusweb's own: Markdown, once published"},
            "postmortem_published_at": NULLABLE_TIME,
        },
    },
    "ScheduledMaintenance": {
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
            "started_at",
            "scheduled_for",
            "scheduled_until",
            "shortlink",
            "page_id",
            "incident_updates",
            "components",
        ],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "status": {"type": "string", "enum": ["scheduled", "in_progress", "verifying", "completed"]},
            "impact": {"type": "string", "enum": ["maintenance"]},
            "cancelled": {"type": "boolean"},
            "created_at": TIME,
            "updated_at": TIME,
            "monitoring_at": NULLABLE_TIME,
            "resolved_at": NULLABLE_TIME,
            "started_at": TIME,
            "scheduled_for": TIME,
            "scheduled_until": TIME,
            "shortlink": {"type": "string"},
            "page_id": {"type": "string"},
            "incident_updates": {"type": "array", "items": {"$ref": "#/components/schemas/IncidentUpdate"}},
            "components": {"type": "array", "items": {"$ref": "#/components/schemas/Component"}},
        },
    },
}


def _answer(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": {"schema": {"type": "string"}}},
        "content": {
            "application/json": {"schema": {"type": "object", "required": list(properties), "properties": properties}}
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


ROUTES = {
    "/api/v2/summary.json": (
        "Page, components, unresolved incidents and overall status",
        {
            "page": _ref("Page"),
            "components": _list("Component"),
            "incidents": _list("Incident"),
            "scheduled_maintenances": _list("ScheduledMaintenance"),
            "status": _ref("Status"),
        },
    ),
    "/api/v2/status.json": ("The overall status", {"page": _ref("Page"), "status": _ref("Status")}),
    "/api/v2/components.json": ("Every component", {"page": _ref("Page"), "components": _list("Component")}),
    "/api/v2/incidents.json": ("The 50 most recent incidents", {"page": _ref("Page"), "incidents": _list("Incident")}),
    "/api/v2/incidents/unresolved.json": (
        "Incidents not yet resolved",
        {"page": _ref("Page"), "incidents": _list("Incident")},
    ),
    "/api/v2/scheduled-maintenances.json": (
        "The 50 latest maintenance windows",
        {"page": _ref("Page"), "scheduled_maintenances": _list("ScheduledMaintenance")},
    ),
    "/api/v2/scheduled-maintenances/upcoming.json": (
        "Maintenance windows still to start",
        {"page": _ref("Page"), "scheduled_maintenances": _list("ScheduledMaintenance")},
    ),
    "/api/v2/scheduled-maintenances/active.json": (
        "Maintenance windows in progress or verifying",
        {"page": _ref("Page"), "scheduled_maintenances": _list("ScheduledMaintenance")},
    ),
}


# The management API (/api/v1): an organization's token, read or write scope.
MANAGE_SCHEMAS: dict[str, Any] = {
    "ManagedIncident": {
        "type": "object",
        "required": ["id", "title", "impact", "status", "components", "updates"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "impact": {"type": "string", "enum": ["none", "minor", "major", "critical"]},
            "status": {"type": "string"},
            "created_at": TIME,
            "updated_at": TIME,
            "resolved_at": NULLABLE_TIME,
            "root_cause": {"type": "string"},
            "postmortem": {"type": "string"},
            "postmortem_published_at": NULLABLE_TIME,
            "components": {"type": "object", "additionalProperties": COMPONENT_STATUS},
            "updates": {"type": "array", "items": {"type": "object"}},
        },
    },
    "ManagedMaintenance": {
        "type": "object",
        "required": ["id", "title", "status", "starts_at", "ends_at"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "status": {"type": "string"},
            "starts_at": TIME,
            "ends_at": TIME,
            "services": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"const": "all"}]},
        },
    },
    "NewIncident": {
        "type": "object",
        "required": ["title", "body"],
        "properties": {
            "title": {"type": "string", "maxLength": 200},
            "body": {"type": "string"},
            "root_cause": {"type": "string", "maxLength": 5000},
            "impact": {"type": "string", "enum": ["none", "minor", "major", "critical"]},
            "status": {"type": "string", "enum": ["investigating", "identified", "monitoring", "resolved"]},
            "page": {"type": "string", "description": "a page's slug (default: default)"},
            "components": {
                "type": "object",
                "additionalProperties": COMPONENT_STATUS,
                "description": "service slug -> what the public should see",
            },
        },
    },
    "IncidentUpdateRequest": {
        "type": "object",
        "required": ["body"],
        "properties": {
            "status": {"type": "string"},
            "body": {"type": "string"},
            "root_cause": {"type": "string", "maxLength": 5000, "description": "replaces the incident's"},
        },
    },
    "PostmortemRequest": {
        "type": "object",
        "required": ["body"],
        "properties": {"body": {"type": "string", "maxLength": 50_000, "description": "Markdown (no HTML, no images)"}},
    },
    "NewMaintenance": {
        "type": "object",
        "required": ["title", "starts_at", "ends_at"],
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "starts_at": TIME,
            "ends_at": TIME,
            "page": {"type": "string"},
            "services": {
                "type": "array",
                "items": {"type": "string"},
                "description": "slugs; none: every service of the page",
            },
            "rrule": {
                "type": "string",
                "description": "an RFC 5545 RRULE repeating the window at most daily, e.g. FREQ=WEEKLY;BYDAY=TU",
            },
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "object", "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}
        },
    },
}
_ERRORS = {
    "400": "The body or a field will not do (the message says which)",
    "401": "No token, or an unknown, expired or revoked one",
    "403": "The token may only read",
    "404": "Not found in the token's organization",
    "409": "Not in a state that allows it",
}


def _operation(
    summary: str,
    key: str,
    schema: str,
    *,
    write: bool,
    body: str | None = None,
    status: str = "200",
    many: bool = False,
) -> dict[str, Any]:
    """One /api/v1 operation: answers {key: schema} (a list of them when `many`)."""
    answer = {"type": "array", "items": _ref(schema)} if many else _ref(schema)
    operation: dict[str, Any] = {
        "summary": summary,
        "security": [{"token": ["write" if write else "read"]}],
        "responses": {
            status: {
                "description": summary,
                "content": {
                    "application/json": {"schema": {"type": "object", "required": [key], "properties": {key: answer}}}
                },
            },
            **{
                code: {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
                for code, text in _ERRORS.items()
            },
        },
    }
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return operation


def _manage_paths() -> dict[str, Any]:
    incident, window = "ManagedIncident", "ManagedMaintenance"
    by_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    return {
        "/api/v1/incidents": {
            "get": _operation("The organization's latest 100 incidents", "incidents", incident, write=False, many=True),
            "post": _operation("Open an incident", "incident", incident, write=True, body="NewIncident", status="201"),
        },
        "/api/v1/incidents/{id}": {
            "parameters": by_id,
            "get": _operation("One incident", "incident", incident, write=False),
        },
        "/api/v1/incidents/{id}/updates": {
            "parameters": by_id,
            "post": _operation(
                "Post an update (status, body)",
                "incident",
                incident,
                write=True,
                body="IncidentUpdateRequest",
                status="201",
            ),
        },
        "/api/v1/incidents/{id}/postmortem": {
            "parameters": by_id,
            "post": _operation(
                "Publish a resolved incident's postmortem (201; subscribers are told once), or correct it (200)",
                "incident",
                incident,
                write=True,
                body="PostmortemRequest",
                status="201",
            ),
        },
        "/api/v1/maintenance": {
            "get": _operation("The organization's latest 100 windows", "maintenance", window, write=False, many=True),
            "post": _operation("Plan a window", "maintenance", window, write=True, body="NewMaintenance", status="201"),
        },
        "/api/v1/maintenance/{id}/end": {
            "parameters": by_id,
            "post": _operation("End a window now (it goes on to verifying)", "maintenance", window, write=True),
        },
        "/api/v1/maintenance/{id}/cancel": {
            "parameters": by_id,
            "post": _operation("Cancel a window", "maintenance", window, write=True),
        },
    }


def openapi_document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Status page API (Statuspage-compatible; /api/v1 manages incidents and maintenance)",
            "version": "2.0.0",
        },
        "servers": [{"url": server_url}],
        "paths": {
            **{
                path: {
                    "get": {
                        "summary": summary,
                        "operationId": path.strip("/").replace("/", "_").replace(".json", "").replace("-", "_"),
                        "responses": {
                            "200": _answer(summary, properties),
                            "304": {"description": "Not modified (If-None-Match)"},
                        },
                    }
                }
                for path, (summary, properties) in ROUTES.items()
            },
            **_manage_paths(),
        },
        "components": {
            "schemas": {**SCHEMAS, **MANAGE_SCHEMAS},
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an organization's API token (Admin, API tokens)",
                }
            },
        },
    }


@view_config(route_name="api_openapi", request_method=READ_METHODS, renderer="json")
def openapi(request: Request) -> dict[str, Any]:
    return openapi_document(request.application_url)
