"""The /api/v1 half of the OpenAPI document: the management API's schemas and paths."""

from __future__ import annotations

from typing import Any

from statusweb.api.openapi_types import COMPONENT_STATUS, NULLABLE_TIME, TIME, ref

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
        "description": "title and body are needed unless a template gives them",
        "properties": {
            "title": {"type": "string", "maxLength": 200},
            "body": {"type": "string"},
            "root_cause": {"type": "string", "maxLength": 5000},
            "impact": {"type": "string", "enum": ["none", "minor", "major", "critical"]},
            "status": {"type": "string", "enum": ["investigating", "identified", "monitoring", "resolved"]},
            "page": {"type": "string", "description": "a page's slug (default: default)"},
            "template": {
                "oneOf": [{"type": "string"}, {"type": "integer"}],
                "description": "an incident template's name or id: fills in what the body leaves out",
            },
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
    "Template": {
        "type": "object",
        "required": ["id", "name", "title", "body", "impact", "components"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "impact": {"type": "string", "enum": ["none", "minor", "major", "critical"]},
            "components": {"type": "object", "additionalProperties": COMPONENT_STATUS},
            "created_at": TIME,
            "updated_at": TIME,
        },
    },
    "NewTemplate": {
        "type": "object",
        "required": ["name", "title"],
        "properties": {
            "name": {"type": "string", "maxLength": 100},
            "title": {"type": "string", "maxLength": 200},
            "body": {"type": "string", "maxLength": 10_000},
            "impact": {"type": "string", "enum": ["none", "minor", "major", "critical"]},
            "components": {
                "type": "object",
                "additionalProperties": COMPONENT_STATUS,
                "description": "service slug -> what the public should see",
            },
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
    answer = {"type": "array", "items": ref(schema)} if many else ref(schema)
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
                code: {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                for code, text in _ERRORS.items()
            },
        },
    }
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return operation


def manage_paths() -> dict[str, Any]:
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
        "/api/v1/incident-templates": {
            "get": _operation("The organization's incident templates", "templates", "Template", write=False, many=True),
            "post": _operation(
                "Add an incident template (409: the name is in use)",
                "template",
                "Template",
                write=True,
                body="NewTemplate",
                status="201",
            ),
        },
        "/api/v1/incident-templates/{id}": {
            "parameters": by_id,
            "get": _operation("One incident template", "template", "Template", write=False),
            "delete": _deleted("Delete an incident template (incidents opened from it stay)"),
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


def _deleted(summary: str) -> dict[str, Any]:
    """A /api/v1 DELETE: answers {"deleted": id}."""
    operation = _operation(summary, "deleted", "Template", write=True)
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    answer["properties"] = {"deleted": {"type": "integer"}}
    return operation
