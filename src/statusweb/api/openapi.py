"""The OpenAPI 3 document of the Statuspage-compatible routes (/api/v2/openapi.json)."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from statusweb.api.openapi_manage import MANAGE_SCHEMAS, manage_paths
from statusweb.api.openapi_types import COMPONENT_STATUS, NULLABLE_TIME, TIME, ref
from statusweb.routes import READ_METHODS

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


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


ROUTES = {
    "/api/v2/summary.json": (
        "Page, components, unresolved incidents and overall status",
        {
            "page": ref("Page"),
            "components": _list("Component"),
            "incidents": _list("Incident"),
            "scheduled_maintenances": _list("ScheduledMaintenance"),
            "status": ref("Status"),
        },
    ),
    "/api/v2/status.json": ("The overall status", {"page": ref("Page"), "status": ref("Status")}),
    "/api/v2/components.json": ("Every component", {"page": ref("Page"), "components": _list("Component")}),
    "/api/v2/incidents.json": ("The 50 most recent incidents", {"page": ref("Page"), "incidents": _list("Incident")}),
    "/api/v2/incidents/unresolved.json": (
        "Incidents not yet resolved",
        {"page": ref("Page"), "incidents": _list("Incident")},
    ),
    "/api/v2/scheduled-maintenances.json": (
        "The 50 latest maintenance windows",
        {"page": ref("Page"), "scheduled_maintenances": _list("ScheduledMaintenance")},
    ),
    "/api/v2/scheduled-maintenances/upcoming.json": (
        "Maintenance windows still to start",
        {"page": ref("Page"), "scheduled_maintenances": _list("ScheduledMaintenance")},
    ),
    "/api/v2/scheduled-maintenances/active.json": (
        "Maintenance windows in progress or verifying",
        {"page": ref("Page"), "scheduled_maintenances": _list("ScheduledMaintenance")},
    ),
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
            **manage_paths(),
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
