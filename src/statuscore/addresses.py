"""Where a message goes and what its headers say, checked where they enter (a form, the
API, the CLI, monitors.toml) so that one that could never be sent never reaches the
sending: email addresses by `email-validator`, URLs parsed and re-serialised by `yarl`
(a space becomes %20, a Unicode host its ASCII form), and one-line text (a subject, a
title) refused when it holds a control character such as CR or LF."""

from __future__ import annotations

import ipaddress
import re
import socket

from yarl import URL

_HOST_LABELS = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
_LINE_BREAKS = {"\u2028", "\u2029", "\u0085"}


def has_control_characters(text: str) -> bool:
    """CR, LF, NUL and the other C0/C1 controls, or a Unicode line break: what must
    never reach a mail header or a one-line field (RTL marks and the like are fine)."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in _LINE_BREAKS for c in text)


def checked_email(address: str) -> str:
    """The address as it will be sent (its domain in ASCII), or ValueError saying why."""
    # Imported here: with dnspython it is a tenth of `statuscore check`'s start-up, and
    # only a process that reads an address needs it.
    from email_validator import EmailNotValidError, validate_email

    try:
        valid = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return valid.ascii_email or valid.normalized


def checked_url(url: str, *, schemes: tuple[str, ...] = ("https", "http")) -> URL:
    """`url` parsed and re-serialised (`str()` of the answer is what to store and call),
    or ValueError saying why it can never be called."""
    text = url.strip()
    if has_control_characters(text):
        raise ValueError("it holds a control character (a line break, a tab)")
    try:
        parsed = URL(text)
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if parsed.scheme not in schemes:
        raise ValueError(f"expected a {' or '.join(f'{s}://' for s in schemes)} URL")
    host = parsed.raw_host or ""
    if not (_is_ip(host) or _HOST_LABELS.fullmatch(host)):
        raise ValueError(f"{host!r} is not a host name" if host else "it names no host")
    return parsed


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: str) -> bool:
    """A global address, and so is any IPv4 address it carries (NAT64 64:ff9b::/96, 6to4
    2002::/16, Teredo, IPv4-mapped): a webhook must not reach this server's own network
    through an IPv6 spelling of 127.0.0.1 or 10.0.0.7."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        carried = [
            ip.ipv4_mapped,
            ip.sixtofour,
            ip.teredo[1] if ip.teredo else None,
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None,
        ]
        return all(inner is None or inner.is_global for inner in carried)
    return True


def host_addresses(host: str, port: int) -> set[str]:
    """Every address `host` resolves to (OSError or UnicodeError when it does not). It
    blocks on DNS: call it off the event loop."""
    return {str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}


def private_host_reason(host: str, port: int) -> str | None:
    """Why a message must not go to `host` (it does not resolve, or one of its addresses
    is not public: this server's own network), or None. The rule subscribers' webhooks
    and Apprise's URLs share; it blocks on DNS."""
    try:
        addresses = host_addresses(host, port)
    except (OSError, UnicodeError):
        return f"the host {host!r} does not resolve"
    if not all(is_public_address(address) for address in addresses):
        return f"the host {host!r} is in a private network"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
