"""JSON answers for the API and badge routes, errors included (never an HTML 500)."""

from __future__ import annotations

import json
from typing import Any

from pyramid.response import Response


def json_response(data: Any, status: int = 200) -> Response:
    response = Response(json.dumps(data, separators=(",", ":")), status=status,
                        content_type="application/json", charset="utf-8")
    return response


def json_error(status: int, message: str) -> Response:
    return json_response({"error": {"status": status, "message": message}}, status=status)
