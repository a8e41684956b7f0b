"""Behind Cloudflare (STATUSWEB_TRUSTED_PROXY=cloudflare, alone or with the local proxy's
address or network: `cloudflare,172.16.0.0/12`): the visitor's address is Cloudflare's
`CF-Connecting-IP`, believed only when the connection came from one of Cloudflare's
published ranges (directly, or through a trusted local proxy whose X-Forwarded-For names
a Cloudflare address as its peer). Anyone else's CF-Connecting-IP and forwarded headers
are dropped, so rate limits, login limits and logs count real visitors and nobody can
claim another's address by writing a header.

The ranges ship in data/cloudflare-ips.txt with their date; `statusweb-admin
cloudflare-ips refresh` fetches Cloudflare's lists again (checked before anything is
written).
"""

from __future__ import annotations

import ipaddress
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RANGES_FILE = Path(__file__).parent.parent / "data" / "cloudflare-ips.txt"
SOURCE = "https://www.cloudflare.com"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_DROPPED = (
    "HTTP_CF_CONNECTING_IP",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_FORWARDED",
    "HTTP_X_REAL_IP",
)


def read_ranges(path: Path = RANGES_FILE) -> list[Network]:
    """The networks of a ranges file (comments and blank lines skipped)."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [ipaddress.ip_network(line) for line in lines if line and not line.startswith("#")]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _inside(address: Any, networks: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


class CloudflareEdge:
    """WSGI: REMOTE_ADDR becomes the visitor Cloudflare names, when it is Cloudflare that
    names it; the scheme, from a trusted hop's X-Forwarded-Proto."""

    def __init__(self, app: WsgiApp, local: Sequence[Network], edge: Sequence[Network] | None = None) -> None:
        self.app = app
        self.local = list(local)
        self.edge = list(edge) if edge is not None else read_ranges()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = _address(str(environ.get("REMOTE_ADDR", "")))
        hop, trusted = peer, False
        if _inside(peer, self.local):  # a proxy of ours: its X-Forwarded-For's last entry connected to it
            trusted = True
            forwarded = [part for part in str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()]
            hop = _address(forwarded[-1]) if forwarded else peer
        if _inside(hop, self.edge):
            trusted = True
            visitor = _address(str(environ.get("HTTP_CF_CONNECTING_IP", "")))
            hop = visitor or hop
        if trusted:
            if hop is not None:
                environ["REMOTE_ADDR"] = str(hop)
            scheme = str(environ.get("HTTP_X_FORWARDED_PROTO", "")).split(",")[-1].strip().lower()
            if scheme in ("http", "https"):
                environ["wsgi.url_scheme"] = scheme
        for name in _DROPPED:  # nothing downstream reads a forwarded header again
            environ.pop(name, None)
        return self.app(environ, start_response)


def fetch_ranges(base: str = SOURCE, timeout: float = 20.0) -> list[Network]:
    """Cloudflare's lists now (ValueError when they do not look like lists of networks)."""
    networks: list[Network] = []
    for name in ("ips-v4", "ips-v6"):
        with urllib.request.urlopen(f"{base.rstrip('/')}/{name}", timeout=timeout) as answer:  # noqa: S310 - https
            body = answer.read(1024 * 1024).decode("ascii", "replace")
        found = []
        for line in body.split():
            try:
                found.append(ipaddress.ip_network(line))
            except ValueError:
                raise ValueError(
                    f"{base}/{name} answered something that is not a list of networks: {line[:60]!r}"
                ) from None
        if not found:
            raise ValueError(f"{base}/{name} answered an empty list")
        networks += found
    return networks


def write_ranges(networks: Sequence[Network], path: Path = RANGES_FILE, now: datetime | None = None) -> None:
    when = (now or datetime.now(UTC)).date().isoformat()
    header = (
        f"# Cloudflare's published IP ranges (https://www.cloudflare.com/ips-v4 and /ips-v6), as of {when}.\n"
        "# STATUSWEB_TRUSTED_PROXY=cloudflare trusts CF-Connecting-IP only from these addresses.\n"
        "# Refresh: statusweb-admin cloudflare-ips refresh\n"
    )
    partial = path.with_suffix(".partial")
    partial.write_text(header + "".join(f"{network}\n" for network in networks))
    partial.replace(path)  # whole or not at all
