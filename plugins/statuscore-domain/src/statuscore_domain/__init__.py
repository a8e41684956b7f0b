"""`domain_expiry`: days until a domain's registration expires, from its registry's RDAP
server (RFC 9083), found through IANA's bootstrap file (RFC 9224).

[[monitor]]
name = "sefaria.org registration"
type = "domain_expiry"
domain = "sefaria.org"
interval = "12h"                  # registries limit RDAP lookups: a few a day is plenty
warn_within = "30d"               # DEGRADED from here (the default)
down_within = "7d"                # DOWN from here (default: once it has expired)

Like `tls_cert`, a registration expiring soon is the operator's business: DEGRADED in the
admin and alerts, operational on status pages unless `public_degraded = true`. Conditions
see `days_left` and `expires_at`. The bootstrap file is read once a day per process;
`rdap_url` names a server directly instead. A registry that publishes no expiration date
leaves the monitor UNKNOWN, saying so; a domain the registry does not know is DOWN; a 429
or 5xx from the registry is retried.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import statuscore
from statuscore import Attempt, CheckContext, CheckType, Duration, FieldError, checked_url, read_capped

IANA_BOOTSTRAP = "https://data.iana.org/rdap/dns.json"
BOOTSTRAP_SECONDS = 86400.0
MAX_BYTES = 1024 * 1024
_bootstraps: dict[str, tuple[float, dict[str, str]]] = {}  # url -> (read at, tld -> RDAP base)


@dataclass(frozen=True, kw_only=True)
class DomainConfig:
    domain: str
    warn_within: Duration = 30 * 86400.0
    down_within: Duration = 0.0
    rdap_url: str = ""
    bootstrap_url: str = IANA_BOOTSTRAP

    def __post_init__(self) -> None:
        try:
            ascii_name = self.domain.strip().rstrip(".").encode("idna").decode().lower()
        except UnicodeError:
            raise FieldError("domain", f"not a domain name: {self.domain!r}") from None
        if "." not in ascii_name or any(not label or len(label) > 63 for label in ascii_name.split(".")):
            raise FieldError("domain", f"a registered domain such as sefaria.org, got {self.domain!r}")
        object.__setattr__(self, "domain", ascii_name)
        if self.down_within > self.warn_within:
            raise FieldError("down_within", "must not be longer than warn_within")
        for key in ("rdap_url", "bootstrap_url"):
            if getattr(self, key):
                try:
                    checked_url(getattr(self, key))
                except ValueError as exc:
                    raise FieldError(key, str(exc)) from None


class DomainExpiryCheck(CheckType[DomainConfig]):
    name = "domain_expiry"
    Config = DomainConfig
    condition_subjects = frozenset({"days_left", "expires_at"})
    public_degraded = False  # expiring soon is the operator's business, not a degraded service

    async def run(self, ctx: CheckContext) -> Attempt:
        config = self.config
        base = config.rdap_url
        if not base:
            ctx.phase = "reading the RDAP bootstrap file"
            servers, failure = await _bootstrap(ctx, config.bootstrap_url)
            if failure:
                return failure
            base = _server_for(config.domain, servers)
            if not base:
                tld = config.domain.rsplit(".", 1)[-1]
                return Attempt(ok=False, error=f"no RDAP server for .{tld} in the bootstrap file (set rdap_url)")
        ctx.phase = f"asking {base} about {config.domain}"
        document, failure = await _get_json(ctx, f"{base.rstrip('/')}/domain/{config.domain}", what="the registry")
        if failure:
            return failure
        expires = _expiration(document)
        if expires is None:
            return Attempt(ok=False, pending=f"the registry publishes no expiration date for {config.domain}")
        days_left = int((expires - ctx.now).total_seconds() // 86400)
        values = {"days_left": days_left, "expires_at": expires.isoformat()}
        when = f"{config.domain} expires on {expires:%Y-%m-%d}"
        seconds_left = (expires - ctx.now).total_seconds()
        if seconds_left <= 0:
            return Attempt(
                ok=False, values=values, error=f"the registration of {config.domain} expired on {expires:%Y-%m-%d}"
            )
        if seconds_left < config.down_within:
            return Attempt(ok=False, values=values, error=f"{when}, in {days_left} days")
        if seconds_left < config.warn_within:
            return Attempt(ok=True, values=values, warning=f"{when}, in {days_left} days")
        return Attempt(ok=True, values=values)


async def _bootstrap(ctx: CheckContext, url: str) -> tuple[dict[str, str], Attempt | None]:
    """TLD -> RDAP base URL from the bootstrap file at `url` (kept a day)."""
    kept = _bootstraps.get(url)
    if kept and time.monotonic() - kept[0] < BOOTSTRAP_SECONDS:
        return kept[1], None
    document, failure = await _get_json(ctx, url, what="the RDAP bootstrap file")
    if failure:
        return {}, failure
    servers: dict[str, str] = {}
    for entry in document.get("services", []) if isinstance(document, dict) else []:
        if isinstance(entry, list) and len(entry) == 2 and entry[1]:
            https = [u for u in entry[1] if isinstance(u, str) and u.startswith("https://")]
            for tld in entry[0]:
                servers[str(tld).lower()] = (https or entry[1])[0]
    _bootstraps[url] = (time.monotonic(), servers)
    return servers, None


def _server_for(domain: str, servers: dict[str, str]) -> str:
    """The server of the longest entry the domain ends with ("co.uk" before "uk")."""
    labels = domain.split(".")
    for start in range(1, len(labels)):
        found = servers.get(".".join(labels[start:]))
        if found:
            return found
    return ""


async def _get_json(ctx: CheckContext, url: str, *, what: str) -> tuple[Any, Attempt | None]:
    async with ctx.request("GET", url, headers={"Accept": "application/rdap+json, application/json"}) as response:
        body, _ = await read_capped(response, MAX_BYTES)
        if response.status == 404:
            return None, Attempt(
                ok=False, status_code=404, error=f"{what} does not know it (HTTP 404): not registered?"
            )
        if response.status != 200:
            retry = response.status == 429 or response.status >= 500
            return None, Attempt(
                ok=False, status_code=response.status, retryable=retry, error=f"{what} answered HTTP {response.status}"
            )
    try:
        return json.loads(body), None
    except ValueError:
        return None, Attempt(ok=False, retryable=True, error=f"{what} did not answer JSON")


def _expiration(document: Any) -> datetime | None:
    events = document.get("events", []) if isinstance(document, dict) else []
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("eventAction") == "expiration":
            try:
                moment = datetime.fromisoformat(str(event.get("eventDate", "")).replace("Z", "+00:00"))
            except ValueError:
                return None
            return moment if moment.tzinfo else None
    return None


@statuscore.hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [DomainExpiryCheck]
