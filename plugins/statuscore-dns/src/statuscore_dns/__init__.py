"""`dns`: a name resolves as it should, asked of a resolver you name (or the system's).

[[monitor]]
name = "sefaria.org resolves"
type = "dns"
query = "sefaria.org"
record = "A"                      # A, AAAA, CNAME, MX, TXT, NS, SOA
resolver = "1.1.1.1"              # host[:port]; default: the system's first nameserver
conditions = ['dns.answer contains "104.18.0.1"']

UP when the resolver answers `expect_rcode` (default NOERROR) with at least one record of
the type asked (`allow_empty = true` accepts none), and, with `dnssec = true`, marks the
answer validated (the AD flag). Conditions see `dns.rcode` ("NOERROR", "NXDOMAIN", ...),
`dns.answer` (the records as text, names without their final dot: `"10 mail.example.org"`
for MX, the joined strings for TXT), `dns.authenticated` and `dns.ttl`. SERVFAIL and no
answer are retried; a wrong rcode or record is not.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

import statuscore
from statuscore import Attempt, CheckContext, CheckType, FieldError

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA")
RCODES = ("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED")


@dataclass(frozen=True, kw_only=True)
class DnsConfig:
    query: str
    record: str = "A"
    resolver: str = ""
    expect_rcode: str = "NOERROR"
    dnssec: bool = False
    allow_empty: bool = False
    tcp: bool = False

    def __post_init__(self) -> None:
        try:
            dns.name.from_text(self.query)
        except (dns.exception.DNSException, ValueError) as exc:
            raise FieldError("query", f"not a DNS name: {exc}") from None
        if not self.query.strip(". ") or any(c.isspace() for c in self.query):
            raise FieldError("query", "not a DNS name")
        object.__setattr__(self, "record", self.record.upper())
        if self.record not in RECORD_TYPES:
            raise FieldError("record", f"one of {', '.join(RECORD_TYPES)}")
        object.__setattr__(self, "expect_rcode", self.expect_rcode.upper())
        if self.expect_rcode not in RCODES:
            raise FieldError("expect_rcode", f"one of {', '.join(RCODES)}")
        if self.resolver:
            resolver_address(self.resolver)


def resolver_address(text: str) -> tuple[str, int]:
    """(address, port) from "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53" or "::1";
    FieldError for anything else (a resolver is named by its address, never a name)."""
    host, port = text.strip(), 53
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"))
    elif host.count(":") == 1:
        host, _, rest = host.partition(":")
        port = _port(rest)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise FieldError("resolver", f"an IP address, optionally with :port (got {text!r})") from None
    return host, port


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise FieldError("resolver", f"{text!r} is not a port")
    return int(text)


class DnsCheck(CheckType[DnsConfig]):
    name = "dns"
    Config = DnsConfig
    condition_subjects = frozenset({"dns"})

    async def run(self, ctx: CheckContext) -> Attempt:
        config = self.config
        try:
            where, port = resolver_address(config.resolver) if config.resolver else (_system_resolver(), 53)
        except OSError as exc:
            return Attempt(ok=False, error=str(exc))
        query = dns.message.make_query(config.query, config.record, want_dnssec=config.dnssec)
        if config.dnssec:
            query.flags |= dns.flags.AD  # ask the resolver to say whether it validated
        ctx.phase = f"asking {where}:{port} for {config.query} {config.record}"
        timeout = max(0.1, ctx.remaining())
        try:
            if config.tcp:
                answer = await dns.asyncquery.tcp(query, where, timeout=timeout, port=port)
            else:
                answer, _ = await dns.asyncquery.udp_with_fallback(query, where, timeout=timeout, port=port)
        except dns.exception.Timeout:
            return Attempt(ok=False, retryable=True, error=f"no answer from {where}:{port} within {timeout:.0f} s")
        except dns.exception.DNSException as exc:
            return Attempt(ok=False, retryable=True, error=f"the resolver's answer was not DNS: {type(exc).__name__}")
        return self._judge(answer)

    def _judge(self, answer: dns.message.Message) -> Attempt:
        config = self.config
        rdtype = dns.rdatatype.from_text(config.record)
        records = [_text(rdata) for rrset in answer.answer if rrset.rdtype == rdtype for rdata in rrset]
        ttls = [rrset.ttl for rrset in answer.answer if rrset.rdtype == rdtype]
        rcode = dns.rcode.to_text(answer.rcode())
        authenticated = bool(answer.flags & dns.flags.AD)
        values: dict[str, Any] = {
            "dns": {"rcode": rcode, "answer": records, "authenticated": authenticated, "ttl": min(ttls, default=None)}
        }
        asked = f"{config.query} {config.record}"
        if rcode != config.expect_rcode:
            return Attempt(
                ok=False,
                retryable=rcode == "SERVFAIL",
                values=values,
                error=f"{rcode} for {asked} (expected {config.expect_rcode})",
            )
        if rcode == "NOERROR" and not records and not config.allow_empty:
            return Attempt(ok=False, values=values, error=f"no {config.record} record for {config.query}")
        if config.dnssec and not authenticated:
            return Attempt(
                ok=False, values=values, error=f"the answer for {asked} is not DNSSEC-validated (no AD flag)"
            )
        return Attempt(ok=True, values=values)


def _text(rdata: Any) -> str:
    """A record as people write it: TXT's strings joined, names without the root's dot."""
    if rdata.rdtype == dns.rdatatype.TXT:
        return "".join(part.decode("utf-8", "replace") for part in rdata.strings)
    return " ".join(word.rstrip(".") if word.endswith(".") else word for word in rdata.to_text().split())


def _system_resolver() -> str:
    nameservers = dns.resolver.get_default_resolver().nameservers
    if not nameservers:
        raise OSError("no nameserver in /etc/resolv.conf: set `resolver`")
    return str(nameservers[0])


@statuscore.hookimpl
def statuscore_check_types() -> list[type[CheckType[Any]]]:
    return [DnsCheck]
