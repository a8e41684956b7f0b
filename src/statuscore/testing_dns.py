"""A small authoritative DNS server on 127.0.0.1 for tests (dnspython, UDP, a thread):
answers from a table the test fills, and can refuse (SERVFAIL) or stay silent (a
timeout) for a name, or mark its answer DNSSEC-validated (the AD flag a validating
resolver sets). Nothing leaves the machine.

    from statuscore.testing_dns import Zone, dns_server

    zone = Zone()
    zone.add("www.example.org", "A", "192.0.2.10")
    with dns_server(zone) as address:        # "127.0.0.1:<port>"
        ...
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

SERVFAIL = "servfail"
SILENT = "silent"


@dataclass
class Zone:
    """name -> {record type -> [values]}; a name in `failing` answers SERVFAIL or nothing."""

    records: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)
    queries: list[tuple[str, str]] = field(default_factory=list)
    validated: set[str] = field(default_factory=set)  # names answered with the AD flag

    def add(self, name: str, rdtype: str, *values: str) -> None:
        self.records.setdefault(_key(name), {}).setdefault(rdtype.upper(), []).extend(values)

    def clear(self, name: str) -> None:
        self.records.pop(_key(name), None)

    def answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, rdtype = _key(question.name.to_text()), dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        failing = self.failing.get(name)
        if failing == SILENT:
            return None
        if failing == SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif self.records[name].get(rdtype):
            response.answer.append(
                dns.rrset.from_text_list(question.name, 60, "IN", rdtype, self.records[name][rdtype])
            )
        if name in self.validated:
            response.flags |= dns.flags.AD
        wire_reply: bytes = response.to_wire()
        return wire_reply


def _key(name: str) -> str:
    return name.lower().rstrip(".")


@contextmanager
def dns_server(zone: Zone) -> Iterator[str]:
    """Serve `zone` on 127.0.0.1; yields "127.0.0.1:port"."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except OSError:
                continue
            try:
                reply = zone.answer(wire)
            except Exception:  # noqa: BLE001 - a malformed query gets no answer, the server goes on
                reply = None
            if reply is not None:
                sock.sendto(reply, peer)

    thread = threading.Thread(target=serve, name="test-dns", daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        sock.close()
