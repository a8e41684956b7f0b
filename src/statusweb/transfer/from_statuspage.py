"""A Statuspage page, from its public v2 API (`https://status.example.com`: summary.json,
incidents.json and scheduled-maintenances.json) or from those documents saved to a file:
components become services (and disabled [[monitor]] entries to give a check), component
groups [[group]]s, incidents ours with every update and the postmortem, scheduled
maintenance our windows."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests

from statusweb.models import COMPONENT_STATUSES, IMPACTS, INCIDENT_STATUSES, MAINTENANCE_STATUSES
from statusweb.transfer.foreign import Conversion, clean_name, utc_text
from statusweb.transfer.shape import RecordError, parse_time

DOCUMENTS = ("summary.json", "incidents.json", "scheduled-maintenances.json")
MAX_BYTES = 16 * 1024 * 1024  # one document of a page's public API, at most
TIMEOUT = 20.0
SEVERITY = {status: rank for rank, status in enumerate(COMPONENT_STATUSES)}  # operational first


def fetch(base: str, say: Callable[[str], None]) -> dict[str, Any]:
    """The page's three public documents merged (a missing one is said, not fatal)."""
    root = base.rstrip("/").removesuffix("/api/v2/summary.json").removesuffix("/api/v2")
    merged: dict[str, Any] = {}
    for name in DOCUMENTS:
        url = f"{root}/api/v2/{name}"
        try:
            with requests.get(url, timeout=TIMEOUT, stream=True, headers={"Accept": "application/json"}) as answer:
                if answer.status_code != 200:
                    say(f"{url}: HTTP {answer.status_code}; going on without it")
                    continue
                body = bytearray()
                for chunk in answer.iter_content(65536):
                    body.extend(chunk)
                    if len(body) > MAX_BYTES:
                        raise ValueError(
                            f"{url} is over {MAX_BYTES // 2**20} MiB; save the documents and import the file"
                        )
        except requests.RequestException as exc:
            raise ValueError(
                f"cannot read {url}: {type(exc).__name__}; check the address, or import a saved file"
            ) from None
        try:
            document = json.loads(body)
        except ValueError:
            raise ValueError(f"{url} is not JSON: is {root} a Statuspage page?") from None
        if isinstance(document, dict):
            merged.update({k: v for k, v in document.items() if k != "page" or "page" not in merged})
        say(f"read {url}")
    return merged


def convert(document: Any, file: str) -> Conversion:
    keys = ("components", "incidents", "scheduled_maintenances")
    if not isinstance(document, dict) or not any(isinstance(document.get(k), list) for k in keys):
        raise ValueError(
            f"{file} is not a Statuspage document (it has no components, incidents or scheduled_maintenances)"
        )
    page = document.get("page")
    name = page.get("name") if isinstance(page, dict) else None
    conversion = Conversion(prefix="STATUSPAGE", source=f"Statuspage page {name or file}")
    slugs = _components(conversion, [c for c in document.get("components") or [] if isinstance(c, dict)])
    for incident in document.get("incidents") or []:
        if isinstance(incident, dict):
            _incident(conversion, incident, slugs)
    for window in document.get("scheduled_maintenances") or []:
        if isinstance(window, dict):
            _maintenance(conversion, window, slugs)
    if conversion.monitors:
        conversion.note(
            f"{len(conversion.monitors)} components",
            "Statuspage knew only what you told it: each is a disabled [[monitor]]; give it a url (or a type) "
            "and remove enabled = false, and the runner shows it",
        )
    return conversion


def _components(conversion: Conversion, components: list[dict[str, Any]]) -> dict[str, str]:
    """Groups as [[group]]s, the rest as services; component id -> slug."""
    groups = {c.get("id"): str(c.get("name", ""))[:100] for c in components if c.get("group")}
    for component in components:
        if component.get("group"):
            conversion.groups.append(
                {"name": groups[component.get("id")], "description": str(component.get("description") or "")}
            )
    slugs: dict[str, str] = {}
    ordered = sorted((c for c in components if not c.get("group")), key=lambda c: c.get("position") or 0)
    names = Counter(clean_name(c.get("name"), "component") for c in ordered)
    for component in ordered:
        name = clean_name(component.get("name"), "component")
        if names[name] > 1 and component.get("group_id") in groups:  # Cloudflare has an "API" in two groups
            name = f"{name} ({groups[component['group_id']]})"
        name = name[:200]
        table: dict[str, Any] = {"name": name, "slug": conversion.slug(name), "enabled": False}
        if component.get("group_id") in groups:
            table["group"] = groups[component["group_id"]]
        if component.get("description"):
            table["description"] = str(component["description"])
        conversion.monitors.append(table)
        slugs[str(component.get("id"))] = table["slug"]
    return slugs


def _time(value: Any, what: str, key: str) -> str:
    try:
        return utc_text(parse_time(value, key))
    except RecordError as exc:
        raise ValueError(str(exc)) from None


def _updates(item: dict[str, Any], what: str, allowed: tuple[str, ...], fallback: str) -> list[dict[str, Any]]:
    updates = [u for u in item.get("incident_updates") or [] if isinstance(u, dict)]
    return [
        {
            "status": u.get("status") if u.get("status") in allowed else fallback,
            "body": str(u.get("body") or ""),
            "created_at": _time(u.get("display_at") or u.get("created_at"), what, "incident_updates.created_at"),
        }
        for u in sorted(updates, key=lambda u: str(u.get("display_at") or u.get("created_at")))
    ]


def _affected(item: dict[str, Any], slugs: dict[str, str]) -> dict[str, str]:
    """Each component the item touched, at the worst status its updates gave it (a
    partial outage when no update says)."""
    worst: dict[str, str] = {}
    for update in item.get("incident_updates") or []:
        for touched in (update or {}).get("affected_components") or []:
            slug = slugs.get(str((touched or {}).get("code")))
            status = (touched or {}).get("new_status")
            if slug and status in SEVERITY and status != "operational":
                if SEVERITY[status] > SEVERITY.get(worst.get(slug, "operational"), 0):
                    worst[slug] = status
    for component in item.get("components") or []:
        slug = slugs.get(str((component or {}).get("id")))
        if slug:
            worst.setdefault(slug, "partial_outage")
    return dict(sorted(worst.items()))


def _incident(conversion: Conversion, incident: dict[str, Any], slugs: dict[str, str]) -> None:
    what = f"incident {str(incident.get('name'))[:80]!r}"
    try:
        created = _time(incident.get("created_at"), what, "created_at")
        record = {
            "page": None,
            "title": str(incident.get("name") or "Incident")[:200],
            "impact": incident.get("impact") if incident.get("impact") in IMPACTS else "minor",
            "status": incident.get("status") if incident.get("status") in INCIDENT_STATUSES else "resolved",
            "created_at": created,
            "updated_at": _time(incident.get("updated_at") or created, what, "updated_at"),
            "resolved_at": _time(incident["resolved_at"], what, "resolved_at") if incident.get("resolved_at") else None,
            "affected": _affected(incident, slugs),
            "updates": _updates(incident, what, (*INCIDENT_STATUSES, "postmortem"), "investigating"),
        }
        if incident.get("postmortem_body"):
            record["postmortem"] = str(incident["postmortem_body"])
            published = incident.get("postmortem_published_at") or incident.get("postmortem_body_last_updated_at")
            record["postmortem_published_at"] = _time(
                published or record["updated_at"], what, "postmortem_published_at"
            )
    except ValueError as exc:
        conversion.skip(what, str(exc))
        return
    if record["status"] == "resolved" and record["resolved_at"] is None:
        record["resolved_at"] = record["updated_at"]
    conversion.record("incidents", record)


def _maintenance(conversion: Conversion, window: dict[str, Any], slugs: dict[str, str]) -> None:
    what = f"maintenance {str(window.get('name'))[:80]!r}"
    try:
        created = _time(window.get("created_at"), what, "created_at")
        starts = _time(window.get("scheduled_for"), what, "scheduled_for")
        ends = _time(window.get("scheduled_until"), what, "scheduled_until")
        updates = _updates(window, what, MAINTENANCE_STATUSES, "scheduled")
    except ValueError as exc:
        conversion.skip(what, str(exc))
        return
    if ends <= starts:
        conversion.skip(what, "it ends before it starts")
        return
    affected = sorted(_affected(window, slugs))
    conversion.record(
        "maintenance",
        {
            "page": None,
            "title": str(window.get("name") or "Maintenance")[:200],
            "description": updates[0]["body"] if updates else "",
            "starts_at": starts,
            "ends_at": ends,
            "status": window.get("status") if window.get("status") in MAINTENANCE_STATUSES else "completed",
            "all_services": not affected,
            "created_at": created,
            "updated_at": _time(window.get("updated_at") or created, what, "updated_at"),
            "affected": affected,
            "updates": updates,
        },
    )
