"""Proving a page's custom domain before it serves (issue 29): the owner publishes a
token in a TXT record at `_statusweb.<domain>` and presses "check"; or an install-wide
admin approves it (installs without DNS access). Until then the domain selects nothing:
page_mount only serves verified domains (PageDirectory reads `Page.serving_domain`).

The DNS lookup uses dnspython, with the resolver STATUSWEB_DNS_RESOLVER names
(host or host:port) or the system's, and answers within `TIMEOUT` seconds whatever DNS
does; every outcome is a sentence that says what to do next.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime

import dns.exception
import dns.resolver

from statusweb.models import Page

TXT_PREFIX = "_statusweb."
VALUE_PREFIX = "statusweb-verification="
TIMEOUT = 5.0
MAX_TXT_VALUES = 50  # enough for any real record set; a huge one is read no further


@dataclass(frozen=True)
class DomainCheck:
    verified: bool
    message: str


def record_name(domain: str) -> str:
    return TXT_PREFIX + domain


def record_value(token: str) -> str:
    return VALUE_PREFIX + token


def set_domain(page: Page, domain: str | None, *, approved_by: str = "", now: datetime) -> None:
    """Give `page` this domain. A new domain waits for its proof (a fresh token) unless
    `approved_by` names who may approve it outright (an install-wide admin, the config)."""
    domain = domain or None
    if domain == page.domain and (page.domain_verified_at is not None or not approved_by):
        return
    page.domain = domain
    page.domain_token = secrets.token_urlsafe(24) if domain else None
    page.domain_verified_at = None
    page.domain_verified_by = ""
    if domain and approved_by:
        approve(page, approved_by, now)


def approve(page: Page, by: str, now: datetime) -> None:
    page.domain_verified_at, page.domain_verified_by = now, by[:120]


def parse_resolver(value: str) -> tuple[str, int] | None:
    """STATUSWEB_DNS_RESOLVER: "" (the system's), "192.0.2.53", "127.0.0.1:5353",
    "[::1]:53"; ValueError naming what is wrong otherwise."""
    value = value.strip()
    if not value:
        return None
    host, port = value, "53"
    if value.startswith("["):
        host, closed, rest = value[1:].partition("]")
        if not closed:
            raise ValueError(f"STATUSWEB_DNS_RESOLVER {value!r}: an IPv6 address in brackets needs its ']'")
        port = rest.removeprefix(":") or "53"
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"STATUSWEB_DNS_RESOLVER {value!r}: give an IP address, optionally with :port") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"STATUSWEB_DNS_RESOLVER {value!r}: the port must be 1 to 65535")
    return host, int(port)


def check_txt(page: Page, resolver_address: tuple[str, int] | None, now: datetime) -> DomainCheck:
    """Look for the page's token at `_statusweb.<domain>`; mark the page verified when found."""
    if not page.domain or not page.domain_token:
        return DomainCheck(False, "This page has no domain to check.")
    if page.domain_verified_at is not None:
        return DomainCheck(True, f"{page.domain} is verified.")
    name, wanted = record_name(page.domain), record_value(page.domain_token)
    try:
        values = _txt_values(name, resolver_address)
    except dns.resolver.NXDOMAIN:
        return DomainCheck(
            False,
            f"{name} does not exist (yet). Add the TXT record below; DNS changes can take "
            "a few minutes to be seen, so check again then.",
        )
    except dns.resolver.NoAnswer:
        return DomainCheck(False, f"{name} exists but holds no TXT record. Add the TXT record below, then check again.")
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout):
        return DomainCheck(
            False,
            f"DNS did not answer for {name} within {TIMEOUT:.0f} s (or refused to). Try "
            "again later; if it keeps failing, ask an install-wide admin to approve it.",
        )
    except dns.exception.DNSException as exc:
        return DomainCheck(False, f"DNS could not be asked about {name} ({type(exc).__name__}). Try again later.")
    if wanted not in values:
        found = "no value" if not values else f"{len(values)} other value{'s' if len(values) != 1 else ''}"
        return DomainCheck(
            False,
            f"{name} holds {found}, not this page's token. Set its TXT value to exactly "
            "the one shown below, then check again.",
        )
    approve(page, "DNS TXT record", now)
    return DomainCheck(True, f"{page.domain} is verified: it serves this page from now on.")


def _txt_values(name: str, resolver_address: tuple[str, int] | None) -> list[str]:
    resolver = dns.resolver.Resolver(configure=resolver_address is None)
    if resolver_address is not None:
        resolver.nameservers, resolver.port = [resolver_address[0]], resolver_address[1]
    resolver.timeout = resolver.lifetime = TIMEOUT
    answer = resolver.resolve(name, "TXT", search=False, raise_on_no_answer=True)
    values = []
    for record in list(answer)[:MAX_TXT_VALUES]:
        values.append(b"".join(record.strings).decode("utf-8", "replace"))
    return values
