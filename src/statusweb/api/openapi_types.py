"""What the two halves of the OpenAPI document (api/openapi.py, api/openapi_manage.py) share."""

from __future__ import annotations

TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
COMPONENT_STATUS = {
    "type": "string",
    "enum": ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"],
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
