"""`statuspage`: a vendor's own word on its status, read from the public Statuspage v2
`summary.json` that Cloudflare, GitHub, Stripe and thousands more publish.

A third-party component is shown, not alerted: unless a monitor sets `notify = true`
its transitions are recorded and its row sits in a "Third-party" group, but no sink is
told (a vendor's outage is not the on-call person's to fix). `component` picks one
component by name, "Group / Name" or id; without it the page's overall indicator counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from ..errors import FieldError
from ..frozen import quick_init
from ..hookspecs import hookimpl
from ..model import Attempt, new_attempt
from .base import CheckContext, CheckType
from .http_client import (
    DEFAULT_MAX_BODY_BYTES,
    check_url,
    connecting_phase,
    parse_json,
    read_capped,
    status_problem,
    tls_option,
)

# Statuspage's component statuses and page indicators, as the words a reason shows
COMPONENT_STATUSES = {
    "operational": "operational",
    "degraded_performance": "degraded performance",
    "partial_outage": "partial outage",
    "major_outage": "major outage",
    "under_maintenance": "under maintenance",
}
INDICATORS = ("none", "minor", "major", "critical", "maintenance")
SUMMARY_PATH = "/api/v2/summary.json"
ACCEPT_JSON = {"Accept": "application/json"}


@quick_init
@dataclass(frozen=True, kw_only=True)
class StatuspageConfig:
    """`url` is the vendor's page (https://www.githubstatus.com) or its summary.json.
    `down_on` lists the component statuses (or, without `component`, page indicators)
    that are DOWN; any other status but operational (indicator none) is DEGRADED."""

    url: str
    component: str = ""
    down_on: tuple[str, ...] = ("major_outage", "major", "critical")
    verify_tls: bool = True
    max_body_bytes: int = 4 * DEFAULT_MAX_BODY_BYTES  # a large vendor lists hundreds of components
    # where summary.json is, worked out from `url` when the file is read
    summary_url: URL = field(default=URL(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = check_url("url", self.url)
        if not parsed.path.endswith(".json"):
            parsed = parsed.with_path(parsed.path.rstrip("/") + SUMMARY_PATH)
        object.__setattr__(self, "summary_url", parsed)
        if len(self.component) > 200 or not self.component.isprintable():
            raise FieldError("component", "at most 200 printable characters")
        known = set(COMPONENT_STATUSES) | set(INDICATORS)
        for number, status in enumerate(self.down_on):
            if status not in known:
                raise FieldError(
                    f"down_on[{number}]", f"{status!r} is no Statuspage status (known: {', '.join(sorted(known))})"
                )
        if self.max_body_bytes <= 0:
            raise FieldError("max_body_bytes", "must be a positive number of bytes")


class StatuspageCheck(CheckType[StatuspageConfig]):
    name = "statuspage"
    Config = StatuspageConfig
    third_party = True

    def __init__(self, config: StatuspageConfig) -> None:
        super().__init__(config)
        self._connecting = connecting_phase(config.url)
        self._tls = tls_option(config.verify_tls, None)

    async def run(self, ctx: CheckContext) -> Attempt:
        config = self.config
        ctx.phase = self._connecting
        async with ctx.request("GET", config.summary_url, headers=ACCEPT_JSON, ssl=self._tls) as response:
            ctx.phase = "reading summary.json"
            body, truncated = await read_capped(response, config.max_body_bytes)
        if response.status != 200:
            return new_attempt(
                ok=False,
                status_code=response.status,
                error=status_problem(response, "200"),
                retryable=response.status >= 500 or response.status == 429,
                body=body,
            )
        summary = parse_json(body)
        if not isinstance(summary, dict):
            cut = f", cut at max_body_bytes ({config.max_body_bytes} bytes)" if truncated else ""
            return new_attempt(
                ok=False, status_code=200, body=body, error=f"not a Statuspage summary.json (no JSON object{cut})"
            )
        verdict = judge(summary, config.component, config.down_on)
        return new_attempt(
            ok=verdict.ok,
            status_code=200,
            error=verdict.error,
            warning=verdict.warning,
            body=body,
            headers=response.headers,
            values={"vendor_status": verdict.status},
        )


@dataclass(frozen=True)
class Verdict:
    """What the vendor says, as one attempt's parts."""

    ok: bool
    status: str  # the vendor's own word: a component status or a page indicator
    error: str | None = None
    warning: str | None = None


def judge(summary: dict[str, Any], component: str, down_on: tuple[str, ...]) -> Verdict:
    """The vendor's summary as UP, DEGRADED (ok with a warning) or DOWN; pure."""
    page = summary.get("page")
    vendor = _text(page.get("name") if isinstance(page, dict) else None) or "the vendor"
    listed = summary.get("components")
    components = [c for c in listed if isinstance(c, dict)] if isinstance(listed, list) else []
    if component:
        return _judge_component(summary, vendor, find_component(components, component), component, down_on)
    status = summary.get("status")
    indicator = _text(status.get("indicator")) if isinstance(status, dict) else ""
    if indicator not in INDICATORS:
        return Verdict(
            False, "unknown", error=f"not a Statuspage summary.json (no status.indicator, got {indicator!r})"
        )
    description = _text(status.get("description")) if isinstance(status, dict) else ""
    troubled = [
        f"{_text(c.get('name'))} ({COMPONENT_STATUSES.get(_text(c.get('status')), _text(c.get('status')))})"
        for c in components
        if not c.get("group") and _text(c.get("status")) not in ("operational", "")
    ]
    said = f"{vendor} reports {description or indicator}"
    if troubled:
        said += ": " + ", ".join(troubled[:5]) + (f" and {len(troubled) - 5} more" if len(troubled) > 5 else "")
    return _verdict(indicator, indicator == "none", down_on, said + _incidents(summary, None))


def _judge_component(
    summary: dict[str, Any], vendor: str, found: dict[str, Any] | str, wanted: str, down_on: tuple[str, ...]
) -> Verdict:
    if isinstance(found, str):
        return Verdict(False, "unknown", error=found)
    status = _text(found.get("status"))
    if status not in COMPONENT_STATUSES:
        return Verdict(False, "unknown", error=f"{vendor} gives {wanted!r} an unknown status {status!r}")
    said = f"{vendor} reports {_text(found.get('name'))}: {COMPONENT_STATUSES[status]}"
    return _verdict(status, status == "operational", down_on, said + _incidents(summary, found))


def _verdict(status: str, operational: bool, down_on: tuple[str, ...], said: str) -> Verdict:
    if operational:
        return Verdict(True, status)
    if status in down_on:
        return Verdict(False, status, error=said)
    return Verdict(True, status, warning=said)


def find_component(components: list[dict[str, Any]], wanted: str) -> dict[str, Any] | str:
    """The component `wanted` names (its id, its name, or "Group / Name" when a name is
    in several groups), or what to write instead."""
    by_id = [c for c in components if c.get("id") == wanted]
    if by_id:
        return by_id[0]
    groups = {c.get("id"): _text(c.get("name")) for c in components if c.get("group")}
    named = _named(components, groups, wanted)
    if len(named) == 1:
        return named[0]
    if named:
        where = ", ".join(f"{groups.get(c.get('group_id'), '(no group)')} / {_text(c.get('name'))}" for c in named)
        return f"{len(named)} components are named {wanted!r}: write one of {where}, or its id"
    names = sorted({_text(c.get("name")) for c in components if not c.get("group")})
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"no component named {wanted!r} on this page (it has: {shown or 'none'})"


def _named(components: list[dict[str, Any]], groups: dict[Any, str], wanted: str) -> list[dict[str, Any]]:
    """The components `wanted` names: a component by its name, else by "Group / Name",
    else a group (a group is a component too) by its name."""

    def name(c: dict[str, Any]) -> str:
        return _text(c.get("name")).casefold()

    def in_group(c: dict[str, Any]) -> str:
        return f"{groups.get(c.get('group_id'), '').casefold()} / {name(c)}"

    group, _, member = wanted.partition(" / ")
    folded, qualified = wanted.casefold(), f"{group.strip()} / {member.strip()}".casefold()
    for found in (
        [c for c in components if not c.get("group") and name(c) == folded],
        [c for c in components if member and in_group(c) == qualified],
        [c for c in components if c.get("group") and name(c) == folded],
    ):
        if found:
            return found
    return []


def _incidents(summary: dict[str, Any], component: dict[str, Any] | None) -> str:
    """ "; incident: 'Delays in Actions' (investigating)" for the unresolved incidents
    (those naming the component, when there is one)."""
    found = []
    incidents = summary.get("incidents")
    for incident in incidents if isinstance(incidents, list) else []:
        if not isinstance(incident, dict):
            continue
        named = incident.get("components")
        if component is not None and isinstance(named, list):
            if not any(isinstance(c, dict) and c.get("id") == component.get("id") for c in named):
                continue
        found.append(f"'{_text(incident.get('name'))[:200]}' ({_text(incident.get('status'))})")
    return "; incident: " + ", ".join(found[:3]) if found else ""


def _text(value: object) -> str:
    """A vendor's string as one printable line (anything else as empty)."""
    if not isinstance(value, str):
        return ""
    return "".join(ch if ch.isprintable() else " " for ch in value).strip()


@hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [StatuspageCheck]
