"""JSON errors for the API and badge routes (never an HTML page, never a 500): views
that succeed return dicts to the json renderer instead."""

from __future__ import annotations

import json

from pyramid.response import Response


def json_error(status: int, message: str) -> Response:
    return Response(
        json.dumps({"error": {"status": status, "message": message}}, separators=(",", ":")),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )
